"""The tree on the pages: the top node's profile lists the federation's newest chapters and the tree.

A node with no parent and at least one child is the top of a tree (the international, or a
region not yet linked): its profile page gets ``profile_tree.html`` with the newest chapters
(by founding date: place, date, branch) and the tree with member counts per branch, from the
reports kept here. Plain HTML for now.
"""

from __future__ import annotations

from aiohttp import web

from node.branches import links, tree
from node.core.appkeys import CLOCK, CONFIG, DATABASE, URLS
from node.core.registry import Registry

NEWEST = 10


async def profile_context(request: web.Request) -> dict:
    reader = request.app[DATABASE].reader
    if await links.linked_parent(reader) is not None or not await links.count_linked_children(reader):
        return {}
    whole = await tree.subtree(reader, request.app[CONFIG], request.app[URLS], None, request.app[CLOCK].now())
    return {"profile_parts": ["profile_tree.html"], "tree": whole, "newest_chapters": tree.chapters(whole)[:NEWEST]}


def register(registry: Registry) -> None:
    registry.profile_context.append(profile_context)
