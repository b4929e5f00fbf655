"""What the subtree publishes, kept where it arrives: the home page of a region or the international.

A node with linked children receives its subtree's public posts: a child's own ``Create`` /
``Update`` / ``Delete`` of a Note, Article or Event (news, blog posts, minutes' announcements,
events), a child's ``Announce`` of such an activity of a node below it (``audience`` names
that node, whose signed report came here through the same child), and a child's boost of a post
published on a host of its subtree (a member's blog post, fetched from there and checked:
:mod:`node.branches.member_posts`). :func:`keep` (an ``after_handled`` hook for those four
types, in the inbox's transaction) accepts exactly what :mod:`node.branches.relaying` and
:mod:`node.branches.member_posts` relay and keeps a small, sanitised copy of each post in
``branch_subtree_posts`` (its id, kind, dates, title, excerpt HTML, place), keyed by the post's
id, so a redelivery or the same post by two paths is one row; an ``Update`` replaces it, a
``Delete`` removes it, and so does the child's ``Undo`` of its boost of a member's post
(:func:`forget_boost`). Polls are not kept here: a federation's decisions have pages of their own.

:func:`home_parts` shows them on the home page, by kind (news, blog posts, minutes, events),
each with its chapter's name from the chapter's own signed report and a link to the original
(the post's id, which is its page on the chapter's site). Only posts of branches linked now
are shown: an unlinked branch's posts disappear with it, without a write.

Table (``schema``, branches migration 11): ``branch_subtree_posts``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from aiohttp import web
from markupsafe import Markup

from federation import jsonio
from federation.activitystreams import id_of
from inbox.handlers import InboxContext
from node.branches import link_store, member_posts, names, relaying, reports
from node.core.appkeys import CLOCK, DATABASE
from node.core.clock import iso, to_epoch
from node.core.db import Connection, fetch_all
from node.core.i18n import N_
from node.core.registry import Part, Registry
from node.core.sanitize import clean_html

KINDS = ("news", "blog", "minutes", "event")
TITLES = {
    "news": N_("News from the branches"),
    "blog": N_("Blogs from the branches"),
    "minutes": N_("Minutes from the branches"),
    "event": N_("Events in the branches"),
}
ORDER = {"news": 11, "blog": 21, "minutes": 31, "event": 41}  # each beside this node's own section
HOME_LIMIT = 6
MAX_TEXT = 4000  # characters of a kept post's HTML; the original is one click away
MAX_NAME = 300
EXCERPT = 200


def kind_of(post: dict) -> str | None:
    if post.get("type") == "Event":
        return "event"
    kind = post.get("postKind")
    return kind if post.get("type") in ("Note", "Article") and kind in ("news", "blog", "minutes") else None


def _text(value, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) else None


def _place(location) -> str | None:
    if isinstance(location, dict):
        return _text(location.get("name"), MAX_NAME)
    return _text(location, MAX_NAME)


def kept_copy(post: dict) -> dict:
    """What is kept of a post: its identity, dates, title, sanitised HTML and place; nothing else."""
    copy = {"id": post["id"], "type": post.get("type"), "postKind": kind_of(post)}
    for name in ("published", "updated", "startTime", "endTime", "meetingDate"):
        if isinstance(post.get(name), str) and len(post[name]) <= 40:
            copy[name] = post[name]
    for name, limit in (("name", MAX_NAME), ("summary", MAX_TEXT), ("content", MAX_TEXT)):
        text = _text(post.get(name), limit)
        if text:
            copy[name] = clean_html(text) if name != "name" else text
    url = id_of(post.get("url"))
    if url and urlsplit(url).netloc.lower() == urlsplit(post["id"]).netloc.lower():
        copy["url"] = url
    place = _place(post.get("location"))
    if place:
        copy["location"] = place
    return copy


async def _via_linked_child(ctx: InboxContext, activity: dict) -> tuple[dict, str, str] | None:
    """(the relayed activity, its origin, the linked child it came through), when it is one relaying relays."""
    sender = id_of(activity.get("actor"))
    if sender is None or not await relaying.is_linked_child(ctx, sender):
        return None
    if activity.get("type") != "Announce":
        return (activity, sender, sender) if relaying.own_public_post(activity, sender) else None
    if isinstance(activity.get("object"), str):  # a boost of a post of its subtree (a member's blog post)
        boosted = await member_posts.checked(ctx, activity)
        return None if boosted is None else ({"type": "Create", "object": boosted[0]}, boosted[1], boosted[2])
    # exactly what relaying relays in turn: the activity as checked against its author before the transaction
    relayed = await relaying._relayed_by_child(ctx, activity, sender)
    origin = id_of(activity.get("audience"))
    return (relayed, origin, sender) if relayed is not None and origin is not None else None


async def keep(ctx: InboxContext, activity: dict) -> None:
    found = await _via_linked_child(ctx, activity)
    if found is None:
        return
    relayed, origin, child = found
    post = relayed["object"]
    if relayed["type"] == "Delete":
        await forget(ctx.conn, id_of(post) or "", origin)
        return
    kind = kind_of(post)
    if kind is None:
        return
    await store(ctx.conn, kept_copy(post), kind=kind, origin=origin, via_child=child, now=to_epoch(ctx.now))


async def forget_boost(ctx: InboxContext, activity: dict) -> None:
    """A linked child's ``Undo`` of its boost of a member's post (deleted): the post leaves the page."""
    found = await member_posts.undone(ctx, activity)
    if found is not None:
        await forget(ctx.conn, found[0], found[1])


async def store(conn: Connection, post: dict, *, kind: str, origin: str, via_child: str, now: float) -> None:
    published = reports.parse_time(post.get("published")) or now
    await conn.execute(
        "INSERT INTO branch_subtree_posts (post_id, origin_id, via_child, kind, published, document, received_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (post_id) DO UPDATE SET document = excluded.document,"
        " kind = excluded.kind, received_at = excluded.received_at"
        " WHERE branch_subtree_posts.origin_id = excluded.origin_id",
        (post["id"], origin, via_child, kind, published, jsonio.dumps_str(post), now),
    )


async def forget(conn: Connection, post_id: str, origin: str) -> None:
    await conn.execute("DELETE FROM branch_subtree_posts WHERE post_id = ? AND origin_id = ?", (post_id, origin))


async def recent(conn: Connection, kind: str, *, limit: int, now_iso: str) -> list[dict]:
    """The newest posts of ``kind`` from branches linked now (events: the upcoming ones, soonest first),
    each with its branch's name and place from the branch's own report."""
    params: tuple[object, ...]
    if kind == "event":
        when = "coalesce(json_extract(p.document, '$.endTime'), json_extract(p.document, '$.startTime'))"
        condition, order, params = (
            f" AND {when} >= ?",
            "json_extract(p.document, '$.startTime')",
            (kind, now_iso, limit),
        )
    else:
        condition, order, params = "", "p.published DESC", (kind, limit)
    rows = await fetch_all(
        conn,
        "SELECT p.document, p.origin_id, r.report FROM branch_subtree_posts p"
        " JOIN branch_links l ON l.peer_id = p.via_child AND l.role = 'child' AND l.state = 'linked'"
        f" LEFT JOIN branch_reports r ON r.origin_id = p.origin_id WHERE p.kind = ?{condition}"
        f" ORDER BY {order} LIMIT ?",
        params,
    )
    found = []
    for row in rows:
        report = jsonio.loads(row["report"]) if row["report"] else {}
        post = jsonio.loads(row["document"])
        found.append(
            {
                "post": post,
                **title_and_excerpt(post),
                "origin": row["origin_id"],
                "site": names.site_of(row["origin_id"]),
                **_branch(report),
            }
        )
    return found


def _paragraphs(html: str) -> list[str]:
    """The text of each paragraph (or line) of some HTML, tags stripped."""
    spaced = re.sub(r"(?i)</p>|<br\s*/?>", "\n", html or "")
    return [" ".join(Markup(part).striptags().split()) for part in spaced.split("\n") if part.strip()]  # noqa: S704 (text only)


def title_and_excerpt(post: dict) -> dict:
    """A post's title (its name, else its first paragraph: a minutes' announcement starts with its
    title) and an excerpt of the rest, paragraphs kept apart by a space."""
    paragraphs = [p for p in _paragraphs(post.get("content") or post.get("summary") or "") if p]
    name = post.get("name") if isinstance(post.get("name"), str) and post["name"].strip() else None
    title = name or (paragraphs.pop(0) if paragraphs else post["id"].rsplit("/", 1)[-1])
    excerpt = " ".join(paragraphs)
    return {"title": _cut(title, 100), "excerpt": _cut(excerpt, EXCERPT)}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


def _branch(report: dict) -> dict:
    return {"branch_name": report.get("name"), "branch_place": _place(report.get("location"))}


async def home_parts(request: web.Request, shown: set[str]) -> list[Part]:
    reader = request.app[DATABASE].reader
    if not await link_store.count_linked_children(reader):
        return []
    now = iso(request.app[CLOCK].now())
    parts = []
    for kind in KINDS:
        found = [
            entry
            for entry in await recent(reader, kind, limit=HOME_LIMIT, now_iso=now)
            if entry["post"]["id"] not in shown
        ]
        shown.update(entry["post"]["id"] for entry in found)
        if found:
            parts.append(
                Part(ORDER[kind], "home_subtree.html", {"kind": kind, "title": TITLES[kind], "entries": found})
            )
    if not parts:
        parts.append(Part(ORDER["news"], "home_subtree.html", {"kind": None, "title": TITLES["news"], "entries": []}))
    return parts


def register(registry: Registry) -> None:
    for kind in (*relaying.RELAYED_ACTIVITIES, "Announce"):
        registry.after(kind, keep)
    registry.after("Undo", forget_boost)
    registry.home_parts.append(home_parts)
