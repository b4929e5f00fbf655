"""`chapterhouse backup` and `restore`, against a node running as a real process."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.c2s import get_json, publish
from tests.support.subprocess_node import SubprocessNode

ROOT = Path(__file__).resolve().parents[2]


# `chapterhouse backup` copies a SQLite file; a PostgreSQL node is backed up with pg_dump
pytestmark = pytest.mark.sqlite_only


def chapterhouse(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "node.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


async def test_backup_of_a_busy_node_restores_to_a_working_node(tmp_path):
    node = SubprocessNode(tmp_path / "node")
    await node.start()
    try:
        first = [await publish(node, {"type": "Note", "content": f"before backup {i}"}) for i in range(5)]
        assert all(status == 201 for status, _, _ in first)

        # back up while the node keeps publishing
        writes = asyncio.gather(*(publish(node, {"type": "Note", "content": f"during {i}"}) for i in range(20)))
        result = await asyncio.to_thread(
            chapterhouse, "backup", "--config", str(node.config_path), "--to", str(tmp_path / "backup.sqlite3")
        )
        await writes
        assert result.returncode == 0, result.stderr
        assert "integrity ok" in result.stdout

        again = chapterhouse("backup", "--config", str(node.config_path), "--to", str(tmp_path / "backup.sqlite3"))
        assert again.returncode == 2 and "never overwrite" in again.stderr

        refused = chapterhouse("restore", str(tmp_path / "backup.sqlite3"), "--config", str(node.config_path))
        assert refused.returncode == 2 and "stop the node first" in refused.stderr

        _, after_backup, _ = await publish(node, {"type": "Note", "content": "after the backup"})
        node.kill()

        restored = chapterhouse("restore", str(tmp_path / "backup.sqlite3"), "--config", str(node.config_path))
        assert restored.returncode == 0, restored.stderr
        assert (tmp_path / "node" / "london.sqlite3.before-restore").exists()

        await node.restart()
        for _, result_, _ in first:  # what was there before the backup is there again
            status, note = await get_json(result_["object"])
            assert status == 200 and note["content"].startswith("before backup")
        status, _ = await get_json(after_backup["object"])
        assert status == 404  # published after the backup: not in it
        with sqlite3.connect(tmp_path / "backup.sqlite3") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        node.kill()


def test_restore_refuses_a_file_that_is_not_a_database(tmp_path):
    bogus = tmp_path / "bogus.sqlite3"
    bogus.write_bytes(b"this is not sqlite" * 100)
    config = tmp_path / "c.toml"
    config.write_text((ROOT / "config.example.toml").read_text())
    result = chapterhouse("restore", str(bogus), "--config", str(config))
    assert result.returncode == 2 and "not a usable SQLite database" in result.stderr
