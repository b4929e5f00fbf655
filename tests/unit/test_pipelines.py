"""The two pipelines import neither each other nor a room, not even for type checkers: what they need
of each other and of moderation is a type of the core (node/core/ports.py), wired by the app factory."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROOMS = ("node.membership", "node.polls", "node.content", "node.moderation", "node.branches", "node.decisions")


def _imported(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.setdefault(node.module, set()).add(str(path.relative_to(ROOT)))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    found.setdefault(alias.name, set()).add(str(path.relative_to(ROOT)))
    return found


def test_the_inbox_and_the_outbox_name_neither_each_other_nor_a_room():
    for package, other in (("inbox", "outbox"), ("outbox", "inbox")):
        wrong = {
            module: files
            for module, files in _imported(package).items()
            if module.split(".")[0] == other or module.startswith(ROOMS)
        }
        assert not wrong, f"{package} imports {wrong}"


def test_moderations_blocklist_is_the_cores_blocks():
    from node.core.ports import Blocks
    from node.moderation.blocks import BlockList

    for name in ("blocked", "url_blocked", "load"):
        assert callable(getattr(BlockList, name)) and hasattr(Blocks, name)
