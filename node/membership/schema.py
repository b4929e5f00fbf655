"""The membership tables' schema migrations (applied in order by ``node.core.migrations``).

A migration is never edited once released: add a new one, numbered after this room's highest
(numbers are per room; ``node.core.migrations`` records each applied one in its ledger).
"""

from __future__ import annotations

from node.core.migrations import Migration

MIGRATIONS: list[Migration] = [
    Migration(
        2,
        "web sessions",
        """
        -- node/membership/sessions.py: signed-in people on the node's pages (the cookie holds a token; we keep its hash)
        CREATE TABLE sessions (
            token_hash TEXT PRIMARY KEY,
            username   TEXT,
            is_admin   INTEGER NOT NULL DEFAULT 0,
            csrf_token TEXT NOT NULL,
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL
        );
        CREATE INDEX sessions_by_expiry ON sessions (expires_at);
        """,
    ),
    Migration(
        3,
        "members",
        """
        -- node/membership/members.py: who belongs to a chapter (remote actors and local accounts), with a role
        CREATE TABLE members (
            chapter      TEXT NOT NULL,
            actor_id     TEXT NOT NULL,
            role         TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'secretary', 'member')),
            state        TEXT NOT NULL CHECK (state IN ('requested', 'active', 'left', 'removed')),
            is_local     INTEGER NOT NULL DEFAULT 0,
            inbox        TEXT,
            shared_inbox TEXT,
            requested_at REAL,
            joined_at    REAL,
            changed_at   REAL NOT NULL,
            PRIMARY KEY (chapter, actor_id)
        );
        CREATE INDEX members_by_state ON members (chapter, state, joined_at);
        """,
    ),
    Migration(
        4,
        "accounts",
        """
        -- node/membership/accounts.py: local member accounts (Person actors on this node) and their password hashes
        CREATE TABLE accounts (
            username      TEXT PRIMARY KEY,
            display_name  TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            created_at    REAL NOT NULL
        );
        """,
    ),
    Migration(
        9,
        "admin sessions tied to the admin token",
        """
        -- node/membership/sessions.py: which [admin] token an admin session was opened with (a
        -- keyed hash of it); after a rotation the old sessions no longer act as the admin
        ALTER TABLE sessions ADD COLUMN admin_token_tag TEXT;
        """,
    ),
]
