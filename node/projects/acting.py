"""A member's acts on a project of a level above: published as their own ``Person``, kept as sent.

What goes out is what the projects' node reads from the fediverse (its ``node.projects.inbound``):

- start a project: ``Create`` of an ``Article`` (``name`` the title, ``content`` the aim,
  ``defaultOption`` the default, a Chapterhouse term defined in the document's ``@context``) with
  ``target`` the level's ``projects`` collection;
- write a draft: ``Create`` of an ``Article`` (``name``, ``content``) with ``target`` the project's
  id; revise one: the same with ``target`` the draft's id;
- take part in a project or leave it: ``Join`` / ``Leave`` of the project's id; sign a draft or
  withdraw the signature: ``Join`` / ``Leave`` of the draft's id;
- reply in the project's thread: a ``Note`` with ``inReplyTo`` the project's id.

Each is addressed ``to`` the project's node actor, so it is delivered there; the Creates are
public too (``cc``), as the projects, drafts and threads they make are. The Creates are composed
by the outbox's own Article and Note composers (:func:`outbox.service.compose`), and what those
do not know of (``target``, ``defaultOption``) is set on the composed activity and its object, as
:func:`node.projects.documents.finish` does. ``Join`` and ``Leave`` are built here
(:func:`node.core.vocabulary.activity`): the outbox's ``Join`` composer is the tree's (a node
asking a parent to link it). Either way :func:`outbox.service.apply` records the activity, its
delivery and the act's row (:func:`node.projects.above_acts.record`) in one transaction, or none of
them. Then the cache of the levels' documents is forgotten (:func:`node.projects.above.forget`).
Text is checked first, as on this node's own project pages (:mod:`node.projects.rules`); a
refusal is an :class:`node.core.errors.ApiError` the page shows on its form.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from node.content.forms import paragraphs
from node.core.appkeys import CLOCK, URLS
from node.core.clock import to_epoch
from node.core.db import Connection
from node.core.errors import ApiError
from node.core.i18n import N_
from node.core.vocabulary import AS_CONTEXT, NAMESPACE, PUBLIC, activity
from node.projects import above, above_acts, actions, rules
from outbox import service
from outbox.compose import Composed

DOCUMENT_CONTEXT = [AS_CONTEXT, {"defaultOption": f"{NAMESPACE}defaultOption"}]
TAKING_PART = {"join": "Join", "leave": "Leave", "sign": "Join", "withdraw": "Leave"}


@dataclass(frozen=True)
class Member:
    username: str
    actor_id: str


@dataclass(frozen=True)
class Act:
    """What the act concerns: its kind, the node that answers, the project, what it acts on."""

    kind: str
    node: str
    project: str | None
    object_id: str
    title: str | None = None


async def _apply(app: web.Application, member: Member, act: Act, composed: Composed, now) -> str:
    activity_id = str(composed.activity["id"])

    async def keep(conn: Connection) -> None:
        await above_acts.record(
            conn,
            activity_id=activity_id,
            member=member.actor_id,
            kind=act.kind,
            object_id=act.object_id,
            node=act.node,
            project=act.project,
            title=act.title,
            now=to_epoch(now),
        )

    composed.changes.append(keep)
    await service.apply(app, member.username, composed, now=now)
    above.forget(app)
    return activity_id


async def _create(app: web.Application, member: Member, act: Act, body: dict, extra: dict | None = None) -> str:
    composed, now = await service.compose(app, member.username, {**body, "to": [act.node], "cc": [PUBLIC]})
    if body["type"] == "Article":
        composed.activity["target"] = act.object_id
    if extra:  # terms of ours: defined in the document's context, kept in what is stored and what is sent
        composed.activity["@context"] = composed.created["@context"] = DOCUMENT_CONTEXT
        for document in (composed.created, composed.activity.get("object")):
            if isinstance(document, dict):
                document.update(extra)
    return await _apply(app, member, act, composed, now)


def _refused(message) -> None:
    if message is not None:
        raise ApiError(400, message, hint=N_("correct what the form says, and send it again"))


async def start(app: web.Application, member: Member, *, node: str, collection: str, title: str, aim: str,
                default: str) -> str:  # fmt: skip
    """Ask the node ``node`` to start a project (in its ``collection``); the Create's id."""
    title, aim, default = title.strip(), aim.strip(), default.strip()
    actions.check_project_text(title=title, aim=aim, default=default)
    act = Act("start", node, None, collection, title)
    body = {"type": "Article", "name": title, "content": paragraphs(aim)}
    return await _create(app, member, act, body, {"defaultOption": default})


async def write(app: web.Application, member: Member, act: Act, *, title: str, text: str) -> str:
    """A new draft of a project (``act.kind`` "draft", on the project) or a revision ("revise", on the draft)."""
    title, text = title.strip(), text.strip()
    _refused(rules.text_refusal(title=title, text=text, limit=rules.MAX_TEXT))
    act = Act(act.kind, act.node, act.project, act.object_id, title)
    return await _create(app, member, act, {"type": "Article", "name": title, "content": paragraphs(text)})


async def reply(app: web.Application, member: Member, act: Act, *, text: str) -> str:
    if not text.strip():
        raise ApiError(400, N_("the reply is empty"))
    return await _create(app, member, act, {"type": "Note", "content": paragraphs(text), "inReplyTo": act.object_id})


async def take_part(app: web.Application, member: Member, act: Act) -> str:
    """Join or Leave of the project (``act.kind`` join / leave) or of a draft (sign / withdraw)."""
    now = app[CLOCK].now()
    sent = activity(
        TAKING_PART[act.kind], app[URLS], actor=member.actor_id, now=now, object=act.object_id, to=[act.node]
    )
    return await _apply(app, member, act, Composed(activity=sent), now)
