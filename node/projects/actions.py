"""What members and the admin do to projects, drafts and signatures on the pages: checked, stored, published.

Each act runs one of :mod:`node.projects.making` (the same code the inbox runs for what members
do from the fediverse) in a transaction of its own, then wakes the delivery worker. What is
published goes out as the node's Group actor (``config.node.name``), in the same transaction as
the room's row, or neither is kept. A refusal (:class:`node.projects.making.Refused`) comes back as an
:class:`node.core.errors.ApiError` (4xx) carrying the rule's message, which the pages show on the form.

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

from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

from node.core.appkeys import CLOCK, CONFIG, DATABASE, DELIVERY_WORKER, REGISTRY, REMOTE_ACTORS, URLS
from node.core.clock import to_epoch
from node.core.db import Connection
from node.core.errors import ApiError
from node.core.i18n import N_, Message
from node.projects import making, rules, store
from outbox.compose import Authoring

T = TypeVar("T")


def _error(refused: making.Refused) -> ApiError:
    return ApiError(
        refused.status, refused.message, hint=refused.hint or N_("see the project's page for what it takes now")
    )


def _refused(message: Message | None, status: int = 409) -> None:
    try:
        making.refuse_if(message, status)
    except making.Refused as refused:
        raise _error(refused) from None


def check_project_text(*, title: str, aim: str, default: str) -> None:
    """What a project's title, aim and default take (an ``ApiError`` 400 when they do not)."""
    try:
        making.check_project_text(title=title, aim=aim, default=default)
    except making.Refused as refused:
        raise _error(refused) from None


def authoring(app: web.Application) -> Authoring:
    """The node's Group actor publishing now."""
    config = app[CONFIG]
    return Authoring(config, app[URLS], app[REMOTE_ACTORS], config.node.name, app[CLOCK].now(), app[REGISTRY])


async def _act(app: web.Application, act: Callable[[Connection, Authoring], Awaitable[T]]) -> T:
    """``act`` in a transaction of its own; a refusal as an ``ApiError``; the delivery worker woken."""
    octx = authoring(app)
    try:
        async with app[DATABASE].transaction() as conn:
            done = await act(conn, octx)
    except making.Refused as refused:
        raise _error(refused) from None
    app[DELIVERY_WORKER].wake()
    return done


def _now(app: web.Application) -> float:
    return to_epoch(app[CLOCK].now())


async def start(app: web.Application, actor: str, *, title: str, aim: str, default: str) -> str:
    """A new project started by ``actor``; its id (open and published, or awaiting the admin)."""
    opened = not app[CONFIG].projects.approval_required
    return await _act(
        app,
        lambda conn, octx: making.start(
            conn, octx, started_by=actor, title=title, aim=aim, default=default, opened=opened
        ),
    )


async def approve(app: web.Application, project: store.Project) -> None:
    if project.state != "awaiting":
        _refused(N_("this project is not awaiting approval"))
    await _act(app, lambda conn, octx: making.approve(conn, octx, project))


async def refuse(app: web.Application, project: store.Project, reason: str) -> None:
    async with app[DATABASE].transaction() as conn:
        if not await store.refuse_project(conn, project.id, reason.strip()):
            _refused(N_("this project is not awaiting approval"))


async def join(app: web.Application, project: store.Project | None, actor: str) -> None:
    await _act(app, lambda conn, octx: making.join(conn, project, actor, to_epoch(octx.now)))


async def leave(app: web.Application, project: store.Project | None, actor: str) -> None:
    _refused(rules.project_refusal(project))
    assert project is not None
    async with app[DATABASE].transaction() as conn:
        await store.remove_member(conn, project.id, actor)


async def add_draft(app: web.Application, project: store.Project | None, actor: str, *, title: str, text: str) -> str:
    """A new draft of ``project`` written by ``actor``; its id."""
    _refused(rules.project_refusal(project))
    assert project is not None
    return await _act(app, lambda conn, octx: making.add_draft(conn, octx, project.id, actor, title=title, text=text))


async def revise(app: web.Application, project: store.Project | None, draft: store.Draft | None, actor: str, *,
                 title: str, text: str) -> int:  # fmt: skip
    """A new revision of ``draft`` by ``actor``; its number."""
    _refused(rules.draft_refusal(project, draft))
    assert draft is not None
    return await _act(app, lambda conn, octx: making.revise(conn, octx, draft.id, actor, title=title, text=text))


async def sign(app: web.Application, project: store.Project | None, draft: store.Draft | None, actor: str) -> bool:
    """``actor`` signs ``draft`` on the page; True when the draft has just reached the quorum."""
    _refused(rules.draft_refusal(project, draft))
    assert draft is not None
    config, now = app[CONFIG], _now(app)
    return await _act(
        app, lambda conn, _: making.sign(conn, config, draft.id, actor, via="page", activity_id=None, now=now)
    )


async def withdraw(app: web.Application, project: store.Project | None, draft: store.Draft | None, actor: str) -> None:
    _refused(rules.draft_refusal(project, draft))
    assert draft is not None
    now = _now(app)
    await _act(app, lambda conn, _: making.withdraw(conn, draft.id, actor, now))
