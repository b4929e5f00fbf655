"""What the node does with each kind of received activity: one dispatch table.

Two answers are dispatched one level further, on the type of the LOCAL object they concern:
``Create`` of a reply by its parent's type (:data:`REPLY_HANDLERS`: a vote answers a
``Question``, a comment any post), and ``Accept`` / ``Reject`` / ``TentativeAccept`` by
what they answer (:data:`ANSWER_HANDLERS`: our ``Follow``, an ``Event``).

A handler runs inside the worker's transaction (``ctx.conn``) and must not touch the
network: whatever it needs from elsewhere (the sender's actor document) is fetched before
the transaction opens, when its :class:`Handler` says ``needs_sender``. Activities without a
handler are kept in the inbox (readable by the owner) and marked done. A handler raises
:class:`PermanentError` for an activity that can never be processed (it goes dead with the
reason); any other exception is retried.
"""

from __future__ import annotations

from federation.activitystreams import id_of
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiosqlite

from federation.actors import RemoteActor, RemoteActors, actor_from_document
from inbox import membership
from node import follows, members, objects, reports
from node.clock import iso, to_epoch
from node.config import Config
from node.urls import INSTANCE_USERNAME, Urls
from outbox import publish

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"


class PermanentError(Exception):
    """This activity can never be processed; the message says why."""


@dataclass
class InboxContext:
    conn: aiosqlite.Connection
    config: Config
    urls: Urls
    remote_actors: RemoteActors
    now: object  # datetime
    recipient: str
    sender: RemoteActor | None = None
    queued_deliveries: bool = False

    @property
    def chapter(self) -> str:
        return self.config.node.name

    @property
    def chapter_id(self) -> str:
        return self.urls.actor(self.chapter)


HandlerFn = Callable[[InboxContext, dict], Awaitable[None]]


@dataclass(frozen=True)
class Handler:
    apply: HandlerFn
    needs_sender: bool = False



def _strip_context(document: dict) -> dict:
    return {k: v for k, v in document.items() if k != "@context"}


async def _send(ctx: InboxContext, activity: dict, inbox: str) -> None:
    await publish.record(ctx.conn, urls=ctx.urls, username=ctx.chapter, activity=activity, inboxes=[inbox],
                         now=to_epoch(ctx.now))
    ctx.queued_deliveries = True


async def handle_follow(ctx: InboxContext, activity: dict) -> None:
    target = id_of(activity.get("object"))
    follower = ctx.sender
    if follower is None or follower.inbox is None:
        raise PermanentError("the follower has no inbox to answer to")
    if target == ctx.urls.actor(INSTANCE_USERNAME):
        reject = {"@context": AS_CONTEXT, "id": ctx.urls.new_activity_id(), "type": "Reject",
                  "actor": ctx.urls.actor(INSTANCE_USERNAME), "object": _strip_context(activity),
                  "to": [follower.id], "published": iso(ctx.now)}
        await publish.record(ctx.conn, urls=ctx.urls, username=INSTANCE_USERNAME, activity=reject,
                             inboxes=[follower.inbox], now=to_epoch(ctx.now))
        ctx.queued_deliveries = True
        return
    if target != ctx.chapter_id:
        raise PermanentError(f"Follow of {target}, who is not an actor of this node")
    manual = ctx.config.node.manually_approves_followers
    existing = await follows.get_follower(ctx.conn, ctx.chapter, follower.id)
    already = existing is not None and existing["state"] == "accepted"
    await follows.upsert_follower(ctx.conn, username=ctx.chapter, follower_id=follower.id, follow_id=activity["id"],
                                  inbox=follower.inbox, shared_inbox=follower.shared_inbox,
                                  state="pending" if manual and not already else "accepted", now=to_epoch(ctx.now))
    await membership.file_follow_as_request(ctx, follower)
    if manual and not already:
        return  # waits for the admin's Accept or Reject in the outbox
    accept = {"@context": AS_CONTEXT, "id": ctx.urls.new_activity_id(), "type": "Accept", "actor": ctx.chapter_id,
              "object": _strip_context(activity), "to": [follower.id], "published": iso(ctx.now)}
    await _send(ctx, accept, follower.inbox)


async def undo_follow(ctx: InboxContext, undone: dict, actor_id: str) -> None:
    await follows.remove_follower(ctx.conn, ctx.chapter, actor_id)


async def undo_other(ctx: InboxContext, undone: dict, actor_id: str) -> None:
    """Undo of something this node does not keep state for: nothing to reverse."""


UNDO_HANDLERS: dict[str, Callable[[InboxContext, dict, str], Awaitable[None]]] = {
    "Follow": undo_follow,
}


async def handle_undo(ctx: InboxContext, activity: dict) -> None:
    actor_id = id_of(activity["actor"])
    undone = activity.get("object")
    if isinstance(undone, str):  # only the id: find what it was
        follower = await follows.follower_by_follow_id(ctx.conn, ctx.chapter, undone)
        if follower is not None and follower["follower_id"] == actor_id:
            await undo_follow(ctx, {"id": undone, "type": "Follow"}, actor_id)
        return
    if not isinstance(undone, dict):
        raise PermanentError("Undo needs the activity it undoes")
    if id_of(undone.get("actor")) not in (None, actor_id):
        raise PermanentError(f"{actor_id} cannot undo an activity of {id_of(undone.get('actor'))}")
    await UNDO_HANDLERS.get(undone.get("type"), undo_other)(ctx, undone, actor_id)


async def answer_to_our_follow(ctx: InboxContext, activity: dict, accepted: bool) -> None:
    follow_id = id_of(activity.get("object"))
    if follow_id is None:
        raise PermanentError(f"{activity['type']} names no Follow")
    following = await follows.following_by_follow_id(ctx.conn, follow_id)
    if following is None:
        if isinstance(activity.get("object"), dict):  # some servers send their own id for our Follow
            target = id_of(activity["actor"])
            following = await follows.following_by_target(ctx.conn, ctx.chapter, target)
        if following is None:
            return  # not a follow of ours (or already undone): nothing to do
    if following["target_id"] != id_of(activity["actor"]):
        raise PermanentError(f"{id_of(activity['actor'])} answered a Follow addressed to {following['target_id']}")
    if accepted:
        await follows.set_following_state(ctx.conn, following["follow_id"], "accepted")
    else:
        await follows.remove_following(ctx.conn, following["follow_id"])


# Accept / Reject / TentativeAccept are answers to something of ours: dispatched on the type of
# the local object they answer (our Follow activity, an Event we published, ...).
AnswerHandler = Callable[[InboxContext, dict, "objects.StoredObject | None"], Awaitable[None]]


async def _follow_answer(ctx: InboxContext, activity: dict, target) -> None:
    await answer_to_our_follow(ctx, activity, accepted=activity["type"] == "Accept")


ANSWER_HANDLERS: dict[str, AnswerHandler] = {"Follow": _follow_answer}


async def handle_answer(ctx: InboxContext, activity: dict) -> None:
    target_id = id_of(activity.get("object"))
    if target_id is None:
        raise PermanentError(f"{activity['type']} names nothing it answers")
    target = await objects.get(ctx.conn, target_id) if ctx.urls.is_local(target_id) else None
    kind = target.type if target is not None else "Follow"  # a Follow of ours may be embedded under the peer's id
    handler = ANSWER_HANDLERS.get(kind)
    if handler is not None:
        await handler(ctx, activity, target)


# Create: what matters is what the new object replies to. A reply to a local object is
# dispatched on that object's type (a vote answers a Question; a comment answers a Note...).
ReplyHandler = Callable[[InboxContext, dict, dict, "objects.StoredObject"], Awaitable[None]]
REPLY_HANDLERS: dict[str, ReplyHandler] = {}  # by the parent's type; "*" for any other local object


async def handle_create(ctx: InboxContext, activity: dict) -> None:
    created = activity.get("object")
    if not isinstance(created, dict):
        return  # a bare id: nothing of ours to attach it to
    parent_id = id_of(created.get("inReplyTo"))
    if parent_id is None or not ctx.urls.is_local(parent_id):
        return
    parent = await objects.get(ctx.conn, parent_id)
    if parent is None or parent.deleted is not None:
        return
    handler = REPLY_HANDLERS.get(parent.type) or REPLY_HANDLERS.get("*")
    if handler is not None:
        await handler(ctx, activity, created, parent)


# Every store of remote content (replies kept as a thread, ...) forgets or refreshes its copy when
# the author deletes or edits it: (ctx, object id or the updated object, the actor who sent it).
# Delete hooks also run when the object is the actor itself (the account is gone).
REMOTE_DELETE_HANDLERS: list[Callable[[InboxContext, str, str], Awaitable[None]]] = []
REMOTE_UPDATE_HANDLERS: list[Callable[[InboxContext, dict, str], Awaitable[None]]] = []


async def handle_delete(ctx: InboxContext, activity: dict) -> None:
    actor_id = id_of(activity["actor"])
    object_id = id_of(activity.get("object"))
    if object_id == actor_id:  # the account is gone
        await follows.remove_actor_everywhere(ctx.conn, actor_id)
        await members.leave_everywhere(ctx.conn, actor_id, to_epoch(ctx.now))
        await ctx.remote_actors.forget(ctx.conn, actor_id)
    if object_id is not None:
        for forget in REMOTE_DELETE_HANDLERS:
            await forget(ctx, object_id, actor_id)


async def handle_update(ctx: InboxContext, activity: dict) -> None:
    """An actor's Update of itself refreshes the cached document and keys (key rotation)."""
    updated = activity.get("object")
    if isinstance(updated, dict) and updated.get("id") == id_of(activity["actor"]):
        try:
            actor = actor_from_document(updated)
        except Exception as error:  # a malformed actor document is the sender's fault, not ours
            raise PermanentError(f"Update carries an unusable actor document: {error}") from None
        await ctx.remote_actors.absorb(ctx.conn, actor, now=to_epoch(ctx.now))
    elif isinstance(updated, dict) and isinstance(updated.get("id"), str):
        for refresh in REMOTE_UPDATE_HANDLERS:
            await refresh(ctx, updated, id_of(activity["actor"]))


async def handle_flag(ctx: InboxContext, activity: dict) -> None:
    """A report from another server: kept for the admin (GET /admin/reports)."""
    targets = [t for t in (id_of(item) for item in (activity.get("object") if isinstance(activity.get("object"), list)
                                                     else [activity.get("object")])) if t]
    content = activity.get("content") if isinstance(activity.get("content"), str) else ""
    await reports.insert_report(ctx.conn, activity_id=activity["id"], direction="received",
                                reporter=id_of(activity["actor"]), targets=targets[:50], content=content,
                                now=to_epoch(ctx.now))


async def keep_only(ctx: InboxContext, activity: dict) -> None:
    """Stored in the inbox for the owner to read; nothing else to do (yet)."""


HANDLERS: dict[str, Handler] = {
    "Follow": Handler(handle_follow, needs_sender=True),
    "Undo": Handler(handle_undo),
    "Accept": Handler(handle_answer),
    "Reject": Handler(handle_answer),
    "TentativeAccept": Handler(handle_answer),
    "Create": Handler(handle_create),
    "Flag": Handler(handle_flag),
    "Delete": Handler(handle_delete),
    "Update": Handler(handle_update),
    "Join": Handler(membership.handle_join, needs_sender=True),
    "Leave": Handler(membership.handle_leave),
}
DEFAULT_HANDLER = Handler(keep_only)


def handler_for(kind: str) -> Handler:
    return HANDLERS.get(kind, DEFAULT_HANDLER)
