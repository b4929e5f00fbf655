"""The house's rules, checked: one registry per application, rooms that register themselves,
and no function longer than a screen (the migrations' ledger: ``test_migrations.py``)."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.metadata
import io
import re
import sys
import tokenize
import tomllib
from pathlib import Path

import pytest

from node import content, polls
from node.web.app import build_registry, make_app
from tests.support.nodes import node_config

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("federation", "node", "inbox", "outbox")
MAX_FUNCTION_LINES = 60


def _functions(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def test_no_function_is_longer_than_sixty_lines():
    too_long = [
        f"{path.relative_to(ROOT)}:{function.lineno} {function.name} ({function.end_lineno - function.lineno + 1} lines)"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for function in _functions(path)
        if function.end_lineno - function.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not too_long, "split these functions:\n" + "\n".join(too_long)


def test_every_package_and_room_says_its_design_in_its_docstring():
    silent = []
    for init in sorted(path for package in PACKAGES for path in (ROOT / package).rglob("__init__.py")):
        docstring = ast.get_docstring(ast.parse(init.read_text())) or ""
        if len(docstring.split()) < 20:
            silent.append(str(init.relative_to(ROOT)))
    assert not silent, f"these packages need a docstring saying their flow: {silent}"


def test_two_applications_never_share_a_registry(tmp_path):
    first = make_app(node_config(tmp_path, "london"), start_workers=False)
    second = make_app(node_config(tmp_path, "paris"), start_workers=False)
    from node.core.appkeys import REGISTRY

    async def hook(ctx, activity):  # pragma: no cover - never runs
        return None

    first[REGISTRY].after("Create", hook)
    assert first[REGISTRY] is not second[REGISTRY]
    assert hook not in second[REGISTRY].after_handled.get("Create", [])
    assert first[REGISTRY].inbound["Follow"] == second[REGISTRY].inbound["Follow"]


def test_an_application_runs_only_the_rooms_it_is_given():
    full = build_registry()
    bare = build_registry(features=())
    assert {"Question", "Survey", "Minutes", "Event"} <= set(full.object_composers)
    assert set(bare.object_composers) == {"Note", "Article"}  # the outbox's own
    assert "Question" not in bare.reply_handlers and "Like" not in bare.inbound
    assert {"Join", "Leave", "Flag"} <= set(bare.inbound)  # membership and moderation are always there
    assert build_registry(features=(polls,)).reply_handlers.keys() == {"Question"}
    assert "Question" not in build_registry(features=(content,)).reply_handlers


def test_a_room_registered_twice_is_refused():
    registry = build_registry(features=())
    with pytest.raises(ValueError, match="registered twice"):
        polls.register(registry)
        polls.register(registry)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_top_levels(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((alias.name.split(".")[0], node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0], node.lineno


def test_the_running_node_imports_only_its_declared_dependencies():
    """A library the node imports at run time is in [project] dependencies; one used only by the
    tests or the benchmarks (httpsig) is declared in those extras instead, never here."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {
        _canonical(re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0]) for requirement in project["dependencies"]
    }
    distributions = importlib.metadata.packages_distributions()
    undeclared = [
        f"{path.relative_to(ROOT)}:{line} imports {top}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for top, line in _imported_top_levels(path)
        if top not in sys.stdlib_module_names
        and top not in PACKAGES
        and not {_canonical(name) for name in distributions.get(top, [])} & declared
    ]
    assert not undeclared, "declare these in [project] dependencies (or stop importing them):\n" + "\n".join(undeclared)
    assert "httpsig" not in declared and "httpsig>=1.3" in project["optional-dependencies"]["test"]


DOTTED = re.compile(r"(?<![\w./-])(?:node|federation|inbox|outbox)(?:\.[A-Za-z_]\w*)+")
SLASHED = re.compile(r"(?<![\w./-])(?:node|federation|inbox|outbox)(?:/\w+)*/\w+\.py\b")
FILE_SUFFIXES = {"py", "toml", "md", "html", "json", "jsonld", "po", "pot", "txt", "css", "js", "sqlite3"}


def _docstrings_and_comments(path: Path):
    """(line, text) of every docstring and comment of a Python file."""
    source = path.read_text()
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            docstring = ast.get_docstring(node, clean=False)
            if docstring:
                yield (node.body[0].lineno, docstring)
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield (token.start[0], token.string)


def _resolves(dotted: str) -> bool:
    """Whether ``dotted`` names a module, or a module's attribute (a dataclass's field counts)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            fields = getattr(found, "__dataclass_fields__", {})
            if hasattr(found, name):
                found = getattr(found, name)
            elif name in fields:
                found = fields[name]
            else:
                return False
        return True
    return False


def _named_paths(pattern: re.Pattern):
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, text in _docstrings_and_comments(path):
                for match in pattern.finditer(text):
                    yield f"{path.relative_to(ROOT)}:{line + text[: match.start()].count(chr(10))}", match.group()
    for number, text in enumerate((ROOT / "README.md").read_text().splitlines(), start=1):
        for match in pattern.finditer(text):
            yield f"README.md:{number}", match.group()


def test_every_module_path_named_in_docstrings_comments_and_the_readme_imports():
    """A dotted ``node.`` / ``federation.`` / ``inbox.`` / ``outbox.`` path in a docstring, a comment or
    the README names a module, or a module and its attribute, as the code is laid out now; a
    ``node/.../x.py`` path names a file that exists."""
    broken = [
        f"{where}: {dotted}"
        for where, dotted in _named_paths(DOTTED)
        if dotted.rsplit(".", 1)[-1] not in FILE_SUFFIXES and not _resolves(dotted)
    ]
    broken += [f"{where}: {file}" for where, file in _named_paths(SLASHED) if not (ROOT / file).is_file()]
    assert not broken, "these names point nowhere (renamed or moved?):\n" + "\n".join(broken)


def test_the_registry_is_described_once_and_whole_in_its_docstring():
    """node/core/registry.py's docstring names every table and hook of the registry; the README
    points there instead of keeping a second list that drifts."""
    from node.core import registry

    described = set(re.findall(r"``(\w+)``", registry.__doc__ or ""))
    fields = {field.name for field in dataclasses.fields(registry.Registry)} - {"features"}
    assert not fields - described, f"describe these in node/core/registry.py's docstring: {sorted(fields - described)}"
    readme = (ROOT / "README.md").read_text()
    assert "node/core/registry.py" in readme
    listed = [line for line in readme.splitlines() if len(set(re.findall(r"`(\w+)`", line)) & fields) > 3]
    assert not listed, f"the README lists the registry's hooks again; point to node/core/registry.py instead: {listed}"
