"""Reading ActivityStreams JSON as servers send it: one value or a list, an id or an object."""

from __future__ import annotations

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
PUBLIC_ALIASES = {PUBLIC, "as:Public", "Public"}  # compacted forms servers also send


def as_list(value) -> list:
    """A property's values as a list (absent: empty; one value: a list of one)."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def id_of(value) -> str | None:
    """The id of a property that is either an id or an object with an ``id``; None otherwise."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return value["id"]
    return None
