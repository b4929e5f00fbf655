"""The moderation tables' schema migrations (applied in order by ``node.core.migrations``).

A migration is never edited once released: add a new one, numbered after this room's highest
(numbers are per room; ``node.core.migrations`` records each applied one in its ledger).
"""

from __future__ import annotations

from node.core.migrations import Migration

MIGRATIONS: list[Migration] = [
    Migration(
        7,
        "moderation",
        """
        -- node/moderation/blocks.py: domains and actors the admin blocked
        CREATE TABLE blocks (
            kind       TEXT NOT NULL CHECK (kind IN ('domain', 'actor')),
            value      TEXT NOT NULL,
            reason     TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            PRIMARY KEY (kind, value)
        );

        -- node/moderation/reports.py: reports (Flag) received and sent
        CREATE TABLE reports (
            activity_id TEXT PRIMARY KEY,
            direction   TEXT NOT NULL CHECK (direction IN ('received', 'sent')),
            reporter    TEXT NOT NULL,
            targets     TEXT NOT NULL,
            content     TEXT NOT NULL,
            created_at  REAL NOT NULL
        );
        CREATE INDEX reports_by_time ON reports (created_at);
        """,
    ),
]
