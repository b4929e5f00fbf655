"""Client-to-server publishing (ActivityPub section 6): one composer per activity type.

Composers are looked up in the application's registry: ``registry.composers`` by activity
type (this module registers Create, Update, Delete, Follow, Undo, Accept, Reject, Add and
Remove; features add Block and Flag), ``registry.object_composers`` by what a Create
publishes (Note and Article here; Question, Survey, Event and minutes from their rooms).
Each composer takes what the admin POSTed and returns a :class:`Composed`: the complete
activity the node will publish (ids assigned, ``published`` set, addressing completed),
plus the database changes to make. The service resolves recipients, then applies all of
it in one transaction. A bare object is wrapped in a Create first, with its ``to``, ``cc``,
``bto``, ``bcc`` and ``audience`` copied to the Create; a Create's addressing and its object's
are merged, so each carries both (ActivityPub 6.2, 6.2.1).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from federation import jsonio
from federation.activitystreams import id_of
from federation.actors import RemoteActors
from federation.client import FetchError
from node.core import follows, inbox_items, objects, vocabulary
from node.core.clock import iso, to_epoch
from node.core.config import Config
from node.core.db import Connection, Store
from node.core.errors import ApiError
from node.core.keys import KeyRing
from node.core.objects import PUBLIC, as_list
from node.core.ports import Blocks
from node.core.registry import Registry
from node.core.sanitize import clean_html
from node.core.urls import Urls
from node.core.vocabulary import ADDRESS_FIELDS, AS_CONTEXT, DELIVERY_FIELDS, served_addressing, with_language

EDITABLE_FIELDS = ("content", "name", "summary", "sensitive")

Change = Callable[[Connection], Awaitable[None]]


@dataclass
class Composed:
    activity: dict
    new_object: dict | None = None
    changes: list[Change] = field(default_factory=list)
    direct_inboxes: list[str] = field(default_factory=list)  # delivered to whatever the addressing says, too
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)  # e.g. reload a cache

    @property
    def created(self) -> dict:
        """The new object of a composer that makes one (a Note, an Article, ...): always set there."""
        if self.new_object is None:
            raise LookupError(f"the {self.activity.get('type')} composed made no new object")
        return self.new_object


@dataclass(frozen=True)
class Authoring:
    """What building a document and its activity needs: who writes, when, where ids live. An inbox
    handler that publishes inside its own transaction (the decisions room) builds with this alone."""

    config: Config
    urls: Urls
    remote_actors: RemoteActors
    username: str
    now: datetime
    registry: Registry = field(default_factory=Registry)

    @property
    def actor_id(self) -> str:
        return self.urls.actor(self.username)


@dataclass(frozen=True, kw_only=True)
class OutboxContext(Authoring):
    """A composer's context (``registry.composers``): authoring, and the database it reads."""

    db: Store
    blocklist: Blocks  # for the Block composer, which reloads it
    keyring: KeyRing  # for composers that sign what they publish (a proposal)


def _bad(message: str, hint: str | None = None) -> ApiError:
    return ApiError(400, message, hint=hint)


def _addressing(ctx: OutboxContext, *sources: dict) -> dict:
    """The addressing given on the activity or its object, merged (ActivityPub 6.2: a Create and
    its object carry the same ``to``, ``cc``, ``bto``, ``bcc`` and ``audience``), or public +
    followers by default when none of to/cc/bto/bcc is given (an ``audience`` alone keeps it)."""
    fields: dict[str, list] = {}
    for name in DELIVERY_FIELDS:
        values: dict[str, None] = {}
        for source in sources:
            for value in as_list(source.get(name)):
                if not isinstance(value, str):
                    raise _bad(f"{name} must hold actor or collection ids (strings)")
                values.setdefault(value, None)
        if values:
            fields[name] = list(values)
    if not fields.keys() & set(ADDRESS_FIELDS):
        fields = {"to": [PUBLIC], "cc": [ctx.urls.followers(ctx.username)], **fields}
    return fields


_public_part = served_addressing


def _sanitised(obj: dict) -> dict:
    """The editable fields given (HTML sanitised); a ``null`` one counts as not given."""
    clean = {}
    for name in ("content", "name", "summary"):
        if obj.get(name) is not None:
            if not isinstance(obj[name], str):
                raise _bad(f"object.{name} must be a string (or null to leave it out)")
            clean[name] = clean_html(obj[name]) if name != "name" else obj[name]
    if obj.get("sensitive") is not None:
        if not isinstance(obj["sensitive"], bool):
            raise _bad("object.sensitive must be true or false (or null to leave it out)")
        clean["sensitive"] = obj["sensitive"]
    return clean


def _removed(changes: dict) -> set[str]:
    """The editable fields a partial Update sets to ``null``: removed (ActivityPub 6.3.1)."""
    return {name for name in EDITABLE_FIELDS if name in changes and changes[name] is None}


def known_type(value, known) -> str | None:
    """Of an ActivityStreams ``type`` (one string, or a list of them), the first one in ``known``."""
    return next((t for t in as_list(value) if isinstance(t, str) and t in known), None)


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


def create_of(ctx: Authoring, new_object: dict, addressing: dict) -> dict:
    """The Create activity for a newly composed object (embedded without its @context)."""
    return vocabulary.activity(
        "Create",
        ctx.urls,
        actor=ctx.actor_id,
        now=ctx.now,
        object=new_object,
        context_value=new_object.get("@context", AS_CONTEXT),
        published=new_object["published"],
        **addressing,
    )


async def compose_post(ctx: OutboxContext, activity: dict, obj: dict) -> Composed:
    """A Note or Article: sanitised HTML, ids and dates assigned, addressed. Every property is
    optional (ActivityStreams): a bare Note with only its addressing is a Note; several types
    are kept as given."""
    body = _sanitised(obj)
    addressing = _addressing(ctx, activity, obj)
    object_id = ctx.urls.new_object_id()
    new_object = with_language(
        {
            "@context": AS_CONTEXT,
            "id": object_id,
            "type": obj["type"],
            "attributedTo": ctx.actor_id,
            **body,
            "published": iso(ctx.now),
            "url": object_id,
            **_public_part(addressing),
        },
        ctx.config.node.language,
    )
    for optional in ("inReplyTo",):
        if isinstance(obj.get(optional), str):
            new_object[optional] = obj[optional]
    return Composed(activity=create_of(ctx, new_object, addressing), new_object=new_object)


ObjectComposer = Callable[[OutboxContext, dict, dict], Awaitable[Composed]]
# Kinds whose Update or Delete is more than one stored object changing (minutes: an Article and
# its announcement Note), or that validate their own fields (an Event's times), register in
# ``registry.update_composers`` / ``delete_composers`` by :func:`kind_of` the stored object.
StoredComposer = Callable[[OutboxContext, dict, objects.StoredObject], Awaitable[Composed]]


def kind_of(stored: objects.StoredObject) -> str:
    """A stored object's kind: its ``postKind`` (e.g. "minutes") when it has one, else its type."""
    kind = stored.data.get("postKind")
    return kind if isinstance(kind, str) else stored.type


async def compose_create(ctx: OutboxContext, activity: dict) -> Composed:
    obj = activity.get("object")
    kind = known_type(obj.get("type"), ctx.registry.object_composers) if isinstance(obj, dict) else None
    composer = ctx.registry.object_composers.get(kind) if kind is not None else None
    if composer is None:
        raise _bad(f"Create needs an object of type {' or '.join(ctx.registry.object_composers)}")
    return await composer(ctx, activity, obj)


# What an Update may not change (``registry.update_guards``, by the stored object's type):
# (stored data, changes) -> raise ApiError.
UpdateGuard = Callable[[dict, dict], None]


async def compose_update(ctx: OutboxContext, activity: dict) -> Composed:
    stored = await _own_object(ctx, activity)
    if kind_of(stored) in ctx.registry.update_composers:
        return await ctx.registry.update_composers[kind_of(stored)](ctx, activity, stored)
    changes = activity.get("object")
    if not isinstance(changes, dict):
        raise _bad("Update needs the object with the fields to change", hint=f"editable: {', '.join(EDITABLE_FIELDS)}")
    if "type" in changes and objects.primary_type(changes) != stored.type:
        raise _bad(f"an object's type cannot change ({stored.type} stays {stored.type})")
    guard = ctx.registry.update_guards.get(stored.type)
    if guard is not None:
        guard(stored.data, changes)
    body, removed = _sanitised(changes), _removed(changes)  # an Update that changes nothing is still an Update
    kept = {k: v for k, v in stored.data.items() if k not in removed}
    updated_object = with_language({**kept, **body, "updated": iso(ctx.now)}, ctx.config.node.language)
    update = vocabulary.activity(
        "Update",
        ctx.urls,
        actor=ctx.actor_id,
        now=ctx.now,
        object=updated_object,
        context_value=stored.data.get("@context", AS_CONTEXT),
        **_public_part(_addressing(ctx, stored.data)),
    )

    async def save(conn: Connection) -> None:
        await objects.replace_data(conn, stored.id, updated_object, updated=to_epoch(ctx.now))

    return Composed(activity=update, changes=[save])


async def compose_delete(ctx: OutboxContext, activity: dict) -> Composed:
    stored = await _own_object(ctx, activity)
    if kind_of(stored) in ctx.registry.delete_composers:
        return await ctx.registry.delete_composers[kind_of(stored)](ctx, activity, stored)
    tombstone = {
        "@context": AS_CONTEXT,
        "id": stored.id,
        "type": "Tombstone",
        "formerType": stored.type,
        "published": stored.data.get("published"),
        "deleted": iso(ctx.now),
    }
    delete = vocabulary.activity(
        "Delete",
        ctx.urls,
        actor=ctx.actor_id,
        now=ctx.now,
        object={"id": stored.id, "type": "Tombstone", "formerType": stored.type},
        **_public_part(_addressing(ctx, stored.data)),
    )

    async def save(conn: Connection) -> None:
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
        raise ApiError(
            422,
            f"could not fetch the actor {target}: {error.reason}",
            hint="check the address; the actor's server must be reachable",
        ) from None
    follow = vocabulary.activity("Follow", ctx.urls, actor=ctx.actor_id, now=ctx.now, object=remote.id, to=[remote.id])

    async def save(conn: Connection) -> None:
        await follows.insert_following(
            conn, username=ctx.username, target_id=remote.id, follow_id=follow["id"], now=to_epoch(ctx.now)
        )

    return Composed(activity=follow, changes=[save])


async def _undo_follow(ctx: OutboxContext, original: objects.StoredObject) -> Composed:
    following = await follows.following_by_follow_id(ctx.db.reader, original.id)
    if following is None:
        raise ApiError(404, f"{original.id} is no longer a current Follow of this actor")
    undo = vocabulary.activity(
        "Undo", ctx.urls, actor=ctx.actor_id, now=ctx.now, object=original.data, to=[following["target_id"]]
    )

    async def save(conn: Connection) -> None:
        await follows.remove_following(conn, original.id)

    return Composed(activity=undo, changes=[save])


async def compose_undo(ctx: OutboxContext, activity: dict) -> Composed:
    original_id = id_of(activity.get("object"))
    if original_id is None:
        raise _bad("Undo needs the id of the activity to undo")
    original = await objects.get(ctx.db.reader, original_id)
    if original is None or original.kind != "activity" or original.author != ctx.username:
        raise ApiError(404, f"{original_id} is not an activity of this actor")
    composer = ctx.registry.undo_composers.get(original.type)
    if composer is None:
        raise _bad(
            f"a {original.type} cannot be undone here", hint=f"these can: {', '.join(ctx.registry.undo_composers)}"
        )
    return await composer(ctx, original)


async def _answer_follow(ctx: OutboxContext, activity: dict, kind: str) -> Composed:
    follow_id = id_of(activity.get("object"))
    if follow_id is None:
        raise _bad(f"{kind} needs the id of the pending Follow")
    follower = await follows.follower_by_follow_id(ctx.db.reader, ctx.username, follow_id)
    if follower is None or follower["state"] != "pending":
        raise ApiError(404, f"{follow_id} is not a pending follow request", hint="pending requests are in the inbox")
    received = await inbox_items.get_by_activity_id(ctx.db.reader, follow_id)
    original = (
        jsonio.loads(received["body"])
        if received
        else {"id": follow_id, "type": "Follow", "actor": follower["follower_id"], "object": ctx.actor_id}
    )
    answer = vocabulary.answer(
        kind, ctx.urls, actor=ctx.actor_id, answered=original, to=follower["follower_id"], now=ctx.now
    )

    async def save(conn: Connection) -> None:
        if kind == "Accept":
            await follows.set_follower_state(conn, ctx.username, follower["follower_id"], "accepted")
        else:
            await follows.remove_follower(conn, ctx.username, follower["follower_id"])

    return Composed(activity=answer, changes=[save], direct_inboxes=[follower["inbox"]])


async def _compose_answer(ctx: OutboxContext, activity: dict, kind: str) -> Composed:
    """Accept / Reject: of whatever a feature recognises (a Join), else of a pending Follow."""
    for compose_answer in ctx.registry.answer_composers:
        composed = await compose_answer(ctx, activity, kind)
        if composed is not None:
            return composed
    return await _answer_follow(ctx, activity, kind)


async def compose_accept(ctx: OutboxContext, activity: dict) -> Composed:
    return await _compose_answer(ctx, activity, "Accept")


async def compose_reject(ctx: OutboxContext, activity: dict) -> Composed:
    return await _compose_answer(ctx, activity, "Reject")


async def _pin(ctx: OutboxContext, activity: dict, kind: str) -> Composed:
    stored = await _own_object(ctx, activity)
    pin = vocabulary.activity(
        kind,
        ctx.urls,
        actor=ctx.actor_id,
        now=ctx.now,
        object=stored.id,
        target=ctx.urls.featured(ctx.username),
        **_public_part(_addressing(ctx, stored.data)),
    )  # never a wider audience than the object's

    async def save(conn: Connection) -> None:
        if kind == "Add":
            await objects.feature(conn, ctx.username, stored.id, to_epoch(ctx.now))
        else:
            await objects.unfeature(conn, ctx.username, stored.id)

    return Composed(activity=pin, changes=[save])


async def _add_or_remove(ctx: OutboxContext, activity: dict, kind: str) -> Composed:
    target = id_of(activity.get("target"))
    collections = ctx.registry.collection_composers  # by the target collection's name (Urls.collection)
    for collection, composer in collections.items():
        if target == ctx.urls.collection(ctx.username, collection):
            return await composer(ctx, activity, kind)
    targets = [ctx.urls.collection(ctx.username, collection) for collection in collections]
    raise _bad(f"{kind} is supported with target = the {' or '.join(collections)} collection", hint=", ".join(targets))


async def compose_add(ctx: OutboxContext, activity: dict) -> Composed:
    return await _add_or_remove(ctx, activity, "Add")


async def compose_remove(ctx: OutboxContext, activity: dict) -> Composed:
    return await _add_or_remove(ctx, activity, "Remove")


def register(registry: Registry) -> None:
    """The outbox's own composers; features add theirs to the same tables."""
    registry.composers.update(
        {
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
    )
    registry.object_composers.update({"Note": compose_post, "Article": compose_post})
    registry.undo_composers["Follow"] = _undo_follow
    registry.collection_composers["featured"] = _pin


def as_activity(registry: Registry, body: dict) -> dict:
    """A bare object becomes the object of a Create (ActivityPub 6.2.1)."""
    if known_type(body.get("type"), registry.composers) is None and known_type(
        body.get("type"), registry.object_composers
    ):
        wrapper = {"type": "Create", "object": body}
        for name in DELIVERY_FIELDS:  # to, cc, bto, bcc and audience
            if name in body:
                wrapper[name] = body[name]
        return wrapper
    return body
