"""The chapter's content (issue 3), wired into the node in one call: :func:`install`.

News and blog posts (:mod:`node.posts`), minutes (:mod:`node.minutes`), events
(:mod:`node.events`) and what the fediverse does with them (:mod:`node.interactions`) each
keep their structure and SQL in their own module. This one only puts their parts in the
dispatch tables of the rest of the node:

- composers (``outbox.content``) in ``outbox.compose``'s tables (Create, Update, Delete);
- inbox handlers (``inbox.interactions``) in ``inbox.handlers``' tables (replies, Like,
  Announce, their Undo, remote Delete/Update of a reply, answers to an Event);
- the ``replies`` / ``likes`` / ``shares`` collections (``node.object_collections``), and the
  pages' parts and the answer form (``node.pages_content``).

Registration is idempotent (dictionary entries, hooks added once), so several apps in one
process (the tests) share the same tables safely.
"""

from __future__ import annotations

from aiohttp import web

from inbox import interactions as inbox_interactions
from node import object_collections, pages_content
from outbox import content as outbox_content


def install(app: web.Application) -> None:
    outbox_content.register()
    inbox_interactions.register()
    object_collections.add_routes(app)
    pages_content.register(app)
