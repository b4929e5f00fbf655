"""A word-level diff of two revisions of a draft, as HTML: removed words in ``<del>``, added in ``<ins>``.

Texts are split into words and the whitespace between them (so line breaks are kept), compared
with :class:`difflib.SequenceMatcher` (no automatic junk: a draft's common words matter; only the
spaces between words, the same everywhere, never anchor a match on their own), and every piece is escaped
before it is wrapped; line breaks become ``<br>`` (a blank line: a paragraph's
end) so the result reads as the text does, in any block.

The diff page is public, and a comparison costs up to the product of the two lengths, so the work
is bounded (a draft may hold 100,000 characters): two texts of more than :data:`WORD_LIMIT` words
are compared line by line first, and word by word only inside a changed stretch of lines small
enough; past :data:`LINE_LIMIT` lines, or in a changed stretch too long, the stretch is shown
removed and added whole; and texts that repeat the same words so often that the pairs of equal
words pass :data:`PAIR_LIMIT` are compared with difflib's heuristic (a piece in more than 1 % of
the places no longer anchors a match). The worst case is then a few tenths of a second of CPU.
"""

from __future__ import annotations

import difflib
import html
import re
from collections import Counter

WORD_LIMIT = 1_500  # words a side compared word by word
LINE_LIMIT = 1_000  # lines a side compared line by line
PAIR_LIMIT = 100_000  # pairs of equal pieces past which the common ones no longer anchor a match

_TOKENS = re.compile(r"\s+|[^\s]+")


def _escaped(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def tokens(text: str) -> list[str]:
    return _TOKENS.findall(text)


def _whole(removed: str, added: str) -> list[str]:
    pieces = []
    if removed:
        pieces.append(f"<del>{_escaped(removed)}</del>")
    if added:
        pieces.append(f"<ins>{_escaped(added)}</ins>")
    return pieces


def _blank(piece: str) -> bool:
    """Spaces between words: the same everywhere, they never anchor a match (a line break does)."""
    return piece.isspace() and "\n" not in piece


def _matcher(before: list[str], after: list[str]) -> difflib.SequenceMatcher:
    """Exact, unless the texts repeat the same pieces so much ("a a a a ...") that finding the
    longest matches would take seconds: then pieces more common than 1 % no longer anchor one."""
    counts = Counter(after)
    pairs = sum(counts[piece] for piece in before if not _blank(piece))
    return difflib.SequenceMatcher(_blank, before, after, autojunk=pairs > PAIR_LIMIT)


def _compared(before: list[str], after: list[str], fine) -> list[str]:
    """The pieces of a diff of two token (or line) lists; ``fine`` compares a changed stretch closer."""
    pieces: list[str] = []
    matcher = _matcher(before, after)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            pieces.append(_escaped("".join(after[j1:j2])))
        else:
            pieces.extend(fine("".join(before[i1:i2]), "".join(after[j1:j2])))
    return pieces


def _by_words(old: str, new: str) -> list[str]:
    before, after = tokens(old), tokens(new)
    if len(before) > WORD_LIMIT or len(after) > WORD_LIMIT:
        return _whole(old, new)
    return _compared(before, after, _whole)


def html_diff(old: str, new: str) -> str:
    before, after = tokens(old), tokens(new)
    if len(before) <= WORD_LIMIT and len(after) <= WORD_LIMIT:
        return "".join(_compared(before, after, _whole))
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    if len(old_lines) > LINE_LIMIT or len(new_lines) > LINE_LIMIT:
        return "".join(_whole(old, new))
    return "".join(_compared(old_lines, new_lines, _by_words))
