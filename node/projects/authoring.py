"""Members of the subtree write projects from the fediverse: a ``Create`` whose object has a ``target``.

In the spirit of FEP-400e (an object created into someone else's collection), a member of this
node's subtree (on Mastodon, bovine, or as the Person of their chapter's node) sends this node a
``Create`` of an ``Article`` (or a ``Note`` or ``Page``) whose ``target`` (on the object, or on
the Create) says what it makes:

- this node's ``projects`` collection (``node.projects.collection``): a new **project**, with
  ``name`` its title, ``content`` its aim and ``defaultOption`` (required) the default its drafts
  are voted against;
- a project's id: a new **draft** of it (``name``, ``content``), by a member who joined the project;
- a draft's id: a new **revision** of it (``name``, ``content``), by a member who joined its project.

``content`` is HTML: it is sanitised to text (:func:`text_of`, with ``node.core.sanitize``), as
typed text would be on the pages; ``name`` and ``defaultOption`` are text. What is made is made
exactly as on the pages (:mod:`node.projects.making`, in the inbox worker's transaction): the
node's own Article (or its Update), published to its followers with the row. The member's object
id is kept beside what it made (``source``), so a Create delivered again makes nothing twice.
The member is answered with an ``Accept`` of their Create whose ``result`` is the project's or the
draft's id, so their client learns it.

Threat model: the object must be on the actor's own server (its id's origin) and attributed to
no one else; the actor must be an active member of the subtree (asked down the tree by the
preparer, :func:`node.projects.inbound.ask`, before the transaction: only for a Create whose target
is of this node); the HTML is bounded before it is sanitised (:data:`MAX_HTML_CHARS`), and the
texts by :mod:`node.projects.rules`. A stranger's Create is kept dead with the reason and never
answered; a member's refused one (a project not open, a vote begun, a text too long or empty, a
wrong shape) is kept dead and answered with a ``Reject`` saying why
(:func:`node.projects.inbound.refused`).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import nh3

from federation.activitystreams import actor_of, id_of, origin_of
from inbox.handlers import Handler, InboxContext, PrepareContext
from node.core import objects
from node.core.config import Config
from node.core.db import Connection
from node.core.i18n import N_, Message
from node.core.registry import Registry
from node.core.sanitize import clean_html
from node.core.urls import Urls
from node.decisions.telling import authoring
from node.projects import inbound, making, rules, store

KINDS = ("Article", "Note", "Page")  # what a member's Create may carry
MAX_HTML_CHARS = 4 * rules.MAX_TEXT  # a content longer than this is refused before it is sanitised
_BREAKS = re.compile(r"<br\s*/?>|</(?:p|li|blockquote|pre|h[1-6]|div)>", re.IGNORECASE)


def target_of(activity: dict) -> str | None:
    """The Create's target: on its object (FEP-400e), else on the Create."""
    obj = activity.get("object")
    if not isinstance(obj, dict):
        return None
    return id_of(obj.get("target")) or id_of(activity.get("target"))


async def kind_of_target(conn: Connection, urls: Urls, config: Config, target: str) -> str | None:
    """What a Create into ``target`` makes here: "project", "draft", "revision", or None (not ours)."""
    if not urls.is_local(target):
        return None
    if target == urls.collection(config.node.name, "projects"):
        return "project"
    if await store.get_project(conn, target) is not None:
        return "draft"
    if await store.get_draft(conn, target) is not None:
        return "revision"
    return None


def text_of(markup: str) -> str:
    """HTML as the text a member would have typed: sanitised, paragraphs and line breaks kept, no tags."""
    clean = _BREAKS.sub(lambda found: "\n" if found.group(0).lower().startswith("<br") else "\n\n", clean_html(markup))
    text = html.unescape(nh3.clean(clean, tags=set()))
    return "\n\n".join(p.strip() for p in re.split(r"\n\s*\n", text) if p.strip())


@dataclass(frozen=True)
class Written:
    """What the member's object says: its id, title, text (and the default, for a project)."""

    source: str
    title: str
    text: str
    default: str


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _same_origin(one: str, other: str) -> bool:
    a, b = origin_of(one), origin_of(other)
    return (a.scheme, a.netloc.lower()) == (b.scheme, b.netloc.lower()) and bool(a.netloc)


def written(activity: dict, actor_id: str) -> Written:
    """The member's object read and checked for its shape (a :class:`node.projects.making.Refused` if wrong)."""
    obj = activity["object"]
    if objects.primary_type(obj) not in KINDS:
        raise making.Refused(N_("a project, a draft or a revision is an Article, a Note or a Page"), 400)
    source = obj.get("id")
    if not isinstance(source, str) or not _same_origin(source, actor_id):
        raise making.Refused(N_("the object needs an id on the server of the actor who sends it"), 400)
    if id_of(obj.get("attributedTo")) not in (None, actor_id):
        raise making.Refused(N_("the object must be attributed to the actor who sends it"), 400)
    content = _text(obj.get("content"))
    if len(content) > MAX_HTML_CHARS:
        raise making.Refused(N_("the text has at most {n} characters", n=rules.MAX_TEXT), 400)
    return Written(source, _text(obj.get("name")), text_of(content), _text(obj.get("defaultOption")))


def only_members_write(actor_id: str) -> Message:
    return N_("{actor} is not an active member of this node's subtree: only its members write its projects",
              actor=actor_id)  # fmt: skip


async def _make(ctx: InboxContext, kind: str, target: str, actor_id: str, piece: Written) -> str:
    """The project, draft or revision made (its id: a revision's is its draft's)."""
    octx = authoring(ctx)
    if kind == "project":
        return await making.start(
            ctx.conn, octx, started_by=actor_id, title=piece.title, aim=piece.text, default=piece.default,
            opened=not ctx.config.projects.approval_required, source=piece.source,
        )  # fmt: skip
    if kind == "draft":
        return await making.add_draft(
            ctx.conn, octx, target, actor_id, title=piece.title, text=piece.text, source=piece.source
        )
    await making.revise(ctx.conn, octx, target, actor_id, title=piece.title, text=piece.text, source=piece.source)
    return target


async def write(ctx: InboxContext, activity: dict, kind: str, target: str) -> None:
    """A member's Create into a project's collection, a project or a draft: made, and answered."""
    actor_id = actor_of(activity)
    await inbound.require_member(ctx, actor_id, only_members_write)
    try:
        piece = written(activity, actor_id)
    except making.Refused as refusal:
        raise inbound.refused(ctx, activity, refusal.message) from None
    if await store.made_from(ctx.conn, piece.source) is not None:
        return  # delivered again (or sent again under a new id): made once, answered once
    made = await inbound.attempt(ctx, activity, _make(ctx, kind, target, actor_id, piece))
    ctx.queued_deliveries = True
    await inbound.accept(ctx, activity, made)


async def prepare(pctx: PrepareContext, activity: dict) -> dict:
    """Before the transaction: who the actor is, only for a Create whose target is of this node."""
    target = target_of(activity)
    if target is None or await kind_of_target(pctx.reader, pctx.urls, pctx.config, target) is None:
        return {}
    return await inbound.ask(pctx)


def create_or(wrapped: Handler) -> Handler:
    """A Create into a projects collection, a project or a draft of this node; any other goes on."""

    async def apply(ctx: InboxContext, activity: dict) -> None:
        target = target_of(activity)
        kind = await kind_of_target(ctx.conn, ctx.urls, ctx.config, target) if target is not None else None
        if kind is None or target is None:
            await wrapped.apply(ctx, activity)
            return
        await write(ctx, activity, kind, target)

    return Handler(apply, needs_sender=wrapped.needs_sender)


def register(registry: Registry) -> None:
    registry.inbound["Create"] = create_or(registry.inbound["Create"])
    registry.before("Create", prepare)
