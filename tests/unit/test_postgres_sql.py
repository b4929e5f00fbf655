"""The PostgreSQL store's translation of the rooms' SQL: parameters numbered, NUL kept out."""

from __future__ import annotations

import pytest

from node.core.db import dialects
from node.core.postgres import _arguments, numbered, redacted


def test_question_marks_and_names_are_numbered_outside_strings_and_casts():
    assert numbered("SELECT ? , '?' , x::jsonb FROM t WHERE a = ? -- ?\n") == (
        "SELECT $1 , '?' , x::jsonb FROM t WHERE a = $2 -- ?\n",
        None,
    )
    assert numbered("UPDATE t SET a = :now WHERE b = :who OR c = :now AND d = ':no'") == (
        "UPDATE t SET a = $1 WHERE b = $2 OR c = $1 AND d = ':no'",
        ("now", "who"),
    )
    with pytest.raises(ValueError, match="mixes"):
        numbered("SELECT ? WHERE a = :b")


def test_arguments_take_the_postgres_text_and_only_the_names_used():
    sql = dialects(sqlite="SELECT MIN(a, ?)", postgres="SELECT LEAST(a, ?)")
    assert _arguments(sql, (1,)) == ("SELECT LEAST(a, $1)", (1,))
    assert _arguments("SELECT :a", {"a": 1, "unused": 2}) == ("SELECT $1", (1,))
    with pytest.raises(TypeError, match="takes a dict"):
        _arguments("SELECT :a", (1,))


def test_a_nul_in_a_text_parameter_becomes_a_replacement_character():
    _, args = _arguments("SELECT * FROM objects WHERE id = ? AND n = ?", ("https://x/\x00", 3))
    assert args == ("https://x/\ufffd", 3)
    # nor its JSON escape, which PostgreSQL's jsonb refuses (a stored document read as JSON would fail)
    _, args = _arguments("INSERT INTO t (body) VALUES (?)", ('{"content": "a\\u0000b"}',))
    assert args == ('{"content": "a\\ufffdb"}',)


def test_a_password_never_shows():
    assert redacted("postgresql://u:s3cret@db/x?search_path=a") == "postgresql://u:***@db/x?search_path=a"
    assert redacted("postgresql://u@db/x") == "postgresql://u@db/x"
