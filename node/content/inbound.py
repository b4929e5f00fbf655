"""Handlers for what the fediverse does with the chapter's content: replies, likes, boosts, answers.

Registered by :func:`register` in :mod:`inbox.handlers`' tables:

- ``registry.reply_handlers["*"]``: a ``Create`` of a Note (Article, Page) replying to any local object
  without a more specific handler is kept as that object's thread (:mod:`node.content.interactions`),
  with its HTML sanitised. Its id must be on its actor's host and its ``attributedTo`` must be
  its actor, or it goes dead with the reason (a forged reply can not be slipped into a thread).
- ``registry.inbound["Like"]`` / ``["Announce"]`` of a local object are counted, once per
  actor; ``registry.undo_handlers`` for both take them back.
- ``registry.remote_delete_hooks``: a ``Delete`` of a reply by its author removes it; the ``Delete``
  of an account removes all its replies, likes, boosts and event answers. ``registry.remote_update_hooks``: an
  author's ``Update`` of a kept reply replaces it.
- ``registry.answer_handlers["Event"]``: ``Accept`` / ``Reject`` / ``TentativeAccept`` of a local Event
  record the actor's answer (:mod:`node.content.events`: everyone's is kept, members' are counted);
  an answer to a deleted object (a ``Tombstone``) goes dead with the reason.

Replies to replies are not followed (only direct replies to a local object are kept).
"""

from __future__ import annotations

from datetime import datetime
from typing import NoReturn
from urllib.parse import urlsplit

from federation.activitystreams import actor_of
from inbox.handlers import Handler, InboxContext, PermanentError, id_of
from node.content import events, interactions
from node.core import objects
from node.core.clock import iso, to_epoch
from node.core.registry import Registry
from node.core.sanitize import clean_html

REPLY_TYPES = ("Note", "Article", "Page")
REACTIONS = {"Like": "like", "Announce": "announce"}


def _host(url: str) -> str:
    return urlsplit(url).netloc.lower()


def _same_host_as_actor(what: str, object_id, actor_id: str) -> None:
    if not isinstance(object_id, str) or _host(object_id) != _host(actor_id) or not _host(object_id):
        raise PermanentError(
            f"{what} {object_id!r} is not on its actor's host ({_host(actor_id)}):"
            " an object's host must equal its actor's host"
        )


def _published(value, fallback: float) -> float:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    return moment.timestamp() if moment is not None and moment.tzinfo is not None else fallback


def _kept_reply(created: dict, actor_id: str, parent_id: str, now) -> dict:
    """What the thread keeps of a reply: its identity, addressing and sanitised HTML."""
    reply = {
        "id": created["id"],
        "type": created["type"],
        "attributedTo": actor_id,
        "inReplyTo": parent_id,
        "content": clean_html(created["content"]) if isinstance(created.get("content"), str) else "",
        "published": created["published"] if isinstance(created.get("published"), str) else iso(now),
    }
    for name in ("name", "summary", "url", "updated"):
        if isinstance(created.get(name), str):
            reply[name] = clean_html(created[name]) if name == "summary" else created[name]
    for name in ("to", "cc"):
        reply[name] = [x for x in objects.as_list(created.get(name)) if isinstance(x, str)]
    if isinstance(created.get("sensitive"), bool):
        reply["sensitive"] = created["sensitive"]
    return reply


def _check_author(created: dict, actor_id: str) -> None:
    _same_host_as_actor("the reply", created.get("id"), actor_id)
    author = id_of(created.get("attributedTo"))
    if author is not None and author != actor_id:
        raise PermanentError(f"{actor_id} sent a reply attributed to {author}")


async def keep_reply(ctx: InboxContext, activity: dict, created: dict, parent: objects.StoredObject) -> None:
    if created.get("type") not in REPLY_TYPES:
        return  # not a comment (a vote on something that is not a poll, ...): kept in the inbox only
    actor_id = actor_of(activity)
    _check_author(created, actor_id)
    reply = _kept_reply(created, actor_id, parent.id, ctx.now)
    # followers-only and direct replies are kept but not shown: the author's followers are not ours to know
    visibility = objects.visibility_of(reply, followers_url="")
    await interactions.insert_reply(
        ctx.conn,
        reply=reply,
        object_id=parent.id,
        actor_id=actor_id,
        visibility=visibility,
        published=_published(reply["published"], to_epoch(ctx.now)),
        now=to_epoch(ctx.now),
    )


async def refresh_reply(ctx: InboxContext, updated: dict, actor_id: str) -> None:
    kept = await interactions.get_reply(ctx.conn, updated["id"])
    if kept is None or kept["attributedTo"] != actor_id:
        return
    _check_author(updated, actor_id)
    reply = {**_kept_reply({**kept, **updated}, actor_id, kept["inReplyTo"], ctx.now), "updated": iso(ctx.now)}
    await interactions.update_reply(
        ctx.conn, reply_id=updated["id"], actor_id=actor_id, reply=reply, now=to_epoch(ctx.now)
    )


async def forget_deleted(ctx: InboxContext, object_id: str, actor_id: str) -> None:
    if object_id == actor_id:
        await interactions.delete_everything_of(ctx.conn, actor_id)
        await events.forget_actor(ctx.conn, actor_id)
    else:
        await interactions.delete_by_author(ctx.conn, object_id, actor_id)


async def _local_target(ctx: InboxContext, activity: dict) -> objects.StoredObject | None:
    target_id = id_of(activity.get("object"))
    if target_id is None or not ctx.urls.is_local(target_id):
        return None  # a boost of someone else's post (group relays): nothing of ours to count
    target = await objects.get(ctx.conn, target_id)
    if target is None or target.kind != "object" or target.deleted is not None:
        return None
    return target


async def count_reaction(ctx: InboxContext, activity: dict) -> None:
    target = await _local_target(ctx, activity)
    if target is None:
        return
    actor_id = actor_of(activity)
    _same_host_as_actor(f"the {activity['type']}", activity.get("id"), actor_id)
    await interactions.add_reaction(
        ctx.conn,
        kind=REACTIONS[activity["type"]],
        activity_id=activity["id"],
        object_id=target.id,
        actor_id=actor_id,
        now=to_epoch(ctx.now),
    )


async def undo_reaction(ctx: InboxContext, undone: dict, actor_id: str) -> None:
    await interactions.remove_reaction(
        ctx.conn,
        kind=REACTIONS[undone["type"]],
        actor_id=actor_id,
        activity_id=id_of(undone),
        object_id=id_of(undone.get("object")),
    )


async def answer_event(ctx: InboxContext, activity: dict, event: objects.StoredObject | None) -> None:
    if event is None or event.deleted is not None:
        await answer_deleted(ctx, activity, event)
    await events.record_answer(
        ctx.conn,
        event_id=event.id,
        actor_id=actor_of(activity),
        answer=events.ANSWERS_BY_ACTIVITY[activity["type"]],
        activity_id=activity.get("id"),
        now=to_epoch(ctx.now),
    )


async def answer_deleted(ctx: InboxContext, activity: dict, target: objects.StoredObject | None) -> NoReturn:
    """An answer to something that was deleted (a deleted Event is a Tombstone): never recorded."""
    former = target.data.get("formerType", "object") if target is not None else "object"
    raise PermanentError(
        f"{activity['type']} of {id_of(activity.get('object'))}, a {former} that was deleted:"
        " answers are no longer recorded"
    )


def register(registry: Registry) -> None:
    """Replies, reactions and answers to an Event, in the application's registry."""
    registry.reply_handlers["*"] = keep_reply
    registry.answer_handlers["Event"] = answer_event
    registry.answer_handlers["Tombstone"] = answer_deleted
    for kind in REACTIONS:
        registry.inbound[kind] = Handler(count_reaction)
        registry.undo_handlers[kind] = undo_reaction
    registry.remote_delete_hooks.append(forget_deleted)
    registry.remote_update_hooks.append(refresh_reply)
