"""The archive pages (``/news``, ``/blog``, ``/minutes``, ``/events``), paged, and the chapter's Atom feed.

``?page=N`` pages by :data:`node.content.listing.PAGE_SIZE`; ``/events`` shows the upcoming
events (soonest first) and then the past ones (newest first) apart. ``/feed.atom`` is an
Atom 1.0 feed (RFC 4287) of the chapter's latest public posts, minutes and events (an event's entry
opens with its time and place) and its members' blog posts, each entry
with its page, dates, author and HTML content (sanitised as on the pages).
"""

from __future__ import annotations

import html
from xml.etree import ElementTree as ET

from aiohttp import web

from node.content import listing
from node.core.appkeys import CONFIG, DATABASE, URLS
from node.core.i18n import N_
from node.core.rendering import page_of, render
from node.core.sanitize import clean_html

FEED_ENTRIES = 30
ATOM = "http://www.w3.org/2005/Atom"


async def _paged(request: web.Request, section: str, page: int) -> dict:
    reader, chapter = request.app[DATABASE].reader, request.app[CONFIG].node.name
    total = await listing.count(reader, section, chapter=chapter, now=listing.now_iso(request))
    found = await listing.items(request, section, offset=(page - 1) * listing.PAGE_SIZE, limit=listing.PAGE_SIZE)
    return {
        "section": section,
        "title": listing.TITLES[section],
        "items": found,
        "total": total,
        "page": page,
        "has_next": page * listing.PAGE_SIZE < total,
    }


def archive(section: str, title):
    async def view(request: web.Request) -> web.Response:
        page = page_of(request)
        return await render(
            request, "archive.html", {"title": title, "lists": [await _paged(request, section, page)], "page": page}
        )

    return view


async def events_archive(request: web.Request) -> web.Response:
    page = page_of(request)
    lists = [await _paged(request, "past", page)]
    if page == 1:
        lists.insert(0, await _paged(request, "upcoming", 1))
    return await render(request, "archive.html", {"title": N_("Events"), "lists": lists, "page": page})


def _text(parent: ET.Element, tag: str, text: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
    element.text = text
    return element


def _event_line(item: listing.Item) -> str:
    """An event's entry starts with when and where it is (feed readers show no Event fields)."""
    if item.type != "Event":
        return ""
    document, place = item.document, item.document.get("location")
    place_name = place.get("name") if isinstance(place, dict) else place
    when = " – ".join(str(document[key]) for key in ("startTime", "endTime") if isinstance(document.get(key), str))
    return f"<p>{html.escape(when)}{' · ' + html.escape(place_name) if isinstance(place_name, str) else ''}</p>"


def _entry(feed: ET.Element, item: listing.Item) -> None:
    entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
    _text(entry, "id", item.id)
    _text(entry, "title", item.title)
    ET.SubElement(entry, f"{{{ATOM}}}link", {"rel": "alternate", "type": "text/html", "href": item.id})
    _text(entry, "published", item.document.get("published", ""))
    _text(entry, "updated", item.document.get("updated") or item.document.get("published", ""))
    author = ET.SubElement(entry, f"{{{ATOM}}}author")
    _text(author, "name", item.author)
    _text(author, "uri", item.author_id)
    _text(entry, "content", _event_line(item) + clean_html(item.document.get("content") or item.excerpt), type="html")


async def feed(request: web.Request) -> web.Response:
    config, urls = request.app[CONFIG], request.app[URLS]
    entries = await listing.items(request, "feed", limit=FEED_ENTRIES)
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed", {"xml:lang": config.node.language.replace("_", "-")})
    _text(root, "id", urls.profile(config.node.name))
    _text(root, "title", config.node.display_name)
    _text(root, "subtitle", config.node.summary)
    ET.SubElement(root, f"{{{ATOM}}}link", {"rel": "self", "href": f"{urls.base}/feed.atom"})
    ET.SubElement(root, f"{{{ATOM}}}link", {"rel": "alternate", "type": "text/html", "href": f"{urls.base}/"})
    _text(
        root,
        "updated",
        max(
            (e.document.get("updated") or e.document.get("published", "") for e in entries),
            default="1970-01-01T00:00:00Z",
        ),
    )
    for item in entries:
        _entry(root, item)
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return web.Response(body=body, content_type="application/atom+xml", charset="utf-8")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/news", archive("news", N_("News")))
    app.router.add_get("/blog", archive("blog", N_("Blogs")))
    app.router.add_get("/minutes", archive("minutes", N_("Minutes")))
    app.router.add_get("/events", events_archive)
    app.router.add_get("/feed.atom", feed)
