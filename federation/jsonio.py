"""Fast JSON in and out (orjson), with errors that say what was wrong."""

from __future__ import annotations

from typing import Any

import orjson

MAX_DEPTH = 64


class JsonError(ValueError):
    """The bytes are not a JSON document we accept."""


def loads(data: bytes | str) -> Any:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise JsonError(f"body is not valid JSON: {error}") from None
    if _brackets(data) > MAX_DEPTH and _depth(value) > MAX_DEPTH:
        raise JsonError(f"JSON nests deeper than {MAX_DEPTH} levels")
    return value


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def dumps_str(value: Any) -> str:
    return orjson.dumps(value).decode()


def _brackets(data: bytes | str) -> int:
    """An upper bound of the nesting depth, counted in C: every level opens with { or [.

    Typical activities open far fewer than ``MAX_DEPTH`` brackets in all, so the walk of
    :func:`_depth` (the costliest part of parsing a small activity) is skipped for them.
    """
    if isinstance(data, str):
        return data.count("{") + data.count("[")
    return data.count(b"{") + data.count(b"[")


def _depth(value: Any) -> int:
    """Nesting depth, iteratively (a deep document must not exhaust the Python stack)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:
                stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:
                stack.extend((v, depth + 1) for v in item)
    return deepest
