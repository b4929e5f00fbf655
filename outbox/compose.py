"""Client-to-server publishing (ActivityPub section 6): one function per activity type.

:data:`OBJECT_COMPOSERS` does the same for what a Create publishes, by object type.
Each composer takes what the admin POSTed and returns a :class:`Composed`: the complete
activity the node will publish (ids assigned, ``published`` set, addressing completed),
plus the database changes to make. The view resolves recipients, then applies all of it
in one transaction. :data:`COMPOSERS` is the dispatch table; a bare object is wrapped in a
Create first.
"""

from __future__ import annotations

from federation.activitystreams import id_of
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from federation.actors import RemoteActors
from federation.client import FetchError
from inbox import store as inbox_store
from federation import jsonio
from node import follows, objects
from node.clock import iso, to_epoch
from node.config import Config
from node.db import Database
from node.errors import ApiError
from node.objects import PUBLIC, as_list
from node.sanitize import clean_html
from node.urls import Urls
from outbox import membership

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
EDITABLE_FIELDS = ("content", "name", "summary", "sensitive")
ADDRESS_FIELDS = ("to", "cc", "bto", "bcc")

Change = Callable[[aiosqlite.Connection], Awaitable[None]]


@dataclass
class Composed:
    activity: dict
    new_object: dict | None = None
    changes: list[Change] = field(default_factory=list)
    direct_inboxes: list[str] = field(default_factory=list)  # delivered to whatever the addressing says, too
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)  # e.g. reload a cache


@dataclass(frozen=True)
class OutboxContext:
    config: Config
    urls: Urls
    db: Database
    remote_actors: RemoteActors
    username: str
    now: Any  # datetime
    blocklist: Any = None  # node.blocks.BlockList, for the Block composer

    @property
    def actor_id(self) -> str:
        return self.urls.actor(self.username)


def _bad(message: str, hint: str | None = None) -> ApiError:
    return ApiError(400, message, hint=hint)



def _addressing(ctx: OutboxContext, *sources: dict) -> dict:
    """The addressing given on the activity or its object, or public + followers by default."""
    fields: dict[str, list] = {}
    for name in ADDRESS_FIELDS:
        values: dict[str, None] = {}
        for source in sources:
            for value in as_list(source.get(name)):
                if not isinstance(value, str):
                    raise _bad(f"{name} must hold actor or collection ids (strings)")
                values.setdefault(value, None)
        if values:
            fields[name] = list(values)
    if not fields:
        fields = {"to": [PUBLIC], "cc": [ctx.urls.followers(ctx.username)]}
    return fields


def _public_part(addressing: dict) -> dict:
    """bto and bcc are for delivery only; they never appear in what is served."""
    return {k: v for k, v in addressing.items() if k in ("to", "cc")}


def _sanitised(obj: dict) -> dict:
    clean = {}
    for name in ("content", "name", "summary"):
        if name in obj:
            if not isinstance(obj[name], str):
                raise _bad(f"object.{name} must be a string")
            clean[name] = clean_html(obj[name]) if name != "name" else obj[name]
    if "sensitive" in obj:
        if not isinstance(obj["sensitive"], bool):
            raise _bad("object.sensitive must be true or false")
        clean["sensitive"] = obj["sensitive"]
    return clean


async def _own_object(ctx: OutboxContext, activity: dict) -> objects.StoredObject:
    object_id = id_of(activity.get("object"))
    if object_id is None:
        raise _bad(f"{activity['type']} needs an object id")
    stored = await objects.get(ctx.db.reader, object_id)
    if stored is None or stored.kind != "object":
        raise ApiError(404, f"no object {object_id} was published here")
    if stored.author != ctx.username:
        raise ApiError(403, f"{object_id} was published by another actor")
    if stored.deleted is not None:
        raise ApiError(410, f"{object_id} was deleted; a deleted id is never reused")
    return stored


def create_of(ctx: OutboxContext, new_object: dict, addressing: dict) -> dict:
    """The Create activity for a newly composed object (embedded without its @context)."""
    return {
        "@context": new_object.get("@context", AS_CONTEXT), "id": ctx.urls.new_activity_id(), "type": "Create",
        "actor": ctx.actor_id, "published": new_object["published"], **addressing,
        "object": {k: v for k, v in new_object.items() if k != "@context"},
    }


async def compose_post(ctx: OutboxContext, activity: dict, obj: dict) -> Composed:
    """A Note or Article: sanitised HTML, ids and dates assigned, addressed."""
    body = _sanitised(obj)
    if not body.get("content") and not body.get("name"):
        raise _bad("the object needs content (or, for an Article, a name)")
    addressing = _addressing(ctx, activity, obj)
    object_id = ctx.urls.new_object_id()
    new_object = {
        "@context": AS_CONTEXT, "id": object_id, "type": obj["type"], "attributedTo": ctx.actor_id,
        **body, "published": iso(ctx.now), "url": object_id, **_public_part(addressing),
    }
    for optional in ("inReplyTo",):
        if isinstance(obj.get(optional), str):
            new_object[optional] = obj[optional]
    return Composed(activity=create_of(ctx, new_object, addressing), new_object=new_object)


ObjectComposer = Callable[[OutboxContext, dict, dict], Awaitable[Composed]]

# What a Create can publish, by the object's type: (activity, object) -> Composed.
OBJECT_COMPOSERS: dict[str, ObjectComposer] = {"Note": compose_post, "Article": compose_post}

# Kinds whose Update or Delete is more than one stored object changing (minutes: an Article and
# its announcement Note), or that validate their own fields (an Event's times), register here,
# by :func:`kind_of` the stored object: (activity, stored object) -> Composed.
StoredComposer = Callable[[OutboxContext, dict, objects.StoredObject], Awaitable[Composed]]
UPDATE_COMPOSERS: dict[str, StoredComposer] = {}
DELETE_COMPOSERS: dict[str, StoredComposer] = {}


def kind_of(stored: objects.StoredObject) -> str:
    """A stored object's kind: its ``postKind`` (e.g. "minutes") when it has one, else its type."""
    kind = stored.data.get("postKind")
    return kind if isinstance(kind, str) else stored.type


async def compose_create(ctx: OutboxContext, activity: dict) -> Composed:
    obj = activity.get("object")
    kind = obj.get("type") if isinstance(obj, dict) else None
    composer = OBJECT_COMPOSERS.get(kind) if isinstance(kind, str) else None
    if composer is None:
        raise _bad(f"Create needs an object of type {' or '.join(OBJECT_COMPOSERS)}")
    return await composer(ctx, activity, obj)


# What an Update may not change, by the stored object's type: (stored data, changes) -> raise ApiError.
UpdateGuard = Callable[[dict, dict], None]
UPDATE_GUARDS: dict[str, UpdateGuard] = {}


async def compose_update(ctx: OutboxContext, activity: dict) -> Composed:
    stored = await _own_object(ctx, activity)
    if kind_of(stored) in UPDATE_COMPOSERS:
        return await UPDATE_COMPOSERS[kind_of(stored)](ctx, activity, stored)
    changes = activity.get("object")
    if not isinstance(changes, dict):
        raise _bad("Update needs the object with the fields to change", hint=f"editable: {', '.join(EDITABLE_FIELDS)}")
    if "type" in changes and changes["type"] != stored.type:
        raise _bad(f"an object's type cannot change ({stored.type} stays {stored.type})")
    guard = UPDATE_GUARDS.get(stored.type)
    if guard is not None:
        guard(stored.data, changes)
    body = _sanitised(changes)
    if not body:
        raise _bad("nothing to change", hint=f"editable: {', '.join(EDITABLE_FIELDS)}")
    updated_object = {**stored.data, **body, "updated": iso(ctx.now)}
    update = {
        "@context": stored.data.get("@context", AS_CONTEXT), "id": ctx.urls.new_activity_id(), "type": "Update",
        "actor": ctx.actor_id,
        "published": iso(ctx.now), **_public_part(_addressing(ctx, stored.data)),
        "object": {k: v for k, v in updated_object.items() if k != "@context"},
    }

    async def save(conn: aiosqlite.Connection) -> None:
        await objects.replace_data(conn, stored.id, updated_object, updated=to_epoch(ctx.now))

    return Composed(activity=update, changes=[save])


async def compose_delete(ctx: OutboxContext, activity: dict) -> Composed:
    stored = await _own_object(ctx, activity)
    if kind_of(stored) in DELETE_COMPOSERS:
        return await DELETE_COMPOSERS[kind_of(stored)](ctx, activity, stored)
    tombstone = {"@context": AS_CONTEXT, "id": stored.id, "type": "Tombstone", "formerType": stored.type,
                 "published": stored.data.get("published"), "deleted": iso(ctx.now)}
    delete = {
        "@context": AS_CONTEXT, "id": ctx.urls.new_activity_id(), "type": "Delete", "actor": ctx.actor_id,
        "published": iso(ctx.now), **_public_part(_addressing(ctx, stored.data)),
        "object": {"id": stored.id, "type": "Tombstone", "formerType": stored.type},
    }

    async def save(conn: aiosqlite.Connection) -> None:
        await objects.replace_data(conn, stored.id, tombstone, updated=to_epoch(ctx.now), deleted=to_epoch(ctx.now))
        await objects.unfeature(conn, ctx.username, stored.id)

    return Composed(activity=delete, changes=[save])


async def compose_follow(ctx: OutboxContext, activity: dict) -> Composed:
    target = id_of(activity.get("object"))
    if target is None or ctx.urls.is_local(target):
        raise _bad("Follow needs the id of a remote actor as its object")
    try:
        remote = await ctx.remote_actors.get_actor(target)
    except FetchError as error:
        raise ApiError(422, f"could not fetch the actor {target}: {error.reason}",
                       hint="check the address; the actor's server must be reachable") from None
    follow = {"@context": AS_CONTEXT, "id": ctx.urls.new_activity_id(), "type": "Follow", "actor": ctx.actor_id,
              "object": remote.id, "to": [remote.id], "published": iso(ctx.now)}

    async def save(conn: aiosqlite.Connection) -> None:
        await follows.insert_following(conn, username=ctx.username, target_id=remote.id, follow_id=follow["id"],
                                       now=to_epoch(ctx.now))

    return Composed(activity=follow, changes=[save])


async def _undo_follow(ctx: OutboxContext, original: objects.StoredObject) -> Composed:
    following = await follows.following_by_follow_id(ctx.db.reader, original.id)
    if following is None:
        raise ApiError(404, f"{original.id} is no longer a current Follow of this actor")
    undo = {"@context": AS_CONTEXT, "id": ctx.urls.new_activity_id(), "type": "Undo", "actor": ctx.actor_id,
            "object": {k: v for k, v in original.data.items() if k != "@context"},
            "to": [following["target_id"]], "published": iso(ctx.now)}

    async def save(conn: aiosqlite.Connection) -> None:
        await follows.remove_following(conn, original.id)

    return Composed(activity=undo, changes=[save])


# What an Undo can take back, by the type of our original activity.
UNDO_COMPOSERS: dict[str, Callable[[OutboxContext, objects.StoredObject], Awaitable[Composed]]] = {
    "Follow": _undo_follow,
}


async def compose_undo(ctx: OutboxContext, activity: dict) -> Composed:
    original_id = id_of(activity.get("object"))
    if original_id is None:
        raise _bad("Undo needs the id of the activity to undo")
    original = await objects.get(ctx.db.reader, original_id)
    if original is None or original.kind != "activity" or original.author != ctx.username:
        raise ApiError(404, f"{original_id} is not an activity of this actor")
    composer = UNDO_COMPOSERS.get(original.type)
    if composer is None:
        raise _bad(f"a {original.type} cannot be undone here", hint=f"these can: {', '.join(UNDO_COMPOSERS)}")
    return await composer(ctx, original)


async def _answer_follow(ctx: OutboxContext, activity: dict, kind: str) -> Composed:
    follow_id = id_of(activity.get("object"))
    if follow_id is None:
        raise _bad(f"{kind} needs the id of the pending Follow")
    follower = await follows.follower_by_follow_id(ctx.db.reader, ctx.username, follow_id)
    if follower is None or follower["state"] != "pending":
        raise ApiError(404, f"{follow_id} is not a pending follow request", hint="pending requests are in the inbox")
    received = await inbox_store.get_by_activity_id(ctx.db.reader, follow_id)
    original = jsonio.loads(received["body"]) if received else {"id": follow_id, "type": "Follow",
                                                                 "actor": follower["follower_id"], "object": ctx.actor_id}
    answer = {"@context": AS_CONTEXT, "id": ctx.urls.new_activity_id(), "type": kind, "actor": ctx.actor_id,
              "object": {k: v for k, v in original.items() if k != "@context"},
              "to": [follower["follower_id"]], "published": iso(ctx.now)}

    async def save(conn: aiosqlite.Connection) -> None:
        if kind == "Accept":
            await follows.set_follower_state(conn, ctx.username, follower["follower_id"], "accepted")
        else:
            await follows.remove_follower(conn, ctx.username, follower["follower_id"])

    return Composed(activity=answer, changes=[save], direct_inboxes=[follower["inbox"]])


def _from_membership(change: membership.MembershipChange) -> Composed:
    return Composed(activity=change.activity, changes=[change.save])


async def compose_accept(ctx: OutboxContext, activity: dict) -> Composed:
    join_answer = await membership.compose_join_answer(ctx, activity, "Accept")
    if join_answer is not None:
        return _from_membership(join_answer)
    return await _answer_follow(ctx, activity, "Accept")


async def compose_reject(ctx: OutboxContext, activity: dict) -> Composed:
    join_answer = await membership.compose_join_answer(ctx, activity, "Reject")
    if join_answer is not None:
        return _from_membership(join_answer)
    return await _answer_follow(ctx, activity, "Reject")


async def _pin(ctx: OutboxContext, activity: dict, kind: str) -> Composed:
    stored = await _own_object(ctx, activity)
    pin = {"@context": AS_CONTEXT, "id": ctx.urls.new_activity_id(), "type": kind, "actor": ctx.actor_id,
           "object": stored.id, "target": ctx.urls.featured(ctx.username), "published": iso(ctx.now),
           **_public_part(_addressing(ctx, stored.data))}  # never a wider audience than the object's

    async def save(conn: aiosqlite.Connection) -> None:
        if kind == "Add":
            await objects.feature(conn, ctx.username, stored.id, to_epoch(ctx.now))
        else:
            await objects.unfeature(conn, ctx.username, stored.id)

    return Composed(activity=pin, changes=[save])


async def _member(ctx: OutboxContext, activity: dict, kind: str) -> Composed:
    return _from_membership(await membership.compose_member_change(ctx, activity, kind))


# Add / Remove dispatch on their target: the local collection, by its name in Urls.
COLLECTION_COMPOSERS: dict[str, Callable[[OutboxContext, dict, str], Awaitable[Composed]]] = {
    "featured": _pin,
    "members": _member,
}


async def _add_or_remove(ctx: OutboxContext, activity: dict, kind: str) -> Composed:
    target = id_of(activity.get("target"))
    for collection, composer in COLLECTION_COMPOSERS.items():
        if target == getattr(ctx.urls, collection)(ctx.username):
            return await composer(ctx, activity, kind)
    targets = [getattr(ctx.urls, collection)(ctx.username) for collection in COLLECTION_COMPOSERS]
    raise _bad(f"{kind} is supported with target = the {' or '.join(COLLECTION_COMPOSERS)} collection",
               hint=", ".join(targets))


async def compose_add(ctx: OutboxContext, activity: dict) -> Composed:
    return await _add_or_remove(ctx, activity, "Add")


async def compose_remove(ctx: OutboxContext, activity: dict) -> Composed:
    return await _add_or_remove(ctx, activity, "Remove")


COMPOSERS: dict[str, Callable[[OutboxContext, dict], Awaitable[Composed]]] = {
    "Create": compose_create,
    "Update": compose_update,
    "Delete": compose_delete,
    "Follow": compose_follow,
    "Undo": compose_undo,
    "Accept": compose_accept,
    "Reject": compose_reject,
    "Add": compose_add,
    "Remove": compose_remove,
}


def as_activity(body: dict) -> dict:
    """A bare object becomes the object of a Create (ActivityPub 6.2.1)."""
    if body.get("type") in OBJECT_COMPOSERS:
        wrapper = {"type": "Create", "object": body}
        for name in ADDRESS_FIELDS:
            if name in body:
                wrapper[name] = body[name]
        return wrapper
    return body
