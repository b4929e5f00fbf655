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
