"""News and blog posts, and the lists of each kind of content that pages show.

News and blog posts are ``Note``s (Mastodon shows a Note whole, so ``content`` is the whole
text, however long; ``url`` is the object's own page). ``postKind`` ("news" or "blog", our
term) lets pages list them apart; a Note or Article published without one counts as news.
Minutes (``postKind: "minutes"``) and Events have their own modules; here they are only listed.
"""

from __future__ import annotations

from federation import jsonio
from node.core.db import Connection, fetch_all

POST_KINDS = ("news", "blog")

# Per section of the profile: the SQL condition that picks its public objects, and their order.
SECTIONS: dict[str, tuple[str, str]] = {
    "news": (
        "type IN ('Note', 'Article') AND COALESCE(json_extract(data, '$.postKind'), 'news') = 'news'"
        " AND json_extract(data, '$.inReplyTo') IS NULL",
        "seq DESC",
    ),
    "blog": ("type IN ('Note', 'Article') AND json_extract(data, '$.postKind') = 'blog'", "seq DESC"),
    "minutes": (
        "type = 'Article' AND json_extract(data, '$.postKind') = 'minutes'",
        "json_extract(data, '$.meetingDate') DESC, seq DESC",
    ),
    "events": ("type = 'Event'", "json_extract(data, '$.startTime') DESC, seq DESC"),
}


async def recent_public(conn: Connection, author: str, section: str, *, limit: int = 10) -> list[dict]:
    """The newest public objects of one section (a key of :data:`SECTIONS`), as served."""
    condition, order = SECTIONS[section]
    rows = await fetch_all(
        conn,
        f"SELECT data FROM objects WHERE author = ? AND kind = 'object' AND visibility = 'public'"
        f" AND deleted IS NULL AND {condition} ORDER BY {order} LIMIT ?",
        (author, limit),
    )
    return [jsonio.loads(row["data"]) for row in rows]
