"""The acts that make and change projects, in the caller's transaction: one code path for the pages and the inbox.

Each act takes the caller's connection and an :class:`outbox.compose.Authoring` (the node's
Group actor, and the time of the act), checks :mod:`node.projects.rules` against the rows it reads
in that transaction, writes its rows, and records what it publishes with
:func:`node.core.publish.record`, addressed to the public with one delivery row per follower inbox
(:func:`node.core.follows.follower_inboxes`): the rows and the activity commit together, or
neither does. A refusal is a :class:`Refused` carrying the rule's message (and the status a page
answers with); nothing of the act is left once the caller's transaction rolls back.

Who calls them: :mod:`node.projects.actions` for the pages (in a transaction of their own, then
it wakes the delivery worker, and turns a refusal into an ``ApiError``), and
:mod:`node.projects.authoring` and :mod:`node.projects.inbound` for what members do from the
fediverse (in the inbox worker's transaction, ``ctx.conn``; a refusal becomes a
``PermanentError``, and a ``Reject`` for a member of the subtree).

- :func:`start`: a project's row, and its ``Article`` when it opens at once (else
  :func:`approve` publishes it); ``source`` is the member's object it was made from, if any.
- :func:`add_draft` (by a member of the project): the draft's row with revision 1, and its Article;
  :func:`revise`: a new revision and an ``Update`` of the Article.
- :func:`join`: a member of the project (the caller checked the subtree).
- :func:`sign` / :func:`withdraw`: a signature of an open draft; ``sign`` marks the draft
  qualified the first time its signatories reach the quorum (:func:`node.projects.rules.quorum`),
  and says so; putting it to the vote is :mod:`node.projects.voting`'s. An activity that signs or
  withdraws does so once, ever (:func:`once`).
"""

from __future__ import annotations

from node.core import follows, objects, publish
from node.core.clock import to_epoch
from node.core.config import Config
from node.core.db import Connection
from node.core.i18n import N_, Message
from node.decisions.telling import chapter_language
from node.projects import documents, rules, store
from outbox.compose import Authoring


class Refused(Exception):
    """What the act may not do, as the rule's message; ``status`` is what a page answers."""

    def __init__(self, message: Message, status: int = 409, hint: Message | None = None):
        super().__init__(str(message))
        self.message, self.status, self.hint = message, status, hint


def refuse_if(message: Message | None, status: int = 409) -> None:
    if message is not None:
        raise Refused(message, 404 if message.startswith("there is no such") else status)


def check_project_text(*, title: str, aim: str, default: str) -> None:
    refuse_if(rules.text_refusal(title=title, text=aim, limit=rules.MAX_AIM), 400)
    if not default.strip():
        raise Refused(N_("say what the drafts are voted against (the default)"), 400)
    if len(default) > rules.MAX_AIM:
        raise Refused(N_("the default has at most {n} characters", n=rules.MAX_AIM), 400)


async def _publish(conn: Connection, octx: Authoring, activity: dict, new_object: dict | None = None) -> None:
    await publish.record(
        conn,
        urls=octx.urls,
        username=octx.username,
        activity=activity,
        inboxes=await follows.follower_inboxes(conn, octx.username),
        now=to_epoch(octx.now),
        new_object=new_object,
    )


async def _publish_project(conn: Connection, octx: Authoring, project_id: str, *, title: str, aim: str,
                           default: str) -> None:  # fmt: skip
    article, create = documents.project_article(
        octx, project_id, title=title, aim=aim, default=default, language=chapter_language(octx)
    )
    await _publish(conn, octx, create, article)


async def start(conn: Connection, octx: Authoring, *, started_by: str, title: str, aim: str, default: str,
                opened: bool, source: str | None = None) -> str:  # fmt: skip
    """A new project started by ``started_by``; its id (open and published, or awaiting the admin)."""
    title, aim, default = title.strip(), aim.strip(), default.strip()
    check_project_text(title=title, aim=aim, default=default)
    refuse_if(await rules.start_refusal(conn, started_by))
    project_id = octx.urls.new_object_id()
    await store.insert_project(
        conn, project_id=project_id, title=title, aim=aim, default_option=default, started_by=started_by,
        opened=opened, now=to_epoch(octx.now), source=source,
    )  # fmt: skip
    if opened:
        await _publish_project(conn, octx, project_id, title=title, aim=aim, default=default)
    return project_id


async def approve(conn: Connection, octx: Authoring, project: store.Project) -> None:
    """The admin's approval: the project opens and its Article is published (the id chosen at the start)."""
    if not await store.open_project(conn, project.id, to_epoch(octx.now)):
        raise Refused(N_("this project is not awaiting approval"))
    await _publish_project(conn, octx, project.id, title=project.title, aim=project.aim, default=project.default_option)


async def join(conn: Connection, project: store.Project | None, actor: str, now: float) -> None:
    refuse_if(rules.project_refusal(project))
    assert project is not None
    await store.add_member(conn, project.id, actor, now)


async def _must_take_part(conn: Connection, project_id: str, actor: str) -> None:
    if not await store.is_member(conn, project_id, actor):
        raise Refused(N_("join the project to write and revise its drafts"), 403, hint=N_("press Join on its page"))


async def add_draft(conn: Connection, octx: Authoring, project_id: str, author: str, *, title: str, text: str,
                    source: str | None = None) -> str:  # fmt: skip
    """A new draft of the project written by ``author`` (who joined it); its id."""
    title, text = title.strip(), text.strip()
    project = await store.get_project(conn, project_id)
    refuse_if(rules.project_refusal(project))
    refuse_if(rules.text_refusal(title=title, text=text, limit=rules.MAX_TEXT), 400)
    await _must_take_part(conn, project_id, author)
    refuse_if(await rules.draft_count_refusal(conn, project_id, author))
    draft_id = octx.urls.new_object_id()
    await store.insert_draft(
        conn, draft_id=draft_id, project_id=project_id, title=title, text=text, author=author,
        now=to_epoch(octx.now), source=source,
    )  # fmt: skip
    article, create = documents.draft_article(octx, draft_id, project_id=project_id, title=title, text=text)
    await _publish(conn, octx, create, article)
    return draft_id


async def revise(conn: Connection, octx: Authoring, draft_id: str, author: str, *, title: str, text: str,
                 source: str | None = None) -> int:  # fmt: skip
    """A new revision of the draft by ``author`` (who joined its project); its number."""
    title, text = title.strip(), text.strip()
    draft = await store.get_draft(conn, draft_id, lock=True)  # its revisions counted as they stand at the commit
    project = await store.get_project(conn, draft.project_id) if draft is not None else None
    refuse_if(rules.draft_refusal(project, draft))
    assert draft is not None
    refuse_if(rules.text_refusal(title=title, text=text, limit=rules.MAX_TEXT), 400)
    await _must_take_part(conn, draft.project_id, author)
    refuse_if(rules.revision_refusal(draft))
    published = await objects.get(conn, draft.id)
    if published is None or published.deleted is not None:
        raise Refused(N_("there is no such draft here"), 404)
    number = await store.revise_draft(
        conn, draft.id, title=title, text=text, author=author, now=to_epoch(octx.now), source=source
    )
    if number is None:
        raise Refused(N_("this draft went to the vote: it can no longer be revised, signed or unsigned"))
    updated, update = documents.revision_update(octx, published.data, title=title, text=text)
    await objects.replace_data(conn, draft.id, updated, updated=to_epoch(octx.now))
    await _publish(conn, octx, update)
    return number


async def open_draft(conn: Connection, draft_id: str) -> store.Draft:
    """The draft, while it and its project take signatures; else :class:`Refused` with the reason."""
    draft = await store.get_draft(conn, draft_id)
    refuse_if(rules.draft_refusal(await store.get_project(conn, draft.project_id) if draft else None, draft))
    assert draft is not None
    return draft


async def sign(conn: Connection, config: Config, draft_id: str, actor: str, *, via: str, activity_id: str | None,
               now: float) -> bool:  # fmt: skip
    """``actor`` signs the draft; True when the draft has just reached the quorum for the first time.
    ``activity_id`` (a Join, a Like) signs once: seen before, it is refused (:func:`once`)."""
    draft = await open_draft(conn, draft_id)
    if activity_id is not None:
        await once(conn, activity_id, draft.id, actor, "sign", now)
    await store.sign(conn, draft.id, actor, via=via, activity_id=activity_id, now=now)
    return await qualify_if_due(conn, config, draft.id, now)


async def once(conn: Connection, activity_id: str, draft_id: str, actor: str, kind: str, now: float) -> None:
    """The activity kept as one that signed (``kind`` ``sign``) or withdrew (``withdraw``); :class:`Refused`
    when it was seen before: an older Join replayed after sign, withdraw, sign, withdraw (relayed with its
    actor's proof, or delivered again) would sign again, an older Leave would withdraw a newer signature."""
    if not await store.first_time(conn, activity_id, draft_id, actor, kind, now):
        if kind == "sign":
            raise Refused(N_("this activity was counted before: signing again takes a new activity"))
        raise Refused(N_("this activity was counted before: withdrawing again takes a new activity"))


async def qualify_if_due(conn: Connection, config: Config, draft_id: str, now: float) -> bool:
    """The draft is marked qualified the first time its signatories reach the quorum (True then)."""
    if await store.count_signatories(conn, draft_id) < await rules.quorum(conn, config):
        return False
    return await store.mark_qualified(conn, draft_id, now)


async def withdraw(conn: Connection, draft_id: str, actor: str, now: float, activity_id: str | None = None) -> bool:
    """``actor``'s signature withdrawn (False: there was none standing); ``activity_id`` (a Leave)
    withdraws once (:func:`once`)."""
    draft = await open_draft(conn, draft_id)
    if activity_id is not None:
        await once(conn, activity_id, draft.id, actor, "withdraw", now)
    return await store.withdraw(conn, draft.id, actor, now)
