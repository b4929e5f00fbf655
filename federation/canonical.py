"""RFC 8785 (JCS) canonical JSON, with a fast path for the documents this house signs.

:func:`canonicalize` gives the same bytes as the ``jcs`` package. When a document holds only
objects with ASCII keys, arrays, strings, booleans, null and integers within JavaScript's safe
range (every tally, proposal and leaf the decisions room makes), RFC 8785's rules reduce to
sorted keys, no whitespace and JSON's minimal escaping, which the standard library's encoder
(in C) writes; anything else (a float, a key outside ASCII, a lone surrogate) goes to ``jcs``.
(A key outside ASCII must: RFC 8785 orders keys by their UTF-16 code units, Python by code
points, and the two disagree once a key holds a character above U+FFFF.)
Whether a document is that simple is read from the encoder's own text when it can be (ASCII,
no escapes: a few passes in C), and by walking the document otherwise.
A unit test holds the two to the same bytes.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jcs

SAFE_INTEGER = 2**53 - 1
_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))  # made once: it is reused
#: The string encoder ``_ENCODER`` itself uses (ensure_ascii=False: the C one, JSON's minimal escaping).
_QUOTE = json.encoder.encode_basestring


def _flat(value: Any) -> bool:
    """An object of strings under ASCII keys (a ballot leaf): the commonest case, checked at once."""
    return type(value) is dict and all(type(k) is str and k.isascii() and type(v) is str for k, v in value.items())


_PLAIN = frozenset({str, bool, type(None), int, dict, list})
_CONTAINERS = (dict, list)


def _simple(value: Any) -> bool:
    """Only ASCII string keys, strings, booleans, null and safe integers, at any depth.

    Each object or array is checked at once, in C (the set of its members' types), and only
    its objects and arrays are walked further: a tally's hundreds of tags cost one check."""
    if _flat(value):
        return True
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is dict:
            if not set(map(type, item)) <= {str} or not "".join(item).isascii():
                return False
            members = list(item.values())
        elif type(item) is list:
            members = item
        else:
            return type(item) in _PLAIN and (type(item) is not int or abs(item) <= SAFE_INTEGER)
        kinds = set(map(type, members))
        if not kinds <= _PLAIN:
            return False  # a float, an int subclass, anything else: jcs formats those
        if int in kinds and any(type(m) is int and abs(m) > SAFE_INTEGER for m in members):
            return False
        if dict in kinds or list in kinds:
            stack.extend(m for m in members if type(m) in _CONTAINERS)
    return True


def _flat_text(value: dict[str, str]) -> str:
    """``_ENCODER.encode`` of a flat object, written directly: a leaf is hashed 100,000 times in a big tally."""
    return "{" + ",".join([_QUOTE(key) + ":" + _QUOTE(value[key]) for key in sorted(value)]) + "}"


#: Deletes what may stand outside the strings of plain JSON text (the literals are taken out first).
_PUNCTUATION_AND_DIGITS = str.maketrans("", "", "[]{},:-0123456789")
_UNSAFE_INTEGER = re.compile(r"[0-9]{16}")  # 16 digits or more: maybe beyond 2**53, let the walk decide


def _encoded_if_plain(value: Any) -> str | None:
    """The encoder's text, when the text itself shows it is plain: ASCII, no escapes, and outside
    its strings nothing but punctuation, literals and integers of at most 15 digits (no float).
    A signed tally is checked this way in C in a few passes over its text; None: walk it instead.
    (Keys are taken as the json module takes them: parsed JSON only ever has string keys.)"""
    try:
        text = _ENCODER.encode(value)
    except (TypeError, ValueError):
        return None
    if "\\" in text or not text.isascii():
        return None
    outside = "".join(text.split('"')[0::2]).replace("true", "").replace("false", "").replace("null", "")
    if outside.translate(_PUNCTUATION_AND_DIGITS) or _UNSAFE_INTEGER.search(outside):
        return None
    return text


def canonicalize(value: Any) -> bytes:
    """The JCS bytes of ``value``."""
    if not _flat(value):
        text = _encoded_if_plain(value)
        if text is not None:
            return text.encode("ascii")
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
