"""The SQLite store's write transactions recover from a transaction a cancelled task left open."""

from __future__ import annotations

import logging

from node.core.db import Database, fetch_value
from node.web.app import all_migrations


async def test_a_transaction_left_open_by_a_cancelled_begin_is_rolled_back_not_fatal(tmp_path, caplog):
    db = Database(tmp_path / "node.sqlite3", migrations=all_migrations())
    await db.open()
    try:
        # what a task cancelled while its BEGIN was on the connection's thread leaves behind: the
        # statement ran after its awaiter was gone, and no ROLLBACK followed
        await db._writer.execute("BEGIN IMMEDIATE")
        await db._writer.execute("INSERT INTO host_backoff (host, failures, retry_at) VALUES ('abandoned', 1, 0)")
        with caplog.at_level(logging.WARNING, logger="chapterhouse.db"):
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO host_backoff (host, failures, retry_at) VALUES ('kept', 1, 0)")
        assert "rolled back a transaction that a cancelled task had left open" in caplog.text
        assert await fetch_value(db.reader, "SELECT group_concat(host) FROM host_backoff") == "kept"
    finally:
        await db.close()
