"""The tree on the pages: a node's place in it, the branches below it, and ``/tree``.

Every node's home page shows its place and founding date among its facts (from ``[node]
location`` and ``founded``), and, while it is linked, the levels above it by name, each linked
to its site (the parent's actor document as this node keeps it, and up from there as far as the
documents kept here reach: no page waits on the network). A node with linked children (a region
or higher) adds a home page section: the newest chapters of its subtree (by founding date: place,
founding date, member count) and the tree with member counts per branch, from the signed
reports kept here; and a node that is not a chapter never offers "Join the chapter": its home
page says how to find a chapter near you (the chapters by place, and ``/tree``).

``GET /tree`` is the whole subtree as a page (names, levels, places, founding dates, member
counts, a link to each node's site); a client asking for JSON gets what ``<actor>/tree``
serves (:mod:`node.branches.views`).
"""

from __future__ import annotations

from aiohttp import web

from node.branches import link_store, names, tree
from node.core.appkeys import CLOCK, CONFIG, DATABASE, URLS
from node.core.i18n import N_
from node.core.registry import Part, Registry
from node.core.rendering import formatter, render

NEWEST = 10
LEVEL_NAMES = (N_("chapter"), N_("region"), N_("nation"), N_("international"))  # shown through the tr filter
TREE_ORDER = 15  # after the news, before the blogs
MAX_LEVELS_ABOVE = 6


async def levels_above(request: web.Request) -> list[names.BranchName]:
    """This node's parent and the levels above it, nearest first, as far as kept actor documents tell."""
    reader = request.app[DATABASE].reader
    parent = await link_store.linked_parent(reader)
    found: list[names.BranchName] = []
    current, level = (parent.peer_id, parent.level) if parent is not None else (None, None)
    while current and len(found) < MAX_LEVELS_ABOVE and all(n.id != current for n in found):
        document = await names.cached_actor(reader, current) or {}
        found.append(names.from_document(current, {"level": level if not found else None, **document}))
        above = document.get("parent")
        current = above if isinstance(above, str) else None
    return found


async def facts(request: web.Request) -> dict:
    node = request.app[CONFIG].node
    found = [(N_("Place"), node.location)] if node.location else []
    if node.founded:
        found.append((N_("Founded"), request_date(request, node.founded)))
    context: dict = {"facts": found} if found else {}
    context["levels_above"] = await levels_above(request)
    if node.level != "chapter":
        context["not_a_chapter"] = True
    return context


def request_date(request: web.Request, value: str) -> str:
    return formatter(request).date(value)  # in the reader's language, as the templates' date filter


async def subtree_of(request: web.Request) -> dict:
    """The subtree, each node with ``site``: its home page, where a person goes from a name."""
    app = request.app
    whole = await tree.subtree(app[DATABASE].reader, app[CONFIG], app[URLS], None, app[CLOCK].now())
    stack = [whole]
    while stack:
        node = stack.pop()
        node["site"] = names.site_of(node["id"])
        stack.extend(node["children"])
    return whole


async def home_parts(request: web.Request, shown: set[str]) -> list[Part]:
    reader = request.app[DATABASE].reader
    if not await link_store.count_linked_children(reader):
        if request.app[CONFIG].node.level == "chapter":
            return []
        return [Part(TREE_ORDER, "home_find_chapter.html", {"chapters": []})]
    whole = await subtree_of(request)
    chapters = tree.chapters(whole)
    newest = [chapter for chapter in chapters if chapter["id"] not in shown][:NEWEST]
    shown.update(chapter["id"] for chapter in newest)
    parts = [Part(TREE_ORDER, "home_tree.html", {"tree": whole, "newest_chapters": newest}, wide=True)]
    if request.app[CONFIG].node.level != "chapter":
        by_place = sorted(chapters, key=lambda c: ((c["location"] or "").casefold(), c["name"] or ""))
        parts.append(Part(TREE_ORDER + 1, "home_find_chapter.html", {"chapters": by_place}))
    return parts


async def tree_page(request: web.Request) -> web.Response:
    """The tree as a page; JSON (as ``<actor>/tree`` serves it) for a client that asks for it."""
    from node.branches.views import subtree, wants_json  # the JSON form lives with the other routes

    if wants_json(request):
        return await subtree(request, own=True)
    whole = await subtree_of(request)
    return await render(
        request,
        "tree.html",
        {
            "tree": whole,
            "chapters": len(tree.chapters(whole)),
            "levels_above": await levels_above(request),
        },
    )


def register(registry: Registry) -> None:
    registry.profile_context.append(facts)
    registry.home_parts.append(home_parts)
    registry.nav_links.append((70, "/tree", N_("The tree")))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/tree", tree_page)
