"""Moderation: the admin's blocks and the reports (``Flag``) received and sent.

Flow: the admin blocks an actor with ``Block`` from the outbox (``outbound``; recorded, never
delivered) or a domain through the admin API (``admin_api``); the in-memory
:class:`node.moderation.blocks.BlockList` refuses their requests at the inbox and their
addresses in the federation client. A ``Flag`` received is kept for the admin
(``inbound``); one sent goes to the reported actor's server with a copy kept (``reports``).
The admin dashboard's panel of blocks and reports, with its block and unblock forms, is ``pages``.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from node.core.registry import Registry
from node.moderation import admin_api, inbound, outbound, pages, schema


def register(registry: Registry) -> None:
    registry.feature("moderation", templates=Path(__file__).parent / "templates", migrations=schema.MIGRATIONS)
    registry.admin_sections.append(pages.admin_sections)
    inbound.register(registry)
    outbound.register(registry)


def setup(app: web.Application) -> None:
    admin_api.add_routes(app)
    pages.add_routes(app)
