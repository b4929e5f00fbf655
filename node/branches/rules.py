"""The tree's rules, as pure functions: each returns why a link is refused, or None.

- **Levels.** A parent is of a higher level than its child (chapter < region < nation <
  international); with ``[tree] allow_skipping_levels = false``, exactly one level higher.
- **No cycles.** A node never takes as parent a node of its own subtree, and never accepts a
  child that is one of its ancestors (or itself). Levels alone rule cycles out while levels
  stay fixed; this check holds when a node's level changes or is misstated.
- **One parent.** A node that is linked (or waiting) below one parent asks no other.
"""

from __future__ import annotations

from collections.abc import Iterable

from node.core.config import LEVELS


def level_refusal(child_level, parent_level, *, allow_skipping: bool) -> str | None:
    if child_level not in LEVELS:
        return f"{child_level!r} is not a level of the tree ({', '.join(LEVELS)})"
    if parent_level not in LEVELS:
        return f"{parent_level!r} is not a level of the tree ({', '.join(LEVELS)})"
    gap = LEVELS.index(parent_level) - LEVELS.index(child_level)
    if gap <= 0:
        return f"a {child_level} cannot be linked below a {parent_level}: a parent must be of a higher level"
    if gap > 1 and not allow_skipping:
        return (
            f"a {child_level} cannot be linked directly below a {parent_level}: this node does not allow"
            f" skipping levels (the parent of a {child_level} is a {LEVELS[LEVELS.index(child_level) + 1]})"
        )
    return None


def cycle_refusal(child: str, parent: str, parent_ancestors: Iterable[str]) -> str | None:
    """Would linking ``child`` below ``parent`` (whose ancestors are given) make a cycle?"""
    if child == parent:
        return "a node cannot be its own parent"
    if child in set(parent_ancestors):
        return f"{child} is an ancestor of {parent}: linking it below would make a cycle"
    return None


def subtree_refusal(parent: str, own_subtree: Iterable[str]) -> str | None:
    if parent in set(own_subtree):
        return f"{parent} is in this node's own subtree: a node never takes a parent from below it"
    return None


def second_parent_refusal(current_parent: str | None, state: str | None, asked: str) -> str | None:
    if current_parent is None or (current_parent == asked and state == "pending"):
        return None
    if current_parent == asked:
        return f"this node is already linked below {asked}"
    waiting = "waits for an answer from" if state == "pending" else "is linked below"
    return f"this node already {waiting} {current_parent}; a node has at most one parent (send Leave first)"
