"""What local actors publish: objects and activities, each served at its id.

Rows keep the JSON exactly as served to others; ``bto`` / ``bcc`` are kept apart (``blind``)
and shown only to the owner (ActivityPub 6.1). A deleted object keeps its row as a Tombstone (its id
is never reused and is answered with 410). ``visibility`` is derived from the addressing
when the row is written, so collections can filter without parsing JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

from federation import jsonio
from federation.activitystreams import PUBLIC, PUBLIC_ALIASES, as_list  # noqa: F401  (re-exported)
from node.core.db import Connection, dialects, fetch_all, fetch_one, fetch_value


def visibility_of(document: dict, followers_url: str, members_url: str | None = None) -> str:
    """public (Public in to), unlisted (Public in cc, bto or bcc), followers, members (the members
    collection), else direct.

    Public in ``bto`` or ``bcc`` (pass them in ``document``: they are kept apart from what is
    served) makes the object readable by anyone who asks for it, as steve-bate's
    activitypub-testsuite expects (``test_get_public_object_allowed[bto|bcc-...]``): the hidden
    fields hide who else it went to, not that it is public. Mastodon never sends bto/bcc and
    never sees them (they are removed before delivery), so what it receives carries only to/cc,
    and it classes the post by those alone; here it is unlisted, served by its id and listed in
    the outbox but never shown as a public post.
    """
    to = {x for x in as_list(document.get("to")) if isinstance(x, str)}
    cc = {x for x in as_list(document.get("cc")) if isinstance(x, str)}
    blind = {x for name in ("bto", "bcc") for x in as_list(document.get(name)) if isinstance(x, str)}
    if to & PUBLIC_ALIASES:
        return "public"
    if (cc | blind) & PUBLIC_ALIASES:
        return "unlisted"
    if followers_url in to | cc:
        return "followers"
    if members_url is not None and members_url in to | cc:
        return "members"
    return "direct"


@dataclass(frozen=True)
class StoredObject:
    seq: int
    id: str
    kind: str
    type: str
    author: str
    visibility: str
    data: dict
    deleted: float | None
    blind: dict | None = None  # {"bto": [...], "bcc": [...]}: for the owner's eyes only

    def addressed_to(self) -> set[str]:
        """Every actor or collection id the object names in its addressing, blind ones included."""
        values = [self.data.get(name) for name in ("to", "cc", "audience")]
        values += [(self.blind or {}).get(name) for name in ("bto", "bcc")]
        return {x for value in values for x in as_list(value) if isinstance(x, str)}


def primary_type(document: dict) -> str:
    """The type a document is handled as: its one type, or of several (ActivityStreams allows a
    list) the first ActivityStreams term (no ``:``, as extension types are IRIs), else the first."""
    types = [t for t in as_list(document.get("type")) if isinstance(t, str)]
    return next((t for t in types if ":" not in t), types[0] if types else "")


def _row_to_object(row) -> StoredObject:
    blind = jsonio.loads(row["blind"]) if row["blind"] else None
    return StoredObject(
        row["seq"],
        row["id"],
        row["kind"],
        row["type"],
        row["author"],
        row["visibility"],
        jsonio.loads(row["data"]),
        row["deleted"],
        blind,
    )


INSERT_SQL = (
    "INSERT INTO objects (id, kind, type, author, object_id, visibility, data, published, blind)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _insert_row(document: dict, kind: str, author: str, visibility: str, published: float, blind: dict | None) -> tuple:
    object_id = document.get("object")
    object_id = object_id.get("id") if isinstance(object_id, dict) else object_id
    return (
        document["id"],
        kind,
        primary_type(document),
        author,
        object_id if isinstance(object_id, str) else None,
        visibility,
        jsonio.dumps_str(document),
        published,
        jsonio.dumps_str(blind) if blind else None,
    )


async def insert(
    conn: Connection,
    *,
    document: dict,
    kind: str,
    author: str,
    visibility: str,
    published: float,
    blind: dict | None = None,
) -> None:
    await conn.execute(INSERT_SQL, _insert_row(document, kind, author, visibility, published, blind))


async def insert_many(
    conn: Connection, documents: list[tuple[dict, str, str]], *, author: str, published: float
) -> None:
    """Several ``(document, kind, visibility)`` of one author, in one statement."""
    rows = [
        _insert_row(document, kind, author, visibility, published, None) for document, kind, visibility in documents
    ]
    await conn.executemany(INSERT_SQL, rows)


async def replace_data(
    conn: Connection, object_id: str, document: dict, *, updated: float, deleted: float | None = None
) -> None:
    await conn.execute(
        "UPDATE objects SET data = ?, type = ?, updated = ?, deleted = COALESCE(?, deleted) WHERE id = ?",
        (jsonio.dumps_str(document), primary_type(document), updated, deleted, object_id),
    )


async def data_of_many(conn: Connection, object_ids: list[str]) -> dict[str, bytes]:
    """The stored JSON of each of ``object_ids`` that exists, as bytes, in one query."""
    rows = await fetch_all(
        conn,
        dialects(
            sqlite="SELECT id, data FROM objects WHERE id IN (SELECT value FROM json_each(?))",
            postgres="SELECT id, data FROM objects WHERE id IN (SELECT jsonb_array_elements_text(?::jsonb))",
        ),
        (jsonio.dumps_str(object_ids),),
    )
    return {row["id"]: row["data"].encode() for row in rows}


async def get(conn: Connection, object_id: str) -> StoredObject | None:
    row = await fetch_one(conn, "SELECT * FROM objects WHERE id = ?", (object_id,))
    return _row_to_object(row) if row else None


async def count_outbox(conn: Connection, author: str) -> int:
    return await fetch_value(
        conn,
        "SELECT COUNT(*) FROM objects WHERE author = ? AND kind = 'activity' AND visibility IN ('public', 'unlisted')",
        (author,),
    )


async def page_outbox(conn: Connection, author: str, *, offset: int, limit: int) -> list[StoredObject]:
    rows = await fetch_all(
        conn,
        "SELECT * FROM objects WHERE author = ? AND kind = 'activity' AND visibility IN ('public', 'unlisted')"
        " ORDER BY seq DESC LIMIT ? OFFSET ?",
        (author, limit, offset),
    )
    return [_row_to_object(r) for r in rows]


async def count_local_posts(conn: Connection) -> int:
    return await fetch_value(conn, "SELECT COUNT(*) FROM objects WHERE kind = 'object' AND deleted IS NULL")


async def last_published(conn: Connection, author: str) -> float | None:
    return await fetch_value(conn, "SELECT MAX(published) FROM objects WHERE author = ?", (author,))


# --- featured (pinned) ---------------------------------------------------------------------


async def feature(conn: Connection, username: str, object_id: str, now: float) -> None:
    await conn.execute(
        "INSERT INTO featured (username, object_id, added_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (username, object_id, now),
    )


async def unfeature(conn: Connection, username: str, object_id: str) -> None:
    await conn.execute("DELETE FROM featured WHERE username = ? AND object_id = ?", (username, object_id))


async def featured_stored(conn: Connection, username: str) -> list[StoredObject]:
    """The pinned objects as stored (with their visibility), newest pin first."""
    rows = await fetch_all(
        conn,
        "SELECT o.* FROM featured f JOIN objects o ON o.id = f.object_id"
        " WHERE f.username = ? AND o.deleted IS NULL ORDER BY f.added_at DESC",
        (username,),
    )
    return [_row_to_object(r) for r in rows]
