"""Qualifying drafts put to the vote, and the outcome (being written)."""

from __future__ import annotations

from aiohttp import web

from node.core.registry import Registry


def register(registry: Registry) -> None:
    del registry


def setup(app: web.Application) -> None:
    del app
