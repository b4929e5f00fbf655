"""The projects' pages (being written)."""

from __future__ import annotations

from aiohttp import web

from node.core.registry import Registry


def register(registry: Registry) -> None:
    del registry


def add_routes(app: web.Application) -> None:
    del app
