"""What members and the admin do to projects, drafts and signatures: checked, stored, published.

Each act checks :mod:`node.projects.rules` first and refuses with an
:class:`node.core.errors.ApiError` (4xx) carrying the rule's message, which the pages show on the
form. What is published goes out as the node's Group actor (``config.node.name``) through
:func:`outbox.service.compose` and :func:`outbox.service.apply`, with the room's own row appended
to ``composed.changes``: the row and the activity commit in one transaction, or neither does.

- :func:`start`: the project's row, and its ``Article`` (:mod:`node.projects.documents`) unless
  ``[projects] approval_required`` keeps it ``awaiting``; then :func:`approve` publishes it (the
  id chosen at the start stays the Article's id), or :func:`refuse` closes it unpublished.
- :func:`join` / :func:`leave`: the project's members (not federated from the pages).
- :func:`add_draft` (a member of the project): the draft's row with revision 1, and its Article;
  :func:`revise`: a new revision and an ``Update`` of the Article.
- :func:`sign` / :func:`withdraw` (``via="page"``): signatures are the node's own record. ``sign``
  returns True when this signature made the draft reach the quorum for the first time
  (:func:`node.projects.store.mark_qualified`): the voting room reads ``qualified_at`` and may put
  it to the vote; the page's caller may hand that on.
"""

from __future__ import annotations

from aiohttp import web

from node.core.appkeys import CLOCK, CONFIG, DATABASE, LANGUAGES, URLS
from node.core.clock import to_epoch
from node.core.db import Connection
from node.core.errors import ApiError
from node.core.i18n import N_, Message
from node.projects import documents, rules, store
from outbox import service


def _refused(message: Message | None, status: int = 409) -> None:
    if message is not None:
        missing = message.startswith("there is no such")
        raise ApiError(404 if missing else status, message, hint=N_("see the project's page for what it takes now"))


def _now(app: web.Application) -> float:
    return to_epoch(app[CLOCK].now())


def check_project_text(*, title: str, aim: str, default: str) -> None:
    _refused(rules.text_refusal(title=title, text=aim, limit=rules.MAX_AIM), 400)
    if not default.strip():
        _refused(N_("say what the drafts are voted against (the default)"), 400)
    if len(default) > rules.MAX_AIM:
        _refused(N_("the default has at most {n} characters", n=rules.MAX_AIM), 400)


async def _publish_project(app: web.Application, project_id: str, *, title: str, aim: str, default: str, change):
    config = app[CONFIG]
    language = app[LANGUAGES].get(config.node.language) or app[LANGUAGES].default
    body = documents.project_body(title=title, aim=aim, default=default, language=language)
    composed, now = await service.compose(app, config.node.name, body)
    documents.finish(composed, project_id, app[URLS].base, documents.project_page(project_id))
    composed.changes.append(change)
    await service.apply(app, config.node.name, composed, now=now)


async def start(app: web.Application, actor: str, *, title: str, aim: str, default: str) -> str:
    """A new project started by ``actor``; its id (open and published, or awaiting the admin)."""
    title, aim, default = title.strip(), aim.strip(), default.strip()
    check_project_text(title=title, aim=aim, default=default)
    project_id, now = app[URLS].new_object_id(), _now(app)
    opened = not app[CONFIG].projects.approval_required

    async def insert(conn: Connection) -> None:
        await store.insert_project(
            conn, project_id=project_id, title=title, aim=aim, default_option=default, started_by=actor,
            opened=opened, now=now,
        )  # fmt: skip

    if opened:
        await _publish_project(app, project_id, title=title, aim=aim, default=default, change=insert)
    else:
        async with app[DATABASE].transaction() as conn:
            await insert(conn)
    return project_id


async def approve(app: web.Application, project: store.Project) -> None:
    if project.state != "awaiting":
        _refused(N_("this project is not awaiting approval"))

    async def open_it(conn: Connection) -> None:
        if not await store.open_project(conn, project.id, _now(app)):
            _refused(N_("this project is not awaiting approval"))

    await _publish_project(
        app, project.id, title=project.title, aim=project.aim, default=project.default_option, change=open_it
    )


async def refuse(app: web.Application, project: store.Project, reason: str) -> None:
    async with app[DATABASE].transaction() as conn:
        if not await store.refuse_project(conn, project.id, reason.strip()):
            _refused(N_("this project is not awaiting approval"))


async def join(app: web.Application, project: store.Project | None, actor: str) -> None:
    _refused(rules.project_refusal(project))
    assert project is not None
    async with app[DATABASE].transaction() as conn:
        await store.add_member(conn, project.id, actor, _now(app))


async def leave(app: web.Application, project: store.Project | None, actor: str) -> None:
    _refused(rules.project_refusal(project))
    assert project is not None
    async with app[DATABASE].transaction() as conn:
        await store.remove_member(conn, project.id, actor)


async def _must_take_part(app: web.Application, project_id: str, actor: str) -> None:
    if not await store.is_member(app[DATABASE].reader, project_id, actor):
        raise ApiError(403, N_("join the project to write and revise its drafts"), hint=N_("press Join on its page"))


async def add_draft(app: web.Application, project: store.Project | None, actor: str, *, title: str, text: str) -> str:
    """A new draft of ``project`` written by ``actor``; its id."""
    title, text = title.strip(), text.strip()
    _refused(rules.project_refusal(project))
    assert project is not None
    _refused(rules.text_refusal(title=title, text=text, limit=rules.MAX_TEXT), 400)
    await _must_take_part(app, project.id, actor)
    name, draft_id = app[CONFIG].node.name, app[URLS].new_object_id()
    composed, now = await service.compose(
        app, name, documents.draft_body(project_id=project.id, title=title, text=text)
    )
    documents.finish(composed, draft_id, app[URLS].base, documents.draft_page(draft_id), context=project.id)

    async def insert(conn: Connection) -> None:
        await store.insert_draft(
            conn, draft_id=draft_id, project_id=project.id, title=title, text=text, author=actor, now=to_epoch(now)
        )

    composed.changes.append(insert)
    await service.apply(app, name, composed, now=now)
    return draft_id


async def revise(app: web.Application, project: store.Project | None, draft: store.Draft | None, actor: str, *,
                 title: str, text: str) -> int:  # fmt: skip
    """A new revision of ``draft`` by ``actor``; its number."""
    title, text = title.strip(), text.strip()
    _refused(rules.draft_refusal(project, draft))
    assert project is not None and draft is not None
    _refused(rules.text_refusal(title=title, text=text, limit=rules.MAX_TEXT), 400)
    await _must_take_part(app, project.id, actor)
    name = app[CONFIG].node.name
    composed, now = await service.compose(app, name, documents.revision_body(draft.id, title=title, text=text))
    numbers: list[int] = []

    async def add_revision(conn: Connection) -> None:
        number = await store.revise_draft(conn, draft.id, title=title, text=text, author=actor, now=to_epoch(now))
        if number is None:
            _refused(N_("this draft went to the vote: it can no longer be revised, signed or unsigned"))
        numbers.append(int(number or 0))

    composed.changes.append(add_revision)
    await service.apply(app, name, composed, now=now)
    return numbers[0]


async def sign(app: web.Application, project: store.Project | None, draft: store.Draft | None, actor: str) -> bool:
    """``actor`` signs ``draft`` on the page; True when the draft has just reached the quorum."""
    _refused(rules.draft_refusal(project, draft))
    assert draft is not None
    config, now = app[CONFIG], _now(app)
    async with app[DATABASE].transaction() as conn:
        await store.sign(conn, draft.id, actor, via="page", activity_id=None, now=now)
        if await store.count_signatories(conn, draft.id) < await rules.quorum(conn, config):
            return False
        return await store.mark_qualified(conn, draft.id, now)


async def withdraw(app: web.Application, project: store.Project | None, draft: store.Draft | None, actor: str) -> None:
    _refused(rules.draft_refusal(project, draft))
    assert draft is not None
    async with app[DATABASE].transaction() as conn:
        await store.withdraw(conn, draft.id, actor, _now(app))
