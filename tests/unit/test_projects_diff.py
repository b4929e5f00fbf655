"""The diff of two revisions: right for what people write, bounded for what an attacker writes.

The diff page is public, and difflib's longest-match search costs up to the product of the two
lengths: "a a a ... a" against itself with one word changed took 14 s at 1,500 words. These tests
check the bounds by what the comparison does (never by timing it)."""

from __future__ import annotations

from node.projects import diff


def test_a_changed_word_is_removed_and_added_and_the_rest_kept():
    changed = diff.html_diff(
        "Members meet every month.\nOfficers are elected.", "Members meet every week.\nOfficers are elected."
    )
    assert changed == "Members meet every <del>month.</del><ins>week.</ins><br>Officers are elected."
    assert diff.html_diff("one two", "one two three") == "one two<ins> three</ins>"


def test_what_is_typed_stays_text():
    assert diff.html_diff("<b>x</b>", "<i>x</i>") == "<del>&lt;b&gt;x&lt;/b&gt;</del><ins>&lt;i&gt;x&lt;/i&gt;</ins>"


def test_ordinary_prose_is_compared_exactly():
    before = diff.tokens("the statutes of the organisation and the rules of the chapters " * 20)
    assert diff._matcher(before, before).autojunk is False


def test_a_text_repeating_one_word_no_longer_lets_it_anchor_matches():
    before, after = diff.tokens("a " * 745), diff.tokens("a " * 300 + "b " + "a " * 444)
    assert diff._matcher(before, after).autojunk is True
    changed = diff.html_diff("a " * 745, "a " * 300 + "b " + "a " * 444)
    assert "<ins>" in changed and "b" in changed.replace("<br>", "")


def test_long_texts_are_compared_line_by_line_then_word_by_word_inside_a_changed_line():
    lines = [f"Article {n}: members of chapter {n} meet on day {n}." for n in range(400)]
    edited = [*lines[:200], "Article 200: members of chapter 200 meet on day 201.", *lines[201:]]
    changed = diff.html_diff("\n".join(lines), "\n".join(edited))
    assert len(diff.tokens("\n".join(lines))) > diff.WORD_LIMIT
    assert "day <del>200.</del><ins>201.</ins>" in changed
    assert changed.count("<del>") == 1 and changed.count("<ins>") == 1


def test_past_the_line_limit_the_texts_are_shown_removed_and_added_whole():
    old, new = "x\n" * (diff.LINE_LIMIT + 1), "y\n" * (diff.LINE_LIMIT + 1)
    changed = diff.html_diff(old, new)
    assert changed.startswith("<del>") and changed.count("<del>") == 1 and changed.count("<ins>") == 1
