"""The tree on the pages: a node's place and founding date, and the branches below it.

Every node's home page shows its place and founding date among its facts (from ``[node]
location`` and ``founded``). A node with linked children (a region or higher) adds a home page
section: the newest chapters of its subtree (by founding date: place, date, branch) and the
tree with member counts per branch, from the signed reports kept here.
"""

from __future__ import annotations

from aiohttp import web

from node.branches import links, tree
from node.core.appkeys import CLOCK, CONFIG, DATABASE, URLS
from node.core.i18n import N_
from node.core.registry import Part, Registry

NEWEST = 10
LEVEL_NAMES = (N_("chapter"), N_("region"), N_("nation"), N_("international"))  # shown through the tr filter
TREE_ORDER = 15  # after the news, before the blogs


async def facts(request: web.Request) -> dict:
    node = request.app[CONFIG].node
    found = [(N_("Place"), node.location)] if node.location else []
    if node.founded:
        found.append((N_("Founded"), node.founded))
    return {"facts": found} if found else {}


async def home_parts(request: web.Request, shown: set[str]) -> list[Part]:
    reader = request.app[DATABASE].reader
    if not await links.count_linked_children(reader):
        return []
    whole = await tree.subtree(reader, request.app[CONFIG], request.app[URLS], None, request.app[CLOCK].now())
    newest = [chapter for chapter in tree.chapters(whole) if chapter["id"] not in shown][:NEWEST]
    shown.update(chapter["id"] for chapter in newest)
    return [Part(TREE_ORDER, "home_tree.html", {"tree": whole, "newest_chapters": newest}, wide=True)]


def register(registry: Registry) -> None:
    registry.profile_context.append(facts)
    registry.home_parts.append(home_parts)
