"""Composers for the chapter's content: news and blog posts, minutes, events.

Registered by :func:`register` in the application's registry:

- ``Note`` / ``Article`` with ``postKind`` ("news" | "blog"): the ordinary post composer, with
  the kind kept on the object (and our @context, which defines it).
- ``Minutes`` (a bare object or in a Create): the structured record (:mod:`node.content.minutes`) is
  stored, its ``Article`` is published at its id, and ``Create(Note)`` of the announcement is
  delivered. The C2S answer's ``object`` is the Article (the minutes); the Create's object is
  the Note. ``Update`` (of the Article's or the Note's id, with changed fields) re-renders both,
  sets ``updated`` on both and delivers ``Update(Note)``; ``Delete`` makes both Tombstones (410)
  and delivers ``Delete(Note)``.
- ``Event``: validated times and place (:mod:`node.content.events`), ``Create(Event)`` delivered;
  ``Update`` re-validates the merged Event and delivers ``Update(Event)``.
"""

from __future__ import annotations

from node.content import events, minutes
from node.content.posts import POST_KINDS
from node.core import objects, vocabulary
from node.core.clock import iso, to_epoch
from node.core.db import Connection
from node.core.errors import ApiError
from node.core.registry import Registry
from node.core.vocabulary import context, with_language
from outbox.compose import Composed, OutboxContext, _addressing, _public_part, _sanitised, compose_post, create_of

IGNORED_ON_UPDATE = ("@context", "id", "type", "published", "updated", "attributedTo", "url", "to", "cc")


def _without_context(document: dict) -> dict:
    return {k: v for k, v in document.items() if k != "@context"}


def _activity(ctx: OutboxContext, kind: str, obj: dict, addressing: dict) -> dict:
    return vocabulary.activity(
        kind, ctx.urls, actor=ctx.actor_id, now=ctx.now, object=obj, context_value=context(), **addressing
    )


def _tombstone(stored: objects.StoredObject, deleted: str) -> dict:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": stored.id,
        "type": "Tombstone",
        "formerType": stored.type,
        "published": stored.data.get("published"),
        "deleted": deleted,
    }


def _changes_of(activity: dict, editable: tuple[str, ...]) -> dict:
    changes = activity.get("object")
    if not isinstance(changes, dict):
        raise ApiError(
            400, "Update needs the object with the fields to change", hint=f"editable: {', '.join(editable)}"
        )
    unknown = sorted(set(changes) - set(editable) - set(IGNORED_ON_UPDATE))
    if unknown:
        raise ApiError(400, f"cannot change {', '.join(unknown)}", hint=f"editable: {', '.join(editable)}")
    return changes  # none at all is an Update that changes nothing: accepted, as any other


# --- news and blog posts --------------------------------------------------------------------


async def compose_kind_of_post(ctx: OutboxContext, activity: dict, obj: dict) -> Composed:
    """A Note or Article, optionally with ``postKind`` news or blog (kept on the published object)."""
    kind = obj.get("postKind")
    if kind is None:
        return await compose_post(ctx, activity, obj)
    if kind not in POST_KINDS:
        raise ApiError(400, f"postKind must be one of {', '.join(POST_KINDS)}, not {kind!r}")
    composed = await compose_post(ctx, activity, obj)
    composed.created.update({"@context": context(), "postKind": kind})
    composed.activity.update({"@context": context()})
    composed.activity["object"]["postKind"] = kind
    return composed


# --- minutes --------------------------------------------------------------------------------


def _minutes_or_400(read, *args) -> minutes.Minutes:
    try:
        return read(*args)
    except minutes.MinutesError as error:
        raise ApiError(400, str(error), hint=f"minutes fields: {', '.join(minutes.EDITABLE)}") from None


async def _check_votes(ctx: OutboxContext, record: minutes.Minutes) -> None:
    """A decision's vote on this node must be one of its Questions."""
    for decision in record.decisions:
        if decision.vote and ctx.urls.is_local(decision.vote):
            stored = await objects.get(ctx.db.reader, decision.vote)
            if stored is None or stored.type != "Question":
                raise ApiError(
                    422,
                    f"the vote {decision.vote} is not a Question published here",
                    hint="link each decision to the id of the poll that took it",
                )


async def compose_minutes(ctx: OutboxContext, activity: dict, obj: dict) -> Composed:
    record = _minutes_or_400(minutes.parse, obj)
    await _check_votes(ctx, record)
    addressing = _addressing(ctx, activity, obj)
    public = _public_part(addressing)
    article_id, note_id, published = ctx.urls.new_object_id(), ctx.urls.new_object_id(), iso(ctx.now)
    language = ctx.config.node.language
    article = with_language(
        minutes.article_document(
            record,
            article_id=article_id,
            actor_id=ctx.actor_id,
            published=published,
            addressing=public,
            language=language,
        ),
        language,
    )
    note = with_language(
        minutes.announcement_document(
            record,
            note_id=note_id,
            article_id=article_id,
            actor_id=ctx.actor_id,
            published=published,
            addressing=public,
            language=language,
        ),
        language,
    )
    create = create_of(ctx, note, addressing)
    visibility = objects.visibility_of(create, ctx.urls.followers(ctx.username), ctx.urls.members(ctx.username))

    async def save(conn: Connection) -> None:
        await objects.insert(
            conn, document=note, kind="object", author=ctx.username, visibility=visibility, published=to_epoch(ctx.now)
        )
        await minutes.insert(
            conn, article_id=article_id, note_id=note_id, author=ctx.username, record=record, now=to_epoch(ctx.now)
        )

    return Composed(activity=create, new_object=article, changes=[save])


async def _stored_minutes(ctx: OutboxContext, stored: objects.StoredObject):
    found = await minutes.get(ctx.db.reader, stored.id)
    if found is None:
        raise ApiError(409, f"{stored.id} is marked as minutes but no minutes record holds it")
    article = await objects.get(ctx.db.reader, found.article_id)
    note = await objects.get(ctx.db.reader, found.note_id)
    return found, article, note


async def update_minutes(ctx: OutboxContext, activity: dict, stored: objects.StoredObject) -> Composed:
    changes = _changes_of(activity, minutes.EDITABLE)
    found, article, note = await _stored_minutes(ctx, stored)
    record = _minutes_or_400(minutes.changed, found.record, changes)  # the same record again is still an Update
    await _check_votes(ctx, record)
    updated = iso(ctx.now)
    addressing = _public_part(_addressing(ctx, article.data))
    language = ctx.config.node.language
    new_article = with_language(
        minutes.article_document(
            record,
            article_id=article.id,
            actor_id=ctx.actor_id,
            published=article.data["published"],
            addressing=addressing,
            updated=updated,
            language=language,
        ),
        language,
    )
    new_note = with_language(
        minutes.announcement_document(
            record,
            note_id=note.id,
            article_id=article.id,
            actor_id=ctx.actor_id,
            published=note.data["published"],
            addressing=addressing,
            updated=updated,
            language=language,
        ),
        language,
    )

    async def save(conn: Connection) -> None:
        await objects.replace_data(conn, article.id, new_article, updated=to_epoch(ctx.now))
        await objects.replace_data(conn, note.id, new_note, updated=to_epoch(ctx.now))
        await minutes.replace_record(conn, article.id, record, now=to_epoch(ctx.now))

    return Composed(activity=_activity(ctx, "Update", _without_context(new_note), addressing), changes=[save])


async def delete_minutes(ctx: OutboxContext, activity: dict, stored: objects.StoredObject) -> Composed:
    found, article, note = await _stored_minutes(ctx, stored)
    deleted = iso(ctx.now)
    addressing = _public_part(_addressing(ctx, note.data))
    delete = _activity(ctx, "Delete", {"id": note.id, "type": "Tombstone", "formerType": "Note"}, addressing)

    async def save(conn: Connection) -> None:
        for gone in (article, note):
            await objects.replace_data(
                conn, gone.id, _tombstone(gone, deleted), updated=to_epoch(ctx.now), deleted=to_epoch(ctx.now)
            )
            await objects.unfeature(conn, ctx.username, gone.id)
        await minutes.delete(conn, found.article_id)

    return Composed(activity=delete, changes=[save])


# --- events ---------------------------------------------------------------------------------

EVENT_FIELDS = ("name", "startTime", "endTime", "location")
EVENT_EDITABLE = (*EVENT_FIELDS, "content", "summary", "sensitive")


def _event_fields_or_400(obj: dict) -> dict:
    try:
        return events.event_fields(obj)
    except events.EventError as error:
        raise ApiError(
            400, str(error), hint="an Event needs name and startTime; endTime after it; location a Place"
        ) from None


async def compose_event(ctx: OutboxContext, activity: dict, obj: dict) -> Composed:
    fields = _event_fields_or_400(obj)
    body = _sanitised({k: obj[k] for k in ("content", "summary", "sensitive") if k in obj})
    addressing = _addressing(ctx, activity, obj)
    event_id = ctx.urls.new_object_id()
    event = with_language(
        {
            "@context": context(),
            "id": event_id,
            "type": "Event",
            "attributedTo": ctx.actor_id,
            **fields,
            **body,
            "published": iso(ctx.now),
            "url": event_id,
            **_public_part(addressing),
        },
        ctx.config.node.language,
    )
    return Composed(activity=create_of(ctx, event, addressing), new_object=event)


async def update_event(ctx: OutboxContext, activity: dict, stored: objects.StoredObject) -> Composed:
    changes = _changes_of(activity, EVENT_EDITABLE)
    # the Event's own fields are validated together (an endTime must still follow the startTime);
    # a null endTime or location removes it
    current = {k: stored.data[k] for k in EVENT_FIELDS if k in stored.data}
    fields = _event_fields_or_400({**current, **{k: v for k, v in changes.items() if k in EVENT_FIELDS}})
    body = _sanitised({k: changes[k] for k in ("content", "summary", "sensitive") if k in changes})
    kept = {k: v for k, v in stored.data.items() if k not in ("endTime", "location")}
    updated_event = with_language(
        {**kept, **fields, **body, "@context": context(), "updated": iso(ctx.now)}, ctx.config.node.language
    )
    addressing = _public_part(_addressing(ctx, stored.data))

    async def save(conn: Connection) -> None:
        await objects.replace_data(conn, stored.id, updated_event, updated=to_epoch(ctx.now))

    return Composed(activity=_activity(ctx, "Update", _without_context(updated_event), addressing), changes=[save])


def register(registry: Registry) -> None:
    """The content composers, in the application's registry."""
    registry.object_composers.update(
        {
            "Note": compose_kind_of_post,
            "Article": compose_kind_of_post,
            "Minutes": compose_minutes,
            "Event": compose_event,
        }
    )
    registry.update_composers.update({minutes.POST_KIND: update_minutes, "Event": update_event})
    registry.delete_composers.update({minutes.POST_KIND: delete_minutes})
