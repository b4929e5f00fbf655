"""`chapterhouse migrate`: the migrations a store lacks, applied and named, on either store."""

from __future__ import annotations

import tomllib
from pathlib import Path

from node.cli import main
from node.web.app import all_migrations
from tests.support.stores import new_schema, on_postgres, postgres_url, query
from tests.support.subprocess_node import REPO_ROOT, _dump_toml


def _config(tmp_path: Path) -> tuple[Path, str]:
    raw = tomllib.loads((REPO_ROOT / "config.example.toml").read_text(encoding="utf-8"))
    # a schema never used (not one emptied after an earlier test: its ledger is complete)
    address = postgres_url(new_schema("migrate")) if on_postgres() else str(tmp_path / "london.sqlite3")
    raw["storage"]["database"] = address
    path = tmp_path / "london.toml"
    path.write_text(_dump_toml(raw), encoding="utf-8")
    return path, address


def test_migrate_applies_what_the_store_lacks_once_and_says_so(tmp_path, capsys):
    config, address = _config(tmp_path)
    assert main(["migrate", "--config", str(config)]) == 0
    first = capsys.readouterr().out
    everything = all_migrations()
    assert f"applied {len(everything)} migration(s)" in first and "core 1, core 8" in first
    assert main(["migrate", "--config", str(config)]) == 0
    assert f"is up to date ({len(everything)} migrations recorded)" in capsys.readouterr().out
    recorded = query(address, "SELECT room, number FROM schema_migrations")
    assert sorted(recorded) == sorted(m.key for m in everything)


def test_migrate_says_in_one_line_when_the_store_cannot_be_reached(tmp_path, capsys):
    config = tmp_path / "london.toml"
    raw = tomllib.loads((REPO_ROOT / "config.example.toml").read_text(encoding="utf-8"))
    raw["storage"]["database"] = "postgresql://chapterhouse:s3cret@127.0.0.1:1/none"
    config.write_text(_dump_toml(raw), encoding="utf-8")
    assert main(["migrate", "--config", str(config)]) == 2
    said = capsys.readouterr().err
    assert "cannot reach PostgreSQL at postgresql://chapterhouse:***@127.0.0.1:1/none" in said
    assert "s3cret" not in said
