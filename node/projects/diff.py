"""A word-level diff of two revisions of a draft, as HTML: removed words in ``<del>``, added in ``<ins>``.

Texts are split into words and the whitespace between them (so line breaks are kept), compared
with :class:`difflib.SequenceMatcher` (no junk heuristics: a draft's common words matter), and
every piece is escaped before it is wrapped; line breaks become ``<br>`` (a blank line: a paragraph's
end) so the result reads as the text does, in any block.
"""

from __future__ import annotations

import difflib
import html
import re

_TOKENS = re.compile(r"\s+|[^\s]+")


def _escaped(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def tokens(text: str) -> list[str]:
    return _TOKENS.findall(text)


def html_diff(old: str, new: str) -> str:
    before, after = tokens(old), tokens(new)
    pieces: list[str] = []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        removed, added = "".join(before[i1:i2]), "".join(after[j1:j2])
        if op == "equal":
            pieces.append(_escaped(added))
            continue
        if removed:
            pieces.append(f"<del>{_escaped(removed)}</del>")
        if added:
            pieces.append(f"<ins>{_escaped(added)}</ins>")
    return "".join(pieces)
