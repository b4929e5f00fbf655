"""What the node does with each kind of received activity, dispatched through the registry.

:func:`register` puts the pipeline's own handlers in the application's registry: the follow
graph (Follow, Undo, Accept / Reject of our Follow, an actor's Update and Delete of itself)
and the dispatchers that features extend. Two answers are dispatched one level further, on
the type of the LOCAL object they concern: ``Create`` of a reply by its parent's type
(``registry.reply_handlers``: a vote answers a ``Question``, a comment any post), and
``Accept`` / ``Reject`` / ``TentativeAccept`` by what they answer
(``registry.answer_handlers``: our ``Follow``, an ``Event``). Features add their own types
(Join, Leave, Flag, Like, Announce) with ``registry.inbound``.

A handler runs inside the worker's transaction (``ctx.conn``) and must not touch the
network: whatever it needs from elsewhere (the sender's actor document) is fetched before
the transaction opens, when its :class:`Handler` says ``needs_sender``. Activities without a
handler are kept in the inbox (readable by the owner) and marked done. A handler raises
:class:`PermanentError` for an activity that can never be processed (it goes dead with the
reason); any other exception is retried.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from federation.activitystreams import actor_of, id_of
from federation.actors import RemoteActor, RemoteActors, actor_from_document
from inbox.relay import Relay, relay
from node.core import follows, inbox_items, objects, publish, vocabulary
from node.core.clock import to_epoch
from node.core.config import Config
from node.core.db import Connection
from node.core.registry import Registry
from node.core.urls import INSTANCE_USERNAME, Urls


class PermanentError(Exception):
    """This activity can never be processed; the message says why.

    ``answer``: what to record, in the transaction that marks the item dead, to tell the sender why
    (a linked peer is answered; a stranger is not, so no one can make the node write to a third party)."""

    def __init__(self, reason: str, *, answer: Callable[[Connection], Awaitable[None]] | None = None):
        super().__init__(reason)
        self.answer = answer


class TryLater(Exception):
    """This activity cannot be processed yet (it arrived before what it depends on): retried with backoff."""


BatchWork = Callable[[Connection, list], Awaitable[object]]


class OncePerBatch:
    """Work that handlers ask for once per worker transaction, however many items ask for it.

    ``add(key, work, entry)``: the worker runs ``work(conn, entries)`` once per key after the
    batch's last handler, in the same transaction, before the commit, with the entries every
    item added under that key (a poll's served counts are rebuilt once for 64 ballots; the
    receipts of 64 ballots are written in a few statements). The first work under a key wins.
    An item that fails is rolled back with its entries (:meth:`checkpoint`, :meth:`rollback`),
    so nothing is written for a ballot that was not kept.

    ``remember(key, load)``: a lookup of something no item of a batch can change (a local
    poll's question, a decision's copy) is read once per batch, not once per ballot; what a
    handler can change (the linked children) is ``forget``-ten by that handler.

    ``woken``: the (actor, activity type) pairs whose waiting items a handler made due again
    (:meth:`InboxContext.retry_waiting`); an item of this very batch that waited on it (raised
    ``TryLater`` before the item it waited for was handled) is retried at once, not after its backoff.
    """

    def __init__(self) -> None:
        self._work: dict[Hashable, BatchWork] = {}
        self._entries: list[tuple[Hashable, object]] = []
        self._remembered: dict[Hashable, Any] = {}
        self.woken: set[tuple[str, str]] = set()

    async def remember(self, key: Hashable, load: Callable[[], Awaitable[Any]]) -> Any:
        if key not in self._remembered:
            self._remembered[key] = await load()
        return self._remembered[key]

    def forget(self, key: Hashable) -> None:
        """A handler changed what ``key`` remembers (a child linked): read it again when next asked."""
        self._remembered.pop(key, None)

    def add(self, key: Hashable, work: BatchWork, entry: object = None) -> None:
        self._work.setdefault(key, work)
        if entry is not None:
            self._entries.append((key, entry))

    def checkpoint(self) -> int:
        return len(self._entries)

    def rollback(self, checkpoint: int) -> None:
        del self._entries[checkpoint:]

    async def run(self, conn: Connection) -> None:
        for key, work in self._work.items():
            await work(conn, [entry for entry_key, entry in self._entries if entry_key == key])
        self._work.clear()
        self._entries.clear()


@dataclass
class InboxContext:
    conn: Connection
    config: Config
    urls: Urls
    remote_actors: RemoteActors
    now: datetime
    recipient: str
    received_at: float  # epoch seconds when the inbox accepted the item (202): judge lateness by it
    registry: Registry
    sender: RemoteActor | None = None
    queued_deliveries: bool = False
    prepared: dict[str, Any] = field(default_factory=dict)  # what the registry's preparers fetched
    once_per_batch: OncePerBatch = field(default_factory=OncePerBatch)  # shared by the batch's items

    @property
    def signer(self) -> RemoteActor:
        """The sender, for a handler registered with ``needs_sender``: the worker fetched it before."""
        if self.sender is None:
            raise PermanentError("the sender's actor could not be fetched")
        return self.sender

    async def retry_waiting(self, actor_id: str, kind: str) -> None:
        """What this item brings is what ``actor_id``'s items of ``kind`` waited for (``TryLater``:
        a tally that overtook its roll): they are retried at once, those of earlier batches and
        those of this one alike, not after their backoff."""
        await inbox_items.retry_waiting_now(self.conn, actor_id=actor_id, kind=kind, now=to_epoch(self.now))
        self.once_per_batch.woken.add((actor_id, kind))

    @property
    def chapter(self) -> str:
        return self.config.node.name

    @property
    def chapter_id(self) -> str:
        return self.urls.actor(self.chapter)


HandlerFn = Callable[[InboxContext, dict], Awaitable[None]]


@dataclass(frozen=True)
class PrepareContext:
    """What a preparer (``registry.preparers``) may use: the network, and reads outside any transaction.

    A preparer checks who the sender is BEFORE any network work (``actor_id``, the signer the
    inbox verified, against what ``reader`` shows: a linked child, a pending request), and
    returns nothing for anyone else: what it would fetch is chosen by the sender. Its actor
    fetches go through the key-fetch gate (``remote_actors`` is the gated view), other fetches
    through ``remote_actors.gate`` (see ``node.branches.software``), and the worker bounds the
    whole of an item's network work with one deadline."""

    config: Config
    urls: Urls
    remote_actors: RemoteActors
    reader: Connection
    now: datetime
    sender: RemoteActor | None = None
    actor_id: str | None = None  # the activity's actor, as the inbox verified it
    received_at: float | None = None  # when the inbox accepted the item (epoch seconds)

    @property
    def chapter_id(self) -> str:
        return self.urls.actor(self.config.node.name)


@dataclass(frozen=True)
class Handler:
    apply: HandlerFn
    needs_sender: bool = False


async def _send(ctx: InboxContext, activity: dict, inbox: str) -> None:
    await publish.record(
        ctx.conn, urls=ctx.urls, username=ctx.chapter, activity=activity, inboxes=[inbox], now=to_epoch(ctx.now)
    )
    ctx.queued_deliveries = True


async def handle_follow(ctx: InboxContext, activity: dict) -> None:
    target = id_of(activity.get("object"))
    follower = ctx.sender
    if follower is None or follower.inbox is None:
        raise PermanentError("the follower has no inbox to answer to")
    if target == ctx.urls.actor(INSTANCE_USERNAME):
        reject = vocabulary.answer(
            "Reject", ctx.urls, actor=ctx.urls.actor(INSTANCE_USERNAME), answered=activity, to=follower.id, now=ctx.now
        )
        await publish.record(
            ctx.conn,
            urls=ctx.urls,
            username=INSTANCE_USERNAME,
            activity=reject,
            inboxes=[follower.inbox],
            now=to_epoch(ctx.now),
        )
        ctx.queued_deliveries = True
        return
    if target != ctx.chapter_id:
        raise PermanentError(f"Follow of {target}, who is not an actor of this node")
    manual = ctx.config.node.manually_approves_followers
    existing = await follows.get_follower(ctx.conn, ctx.chapter, follower.id)
    already = existing is not None and existing["state"] == "accepted"
    await follows.upsert_follower(
        ctx.conn,
        username=ctx.chapter,
        follower_id=follower.id,
        follow_id=activity["id"],
        inbox=follower.inbox,
        shared_inbox=follower.shared_inbox,
        state="pending" if manual and not already else "accepted",
        now=to_epoch(ctx.now),
    )
    if manual and not already:
        return  # waits for the admin's Accept or Reject in the outbox
    accept = vocabulary.answer("Accept", ctx.urls, actor=ctx.chapter_id, answered=activity, to=follower.id, now=ctx.now)
    await _send(ctx, accept, follower.inbox)


async def undo_follow(ctx: InboxContext, undone: dict, actor_id: str) -> None:
    await follows.remove_follower(ctx.conn, ctx.chapter, actor_id)


async def undo_other(ctx: InboxContext, undone: dict, actor_id: str) -> None:
    """Undo of something this node does not keep state for: nothing to reverse."""


async def handle_undo(ctx: InboxContext, activity: dict) -> None:
    actor_id = actor_of(activity)
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
    await ctx.registry.undo_handlers.get(objects.primary_type(undone), undo_other)(ctx, undone, actor_id)


async def answer_to_our_follow(ctx: InboxContext, activity: dict, accepted: bool) -> None:
    follow_id = id_of(activity.get("object"))
    if follow_id is None:
        raise PermanentError(f"{activity['type']} names no Follow")
    following = await follows.following_by_follow_id(ctx.conn, follow_id)
    if following is None:
        if isinstance(activity.get("object"), dict):  # some servers send their own id for our Follow
            target = actor_of(activity)
            following = await follows.following_by_target(ctx.conn, ctx.chapter, target)
        if following is None:
            return  # not a follow of ours (or already undone): nothing to do
    if following["target_id"] != actor_of(activity):
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


async def handle_answer(ctx: InboxContext, activity: dict) -> None:
    target_id = id_of(activity.get("object"))
    if target_id is None:
        raise PermanentError(f"{activity['type']} names nothing it answers")
    target = await objects.get(ctx.conn, target_id) if ctx.urls.is_local(target_id) else None
    kind = target.type if target is not None else "Follow"  # a Follow of ours may be embedded under the peer's id
    handler = ctx.registry.answer_handlers.get(kind)
    if handler is not None:
        await handler(ctx, activity, target)


# Create: what matters is what the new object replies to. A reply to a local object is
# dispatched on that object's type (a vote answers a Question; a comment answers a Note...).
ReplyHandler = Callable[[InboxContext, dict, dict, "objects.StoredObject"], Awaitable[None]]


async def handle_create(ctx: InboxContext, activity: dict) -> None:
    created = activity.get("object")
    if not isinstance(created, dict):
        return  # a bare id: nothing of ours to attach it to
    parent_id = id_of(created.get("inReplyTo"))
    if parent_id is None or not ctx.urls.is_local(parent_id):
        return
    # No inbox handler writes a local object's row before the batch's end: read once per batch.
    parent = await ctx.once_per_batch.remember(("local object", parent_id), partial(objects.get, ctx.conn, parent_id))
    if parent is None or parent.deleted is not None:
        return
    handler = ctx.registry.reply_handlers.get(parent.type) or ctx.registry.reply_handlers.get("*")
    if handler is not None:
        await handler(ctx, activity, created, parent)


async def handle_delete(ctx: InboxContext, activity: dict) -> None:
    actor_id = actor_of(activity)
    object_id = id_of(activity.get("object"))
    if object_id == actor_id:  # the account is gone
        await follows.remove_actor_everywhere(ctx.conn, actor_id)
        await ctx.remote_actors.forget(ctx.conn, actor_id)
    if object_id is not None:  # every store of remote content forgets its copy (the actor's too)
        for forget in ctx.registry.remote_delete_hooks:
            await forget(ctx, object_id, actor_id)


async def handle_update(ctx: InboxContext, activity: dict) -> None:
    """An actor's Update of itself refreshes the cached document and keys (key rotation)."""
    updated = activity.get("object")
    if isinstance(updated, dict) and updated.get("id") == actor_of(activity):
        try:
            actor = actor_from_document(updated)
        except Exception as error:  # a malformed actor document is the sender's fault, not ours
            raise PermanentError(f"Update carries an unusable actor document: {error}") from None
        await ctx.remote_actors.absorb(ctx.conn, actor, now=to_epoch(ctx.now))
    elif isinstance(updated, dict) and isinstance(updated.get("id"), str):
        for refresh in ctx.registry.remote_update_hooks:
            await refresh(ctx, updated, actor_of(activity))


async def keep_only(ctx: InboxContext, activity: dict) -> None:
    """Stored in the inbox for the owner to read; nothing else to do (yet)."""


DEFAULT_HANDLER = Handler(keep_only)


def register(registry: Registry) -> None:
    """The pipeline's own handlers: the follow graph and the dispatchers features extend."""
    registry.inbound.update(
        {
            "Follow": Handler(handle_follow, needs_sender=True),
            "Undo": Handler(handle_undo),
            "Accept": Handler(handle_answer),
            "Reject": Handler(handle_answer),
            "TentativeAccept": Handler(handle_answer),
            "Create": Handler(handle_create),
            "Delete": Handler(handle_delete),
            "Update": Handler(handle_update),
        }
    )
    registry.undo_handlers["Follow"] = undo_follow
    registry.answer_handlers["Follow"] = _follow_answer


def handler_for(registry: Registry, kind: str) -> Handler:
    return registry.inbound.get(kind, DEFAULT_HANDLER)


async def run_handler(ctx: InboxContext, handler: Handler, activity: dict) -> None:
    """The handler, then the registry's "after handled" hooks and relay rules, in ``ctx.conn``'s transaction.

    Hooks are registered by activity type (``"*"``: every type). A relay rule returns the
    activity this node publishes to its own followers in turn (or a list of
    :class:`inbox.relay.Relay`, each with its own inboxes), or None; :func:`inbox.relay.relay`
    records it once, by its id, so a redelivered or retried item never relays twice.
    """
    await handler.apply(ctx, activity)
    registry = ctx.registry
    kind = objects.primary_type(activity)
    for hook in (*registry.after_handled.get(kind, ()), *registry.after_handled.get("*", ())):
        await hook(ctx, activity)
    for rule in registry.relay_rules:
        relayed = await rule(ctx, activity)
        for each in relayed if isinstance(relayed, list) else [relayed] if relayed is not None else []:
            if isinstance(each, Relay):
                await relay(ctx, each.activity, each.inboxes)
            else:
                await relay(ctx, each)
