"""An object as served: the stored JSON plus what changes without an edit (live counts).

Stored rows keep the JSON as published; what others add to it later is joined in when it is
served: the ``replies`` / ``likes`` / ``shares`` collections with their ``totalItems`` on every
piece of content, and the answer counts on an Event. One table per type says what is added.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from node.content import events, interactions
from node.core import objects
from node.core.appkeys import CONFIG, DATABASE
from node.core.db import Connection
from node.core.vocabulary import context

CONTENT_TYPES = ("Note", "Article", "Page", "Event")

Addition = Callable[[Connection, str, objects.StoredObject, dict], Awaitable[dict]]


async def _event_counts(conn: Connection, chapter: str, stored: objects.StoredObject, document: dict) -> dict:
    return events.with_counts(document, await events.count_answers(conn, chapter, stored.id))


# What each type adds to itself when served, beyond the collections every content type has.
ADDITIONS: dict[str, Addition] = {"Event": _event_counts}


async def served_document(app: web.Application, stored: objects.StoredObject) -> dict:
    """The document to serve for a stored object (activities and Tombstones are served as stored)."""
    if stored.kind != "object" or stored.deleted is not None or stored.type not in CONTENT_TYPES:
        return stored.data
    conn = app[DATABASE].reader
    # served with today's @context, which defines every term our content uses (likes, shares, ...)
    document = {
        **stored.data,
        "@context": context(),
        **interactions.collections_of(stored.id, await interactions.counts(conn, stored.id)),
    }
    addition = ADDITIONS.get(stored.type)
    if addition is not None:
        document = await addition(conn, app[CONFIG].node.name, stored, document)
    return document
