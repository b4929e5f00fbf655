"""The chapter's content as lists: the home page's sections, the archive pages, the Atom feed's entries.

Each section is a query over the public objects (:data:`node.content.posts.SECTIONS`): news
(the chapter's), blog posts (the chapter's and its members', each with its author), minutes
(newest meeting first), and events (upcoming soonest first, past ones apart, newest first).
An item is what a list shows: title, page, date, an excerpt, the author, and for a blog post
how many members signed it. The home page takes a few of each, skipping ids already shown
(``shown``); the archive pages are paged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aiohttp import web
from markupsafe import Markup

from federation import jsonio
from node.core.appkeys import CLOCK, CONFIG, DATABASE, URLS
from node.core.clock import iso
from node.core.db import Connection, fetch_all, fetch_value
from node.core.i18n import N_
from node.core.registry import Part
from node.membership import accounts

PAGE_SIZE = 20
HOME_LIMIT = 4
EXCERPT_CHARACTERS = 220

# section -> (SQL condition over public objects, order); "upcoming" and "past" take the time as a parameter
QUERIES: dict[str, tuple[str, str]] = {
    "news": (
        "author = :chapter AND type IN ('Note', 'Article') AND COALESCE(json_extract(data, '$.postKind'), 'news')"
        " = 'news' AND json_extract(data, '$.inReplyTo') IS NULL",
        "seq DESC",
    ),
    "blog": (
        "type IN ('Note', 'Article') AND json_extract(data, '$.postKind') = 'blog'"
        " AND json_extract(data, '$.inReplyTo') IS NULL",
        "seq DESC",
    ),
    "minutes": (
        "author = :chapter AND type = 'Article' AND json_extract(data, '$.postKind') = 'minutes'",
        "json_extract(data, '$.meetingDate') DESC, seq DESC",
    ),
    "upcoming": (
        "author = :chapter AND type = 'Event' AND COALESCE(json_extract(data, '$.endTime'),"
        " json_extract(data, '$.startTime')) >= :now",
        "json_extract(data, '$.startTime') ASC, seq",
    ),
    "past": (
        "author = :chapter AND type = 'Event' AND COALESCE(json_extract(data, '$.endTime'),"
        " json_extract(data, '$.startTime')) < :now",
        "json_extract(data, '$.startTime') DESC, seq DESC",
    ),
    "feed": (  # the chapter's posts, minutes and events, and its members' blog posts
        "(author = :chapter OR (type IN ('Note', 'Article') AND json_extract(data, '$.postKind') = 'blog'))"
        " AND type IN ('Note', 'Article', 'Event') AND json_extract(data, '$.inReplyTo') IS NULL"
        " AND NOT (type = 'Note' AND json_extract(data, '$.postKind') = 'minutes')",
        "seq DESC",
    ),
}

TITLES = {
    "news": N_("Latest news"),
    "blog": N_("Blogs"),
    "minutes": N_("Minutes"),
    "upcoming": N_("Upcoming events"),
    "past": N_("Past events"),
}
ARCHIVES = {"news": "/news", "blog": "/blog", "minutes": "/minutes", "upcoming": "/events", "past": "/events"}


@dataclass(frozen=True)
class Item:
    id: str
    type: str
    title: str
    excerpt: str
    date: str  # ISO: the meeting's date, the event's start, or the publication
    author: str
    author_id: str
    document: dict
    signatories: int = 0  # members who signed it (a blog post)


def _where(section: str) -> tuple[str, str]:
    condition, order = QUERIES[section]
    return (f"kind = 'object' AND visibility = 'public' AND deleted IS NULL AND {condition}", order)


async def count(conn: Connection, section: str, *, chapter: str, now: str) -> int:
    where, _ = _where(section)
    sql = f"SELECT COUNT(*) FROM objects WHERE {where}"
    return await fetch_value(conn, sql, {"chapter": chapter, "now": now})


async def documents(
    conn: Connection,
    section: str,
    *,
    chapter: str,
    now: str,
    offset: int,
    limit: int,
    skip: set[str] | frozenset[str] = frozenset(),
) -> list[dict]:
    where, order = _where(section)
    sql = f"SELECT id, data FROM objects WHERE {where} ORDER BY {order} LIMIT :limit OFFSET :offset"
    rows = await fetch_all(conn, sql, {"chapter": chapter, "now": now, "limit": limit + len(skip), "offset": offset})
    return [jsonio.loads(row["data"]) for row in rows if row["id"] not in skip][:limit]


def _excerpt(document: dict) -> str:
    html = re.sub(r"(?i)(</p>|<br\s*/?>)", r"\1 ", document.get("content") or document.get("summary") or "")
    text = " ".join(Markup(html).striptags().split())  # noqa: S704 (tags stripped, never rendered as markup); paragraphs stay apart
    return text if len(text) <= EXCERPT_CHARACTERS else text[:EXCERPT_CHARACTERS].rsplit(" ", 1)[0] + "…"


def _title(document: dict) -> str:
    if isinstance(document.get("name"), str) and document["name"].strip():
        return document["name"].strip()
    excerpt = _excerpt(document)
    return excerpt if len(excerpt) <= 80 else excerpt[:80].rsplit(" ", 1)[0] + "…"


async def signatory_counts(conn: Connection, object_ids: list[str]) -> dict[str, int]:
    """How many members signed each of ``object_ids`` (those nobody signed are left out)."""
    if not object_ids:
        return {}
    marks = ", ".join("?" for _ in object_ids)
    rows = await fetch_all(
        conn,
        f"SELECT object_id, COUNT(*) AS signed FROM endorsements WHERE object_id IN ({marks}) GROUP BY object_id",
        tuple(object_ids),
    )
    return {row["object_id"]: row["signed"] for row in rows}


async def author_names(request: web.Request, actor_ids: set[str]) -> dict[str, str]:
    """Display names of local authors: the chapter's, and its members' accounts."""
    urls, config = request.app[URLS], request.app[CONFIG]
    usernames = {actor_id: accounts.username_of_actor(urls, actor_id) for actor_id in actor_ids}
    names = await accounts.display_names(request.app[DATABASE].reader, [u for u in usernames.values() if u])
    chapter_id = urls.actor(config.node.name)
    return {
        actor_id: config.node.display_name if actor_id == chapter_id else names.get(username or "", actor_id)
        for actor_id, username in usernames.items()
    }


async def items(
    request: web.Request,
    section: str,
    *,
    offset: int = 0,
    limit: int = HOME_LIMIT,
    skip: set[str] | frozenset[str] = frozenset(),
) -> list[Item]:
    found = await documents(
        request.app[DATABASE].reader,
        section,
        chapter=request.app[CONFIG].node.name,
        now=now_iso(request),
        offset=offset,
        limit=limit,
        skip=skip,
    )
    names = await author_names(request, {d.get("attributedTo", "") for d in found})
    signed = await signatory_counts(request.app[DATABASE].reader, [d["id"] for d in found]) if section == "blog" else {}
    return [
        Item(
            id=d["id"],
            type=d["type"],
            title=_title(d),
            excerpt=_excerpt(d),
            date=d.get("meetingDate") or d.get("startTime") or d.get("published", ""),
            author=names.get(d.get("attributedTo", ""), ""),
            author_id=d.get("attributedTo", ""),
            document=d,
            signatories=signed.get(d["id"], 0),
        )
        for d in found
    ]


def now_iso(request: web.Request) -> str:
    return iso(request.app[CLOCK].now())


async def home_parts(request: web.Request, shown: set[str]) -> list[Part]:
    """Latest news (wide), blogs with their authors, the latest minutes, upcoming events. A node
    that is not a chapter (a region, the international) leaves out its own empty sections: its home
    page shows its subtree's posts beside them."""
    parts = []
    chapter = request.app[CONFIG].node.level == "chapter"
    for order, section, wide in (
        (10, "news", True),
        (20, "blog", False),
        (30, "minutes", False),
        (40, "upcoming", False),
    ):
        found = await items(request, section, skip=shown)
        shown.update(item.id for item in found)
        if not found and not chapter:
            continue
        parts.append(
            Part(
                order,
                "home_list.html",
                {"section": section, "title": TITLES[section], "items": found, "archive": ARCHIVES[section]},
                wide=wide,
            )
        )
    return parts
