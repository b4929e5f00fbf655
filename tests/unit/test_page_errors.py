"""Every refusal a page can show is marked for translation, so a Chinese page never shows English.

The modules that answer browsers (pages, forms, the session and account code they call) raise
:class:`node.core.errors.ApiError`; the error page shows its ``error`` and ``hint`` through the
catalogs (``| tr``), which translates only a :class:`node.core.i18n.Message` made by ``N_``. This
test reads those modules' source and fails on any ``ApiError`` whose message or hint is a plain
string; ``tests/unit/test_catalogs.py`` then makes sure each marked message is translated.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE_MODULES = [
    "node/web/pages.py",
    "node/web/people.py",
    "node/web/site.py",
    "node/membership/pages.py",
    "node/membership/sessions.py",
    "node/membership/accounts.py",
    "node/content/pages.py",
    "node/content/writing.py",
    "node/content/participation.py",
    "node/polls/pages.py",
    "node/branches/admin.py",
    "node/branches/pages.py",
    "node/decisions/pages.py",
    "node/decisions/composing.py",
    "node/decisions/views.py",
    "node/polls/outbound.py",  # the composer the poll forms and /decisions/new publish through
    "node/decisions/proposal.py",  # its parse_policy, for /decisions/new
    "node/decisions/issuing.py",  # the proposal's composer, for /decisions/new
]


def _marked(node: ast.expr | None) -> bool:
    if node is None or (isinstance(node, ast.Constant) and node.value is None):
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "N_":
        return True
    return isinstance(node, ast.Name | ast.Attribute)  # a message made elsewhere and passed on (checked there)


def unmarked(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("ApiError", "_bad")):
            continue
        first = 1 if getattr(node.func, "id", None) == "ApiError" else 0  # _bad(message, hint): a 400
        message = (
            node.args[first]
            if len(node.args) > first
            else next((k.value for k in node.keywords if k.arg == "error"), None)
        )
        hint = next((k.value for k in node.keywords if k.arg == "hint"), None)
        for what, value in (("message", message), ("hint", hint)):
            if not _marked(value):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: the {what} is not marked with N_")
    return found


@pytest.mark.parametrize("module", PAGE_MODULES)
def test_every_refusal_a_page_shows_is_marked_for_translation(module):
    assert not unmarked(ROOT / module), "\n".join(unmarked(ROOT / module))


def test_the_check_finds_an_unmarked_message():
    sample = ROOT / "tests" / "unit" / "_sample_page_errors.py"
    try:
        sample.write_text(
            'raise ApiError(400, "plain")\nraise ApiError(400, N_("marked"), hint="plain hint")\nraise _bad("plain")\n'
        )
        assert [line.split(": ", 1)[1] for line in unmarked(sample)] == [
            "the message is not marked with N_",
            "the hint is not marked with N_",
            "the message is not marked with N_",
        ]
    finally:
        sample.unlink()
