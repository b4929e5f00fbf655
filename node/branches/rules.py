"""The tree's rules, as pure functions: each returns why a link is refused, or None.

- **Levels.** A parent is of a higher level than its child (chapter < region < nation <
  international); with ``[tree] allow_skipping_levels = false``, exactly one level higher.
- **No cycles.** A node never takes as parent a node of its own subtree, and never accepts a
  child that is one of its ancestors (or itself). Levels alone rule cycles out while levels
  stay fixed; this check holds when a node's level changes or is misstated.
- **One parent.** A node that is linked (or waiting) below one parent asks no other, and a
  parent refuses a child that says it is linked below another.

The rules compare actor ids; a reason names each branch by its display name and place
(``node.branches.names.label``), never by its actor URL, and is a ``node.core.i18n.N_``
message: its English text is what the ``Reject``'s ``content`` and the JSON say, and a page
shows it in the reader's language (level names too).
"""

from __future__ import annotations

from collections.abc import Iterable

from node.branches.names import BranchName, label
from node.core.config import LEVELS
from node.core.i18n import N_, Message, joined

LEVEL_NAMES = {
    "chapter": N_("chapter"),
    "region": N_("region"),
    "nation": N_("nation"),
    "international": N_("international"),
}


def _unknown_level(level) -> Message:
    return N_(
        "{level} is not a level of the tree ({levels})",
        level=repr(level),
        levels=joined([LEVEL_NAMES[known] for known in LEVELS], ", "),
    )


def level_refusal(child_level, parent_level, *, allow_skipping: bool) -> Message | None:
    if child_level not in LEVELS:
        return _unknown_level(child_level)
    if parent_level not in LEVELS:
        return _unknown_level(parent_level)
    gap = LEVELS.index(parent_level) - LEVELS.index(child_level)
    child, parent = LEVEL_NAMES[child_level], LEVEL_NAMES[parent_level]
    if gap <= 0:
        return N_(
            "a {child} cannot be linked below a {parent}: a parent must be of a higher level",
            child=child,
            parent=parent,
        )
    if gap > 1 and not allow_skipping:
        return N_(
            "a {child} cannot be linked directly below a {parent}: this node does not allow skipping levels"
            " (the parent of a {child} is a {next})",
            child=child,
            parent=parent,
            next=LEVEL_NAMES[LEVELS[LEVELS.index(child_level) + 1]],
        )
    return None


def cycle_refusal(child: BranchName, parent: BranchName, parent_ancestors: Iterable[str]) -> Message | None:
    """Would linking ``child`` below ``parent`` (whose ancestors' ids are given) make a cycle?"""
    if child.id == parent.id:
        return N_("a node cannot be its own parent")
    if child.id in set(parent_ancestors):
        return N_(
            "{child} is an ancestor of {parent}: linking it below would make a cycle",
            child=label(child),
            parent=label(parent),
        )
    return None


def subtree_refusal(parent: BranchName, own_subtree: Iterable[str]) -> Message | None:
    if parent.id in set(own_subtree):
        return N_(
            "{parent} is in this node's own subtree: a node never takes a parent from below it", parent=label(parent)
        )
    return None


def second_parent_refusal(current_parent: BranchName | None, state: str | None, asked: BranchName) -> Message | None:
    """May this node ask ``asked`` to be its parent, when it has ``current_parent`` in ``state``?"""
    if current_parent is None or (current_parent.id == asked.id and state == "pending"):
        return None
    if current_parent.id == asked.id:
        return N_("this node is already linked below {parent}", parent=label(asked))
    if state == "pending":
        return N_(
            "this node already waits for an answer from {parent}; a node has at most one parent (send Leave first)",
            parent=label(current_parent),
        )
    return N_(
        "this node is already linked below {parent}; a node has at most one parent (send Leave first)",
        parent=label(current_parent),
    )


def other_parent_refusal(child: BranchName, its_parent: BranchName) -> Message:
    """A child that says it is linked below another parent (``its_parent``) asks this node."""
    return N_(
        "{child} is linked below {parent}; a node has at most one parent", child=label(child), parent=label(its_parent)
    )
