"""The chapter's content: news and blog posts, meeting minutes, events, and what the fediverse does with them.

Flow: the admin publishes (``outbound``: a Note or Article with ``postKind`` news or blog;
``Minutes``, stored as a structured record and published as an Article announced by a Note;
an ``Event`` with validated times and place); remote actors reply, like, boost and answer
events (``inbound``: replies kept as the thread, reactions counted once per actor and
undone, answers to an Event); objects are served with their live counts (``views``) and
their ``replies`` / ``likes`` / ``shares`` collections (``collections``); pages show the
thread, the minutes' structure and the event's answers (``pages``).

- ``posts``, ``minutes``, ``events``, ``interactions``: each kind's structure and SQL.
- The website: ``listing`` (the home page's sections), ``archive`` (paged archives, the Atom
  feed), ``writing`` and ``forms`` (secretaries publish news, minutes and events, members their
  blog posts under their own Person, boosted by the chapter; edit and delete), and
  ``participation`` (members reply and sign from the page: "N signatories").
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from node.content import archive, collections, inbound, outbound, pages, participation, schema, writing
from node.core.registry import Registry


def register(registry: Registry) -> None:
    registry.feature("content", templates=Path(__file__).parent / "templates", migrations=schema.MIGRATIONS)
    outbound.register(registry)
    inbound.register(registry)
    pages.register(registry)


def setup(app: web.Application) -> None:
    collections.add_routes(app)
    archive.add_routes(app)
    writing.add_routes(app)
    participation.add_routes(app)
    pages.add_routes(app)
