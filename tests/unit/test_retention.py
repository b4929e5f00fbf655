"""Retention (node.core.retention): exactly what ended before the cutoff is deleted, in bounded batches.

Processed inbox items (done, dead) and finished deliveries older than ``[storage]
keep_processed_days`` / ``keep_delivered_days`` go; an item acknowledged but not yet processed
(queued, however old) and a delivery still queued stay; expired sessions go, live ones stay.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from node.core.config import ConfigError, StorageConfig, parse_config
from node.core.db import Database
from node.core.retention import DAY, Pruner
from node.membership import sessions
from node.web.app import all_migrations

NOW = 1_000 * DAY
KEEP = 30  # days


def _seed(path: Path) -> None:
    """Inbox items and deliveries of every state, either side of the cutoff, in arrival order."""
    with closing(sqlite3.connect(path)) as conn:
        rows = []
        # (label, state, received, finished): received in order; finished after received
        cases = [
            ("old-done", "done", NOW - 40 * DAY, NOW - 39 * DAY),
            ("old-dead", "dead", NOW - 40 * DAY, NOW - 35 * DAY),
            ("old-queued", "queued", NOW - 40 * DAY, None),  # acknowledged, never processed: kept
            ("old-done-late", "done", NOW - 35 * DAY, NOW - 29 * DAY),  # finished inside retention: kept
            ("recent-done", "done", NOW - 2 * DAY, NOW - 2 * DAY),
            ("recent-queued", "queued", NOW - DAY, None),
        ]
        for n in range(2_500):  # many old processed rows: more than one batch
            cases.insert(0, (f"bulk-{n}", "done", NOW - 50 * DAY + n, NOW - 50 * DAY + n + 1))
        cases.sort(key=lambda case: case[2])
        for label, state, received, finished in cases:
            rows.append(
                (f"https://remote.example/{label}", "shared", "a", "Create", "{}", received, state, received, finished)
            )
        conn.executemany(
            "INSERT INTO inbox_items (activity_id, recipient, actor_id, type, body, received_at, state,"
            " next_attempt_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.executemany(
            "INSERT INTO deliveries (activity_id, inbox, host, signer, state, next_attempt_at, created_at,"
            " finished_at) VALUES (?, 'https://h.example/inbox', 'h.example', 'london', ?, ?, ?, ?)",
            [
                (activity_id, state, received, received, finished)
                for activity_id, _, _, _, _, received, state, _, finished in rows
            ],
        )
        conn.executemany(
            "INSERT INTO sessions (token_hash, username, is_admin, csrf_token, created_at, expires_at)"
            " VALUES (?, 'ann', 0, 'x', ?, ?)",
            [(f"expired-{n}", NOW - 20 * DAY, NOW - DAY + n) for n in range(1_500)]
            + [("live", NOW - DAY, NOW + DAY), ("just-now", NOW - DAY, NOW)],
        )
        conn.commit()


def _labels(path: Path, table: str) -> set[str]:
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute(f"SELECT activity_id FROM {table}").fetchall()
    return {row[0].rsplit("/", 1)[-1] for row in rows}


def _sessions(path: Path) -> set[str]:
    with closing(sqlite3.connect(path)) as conn:
        return {row[0] for row in conn.execute("SELECT token_hash FROM sessions")}


async def test_exactly_what_ended_before_retention_is_deleted_and_nothing_unprocessed(tmp_path):
    path = tmp_path / "node.sqlite3"
    db = Database(path, migrations=all_migrations())
    await db.open()
    try:
        _seed(path)
        storage = StorageConfig(path, keep_processed_days=KEEP, keep_delivered_days=KEEP, prune_batch_rows=500)
        pruner = Pruner(storage, steps={"expired sessions": sessions.prune_expired})
        deleted = await pruner.prune(db, NOW, pause=0)
        kept = {"old-queued", "old-done-late", "recent-done", "recent-queued"}
        assert _labels(path, "inbox_items") == kept
        assert _labels(path, "deliveries") == kept
        assert _sessions(path) == {"live"}  # expired (expires_at <= now) go, the live one stays
        assert deleted == {"inbox items": 2_502, "deliveries": 2_502, "expired sessions": 1_501}
        assert await pruner.prune(db, NOW, pause=0) == {"inbox items": 0, "deliveries": 0, "expired sessions": 0}
    finally:
        await db.close()


async def test_zero_days_keeps_everything(tmp_path):
    path = tmp_path / "node.sqlite3"
    db = Database(path, migrations=all_migrations())
    await db.open()
    try:
        _seed(path)
        before = _labels(path, "inbox_items"), _labels(path, "deliveries")
        pruner = Pruner(StorageConfig(path, keep_processed_days=0, keep_delivered_days=0))
        assert await pruner.prune(db, NOW, pause=0) == {}
        assert (_labels(path, "inbox_items"), _labels(path, "deliveries")) == before
    finally:
        await db.close()


def _config(storage: dict) -> dict:
    return {
        "node": {
            "base_url": "http://127.0.0.1:8080",
            "listen": "127.0.0.1:8080",
            "name": "london",
            "display_name": "London",
        },
        "storage": {"database": "x.sqlite3", **storage},
        "admin": {"token": "a-long-admin-token"},
    }


def test_the_retention_keys_are_read_and_checked(tmp_path):
    config = parse_config(_config({"keep_processed_days": 7, "keep_delivered_days": 0.5}), relative_to=tmp_path)
    assert config.storage.keep_processed_days == 7 and config.storage.keep_delivered_days == 0.5
    assert config.storage.database == (tmp_path / "x.sqlite3").resolve()
    with pytest.raises(ConfigError, match="keep_processed_days"):
        parse_config(_config({"keep_processed_days": -1}), relative_to=tmp_path)
    with pytest.raises(ConfigError, match="prune_batch_rows"):
        parse_config(_config({"prune_batch_rows": 0}), relative_to=tmp_path)
