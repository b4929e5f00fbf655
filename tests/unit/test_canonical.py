"""The fast canonical JSON gives the jcs package's bytes, and falls back to it when it must."""

from __future__ import annotations

import jcs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from federation.canonical import canonicalize

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@given(JSON)
def test_the_same_bytes_as_jcs(value):
    assert canonicalize(value) == jcs.canonicalize(value)


def test_known_shapes():
    for value in (
        {"b": [1, 'x\n\u001f"\\', None, True], "a": {"é": 1.5}},
        {"z": 2**53, "a": "\u2028/<"},
    ):
        assert canonicalize(value) == jcs.canonicalize(value)


def test_a_lone_surrogate_is_refused_as_jcs_refuses_it():
    with pytest.raises(UnicodeEncodeError):
        jcs.canonicalize({"tag": "\ud800"})
    with pytest.raises(UnicodeEncodeError):
        canonicalize({"tag": "\ud800"})


@given(st.dictionaries(st.text(st.characters(max_codepoint=127), max_size=8), st.text(), max_size=5))
def test_flat_objects_of_strings_as_jcs(value):
    """A ballot leaf's shape (ASCII keys, string values: written directly) gives jcs's bytes too."""
    assert canonicalize(value) == jcs.canonicalize(value)


# Keys and values beyond ASCII (no lone surrogates: both refuse those), weighted towards where RFC 8785 and Python disagree on order:
# JCS sorts keys by UTF-16 code units, Python by code points, so a key above U+FFFF (two
# surrogates, 0xD800..) sorts BEFORE one in U+E000..U+FFFF for JCS and after it for Python.
ORDER_TRAPS = st.sampled_from(["\ue000", "\uffff", "\U00010000", "\U0001f600", "é", "z", "A", "\u2028", "\x7f", "\x1f"])
WIDE_TEXT = st.lists(ORDER_TRAPS | st.characters(exclude_categories=("Cs",)), max_size=6).map("".join)
WIDE_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | WIDE_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(WIDE_TEXT, inner, max_size=5),
    max_leaves=20,
)


@given(st.dictionaries(WIDE_TEXT, WIDE_TEXT, max_size=6))
def test_flat_objects_with_keys_and_values_beyond_ascii_as_jcs(value):
    assert canonicalize(value) == jcs.canonicalize(value)


@given(WIDE_JSON)
def test_nested_documents_with_keys_and_values_beyond_ascii_as_jcs(value):
    assert canonicalize(value) == jcs.canonicalize(value)


def test_keys_are_ordered_by_utf16_code_units_as_rfc_8785_says():
    """RFC 8785 §3.2.3: U+1F600 is D83D DE00 in UTF-16, so it sorts before U+FFFF (and after 'z')."""
    value = {"\uffff": "b", "\U0001f600": "a", "z": "c"}
    written = '{"z":"c","\U0001f600":"a","\uffff":"b"}'.encode()
    assert jcs.canonicalize(value) == written
    assert canonicalize(value) == written
    assert canonicalize({"k": value}) == b'{"k":' + written + b"}"
