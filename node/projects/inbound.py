"""What the fediverse does to a project (being written)."""

from __future__ import annotations

from node.core.registry import Registry


def register(registry: Registry) -> None:
    del registry
