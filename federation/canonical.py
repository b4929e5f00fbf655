"""RFC 8785 (JCS) canonical JSON, with a fast path for the documents this house signs.

:func:`canonicalize` gives the same bytes as the ``jcs`` package. When a document holds only
objects with ASCII keys, arrays, strings, booleans, null and integers within JavaScript's safe
range (every tally, proposal and leaf the decisions room makes), RFC 8785's rules reduce to
sorted keys, no whitespace and JSON's minimal escaping, which the standard library's encoder
(in C) writes; anything else (a float, a key outside ASCII, a lone surrogate) goes to ``jcs``.
A unit test holds the two to the same bytes.
"""

from __future__ import annotations

import json
from typing import Any

import jcs

SAFE_INTEGER = 2**53 - 1
_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))  # made once: it is reused
#: The string encoder ``_ENCODER`` itself uses (ensure_ascii=False: the C one, JSON's minimal escaping).
_QUOTE = json.encoder.encode_basestring


def _flat(value: Any) -> bool:
    """An object of strings under ASCII keys (a ballot leaf): the commonest case, checked at once."""
    return type(value) is dict and all(type(k) is str and k.isascii() and type(v) is str for k, v in value.items())


def _simple(value: Any) -> bool:
    if _flat(value):
        return True
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is list:
            stack.extend(item)
        elif kind is dict:
            for key, inner in item.items():
                if type(key) is not str or not key.isascii():
                    return False
                stack.append(inner)
        elif kind is not int or abs(item) > SAFE_INTEGER:
            return False  # a float, an int subclass or a big integer: jcs formats those
    return True


def _flat_text(value: dict[str, str]) -> str:
    """``_ENCODER.encode`` of a flat object, written directly: a leaf is hashed 100,000 times in a big tally."""
    return "{" + ",".join([_QUOTE(key) + ":" + _QUOTE(value[key]) for key in sorted(value)]) + "}"


def canonicalize(value: Any) -> bytes:
    """The JCS bytes of ``value``."""
    if _flat(value):
        try:
            return _flat_text(value).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: jcs says what to do with it
            pass
    elif _simple(value):
        try:
            return _ENCODER.encode(value).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: jcs says what to do with it
            pass
    result: bytes = jcs.canonicalize(value)
    return result
