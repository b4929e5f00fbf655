"""The core tables' schema migrations (applied in order by ``node.core.migrations``).

A migration is never edited once released: add a new one, numbered after this room's highest
(numbers are per room; ``node.core.migrations`` records each applied one in its ledger).
"""

from __future__ import annotations

from node.core.migrations import Migration

MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "initial",
        """
        -- node/core/keys.py: signing keys of local actors
        CREATE TABLE actor_keys (
            username    TEXT NOT NULL,
            kind        TEXT NOT NULL CHECK (kind IN ('rsa', 'ed25519')),
            private_pem TEXT NOT NULL,
            public_pem  TEXT NOT NULL,
            created_at  REAL NOT NULL,
            PRIMARY KEY (username, kind)
        );

        -- node/core/objects.py: what local actors published, objects and activities alike, served at their ids
        CREATE TABLE objects (
            seq        INTEGER PRIMARY KEY AUTOINCREMENT,
            id         TEXT NOT NULL UNIQUE,
            kind       TEXT NOT NULL CHECK (kind IN ('object', 'activity')),
            type       TEXT NOT NULL,
            author     TEXT NOT NULL,
            object_id  TEXT,
            visibility TEXT NOT NULL CHECK (visibility IN ('public', 'unlisted', 'followers', 'members', 'direct')),
            data       TEXT NOT NULL,
            published  REAL NOT NULL,
            updated    REAL,
            deleted    REAL
        );
        CREATE INDEX objects_by_author ON objects (author, kind, seq);

        -- node/core/objects.py: pinned objects (the featured collection)
        CREATE TABLE featured (
            username  TEXT NOT NULL,
            object_id TEXT NOT NULL,
            added_at  REAL NOT NULL,
            PRIMARY KEY (username, object_id)
        );

        -- node/core/follows.py: remote actors following a local actor
        CREATE TABLE followers (
            username     TEXT NOT NULL,
            follower_id  TEXT NOT NULL,
            follow_id    TEXT NOT NULL,
            inbox        TEXT NOT NULL,
            shared_inbox TEXT,
            state        TEXT NOT NULL CHECK (state IN ('pending', 'accepted')),
            created_at   REAL NOT NULL,
            PRIMARY KEY (username, follower_id)
        );
        CREATE INDEX followers_by_state ON followers (username, state, created_at);

        -- node/core/follows.py: remote actors a local actor follows
        CREATE TABLE following (
            username   TEXT NOT NULL,
            target_id  TEXT NOT NULL,
            follow_id  TEXT NOT NULL UNIQUE,
            state      TEXT NOT NULL CHECK (state IN ('pending', 'accepted')),
            created_at REAL NOT NULL,
            PRIMARY KEY (username, target_id)
        );

        -- federation/actors.py: cache of remote actors and their keys
        CREATE TABLE remote_actors (
            id           TEXT PRIMARY KEY,
            inbox        TEXT,
            shared_inbox TEXT,
            data         TEXT NOT NULL,
            fetched_at   REAL NOT NULL
        );
        CREATE TABLE remote_keys (
            key_id     TEXT PRIMARY KEY,
            actor_id   TEXT NOT NULL,
            public_pem TEXT NOT NULL,
            fetched_at REAL NOT NULL
        );
        CREATE INDEX remote_keys_by_actor ON remote_keys (actor_id);

        -- node/core/inbox_items.py: every activity acknowledged with 202, and its processing state
        CREATE TABLE inbox_items (
            seq             INTEGER PRIMARY KEY AUTOINCREMENT,
            activity_id     TEXT NOT NULL UNIQUE,
            recipient       TEXT NOT NULL,
            actor_id        TEXT NOT NULL,
            type            TEXT NOT NULL,
            body            TEXT NOT NULL,
            received_at     REAL NOT NULL,
            state           TEXT NOT NULL CHECK (state IN ('queued', 'done', 'dead')),
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL,
            last_error      TEXT,
            finished_at     REAL
        );
        CREATE INDEX inbox_items_due ON inbox_items (next_attempt_at) WHERE state = 'queued';

        -- node/core/deliveries.py: one row per (activity, destination inbox), and its delivery state
        CREATE TABLE deliveries (
            seq             INTEGER PRIMARY KEY AUTOINCREMENT,
            activity_id     TEXT NOT NULL,
            inbox           TEXT NOT NULL,
            host            TEXT NOT NULL,
            signer          TEXT NOT NULL,
            state           TEXT NOT NULL CHECK (state IN ('queued', 'done', 'dead')),
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL,
            last_status     INTEGER,
            last_error      TEXT,
            created_at      REAL NOT NULL,
            finished_at     REAL,
            UNIQUE (inbox, activity_id)
        );
        CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'queued';
        CREATE INDEX deliveries_queued_by_host ON deliveries (host) WHERE state = 'queued';

        -- node/core/deliveries.py: hosts whose deliveries are paused after failures
        CREATE TABLE host_backoff (
            host       TEXT PRIMARY KEY,
            failures   INTEGER NOT NULL,
            retry_at   REAL NOT NULL,
            last_error TEXT
        );
        """,
    ),
    Migration(
        8,
        "blind addressing",
        """
        -- node/core/objects.py: bto / bcc of what a local actor published, kept apart from the
        -- served JSON (shown to the owner only, ActivityPub 6.1); JSON, or NULL when none
        ALTER TABLE objects ADD COLUMN blind TEXT;
        """,
    ),
    Migration(
        9,
        "json_extract on PostgreSQL",
        # SQLite has json_extract built in; on PostgreSQL the rooms' queries find the same function
        # (a '$.a.b' path, the value as text), so their SQL is written once
        "-- node/core/objects.py: nothing to do on SQLite",
        postgres="""
        CREATE OR REPLACE FUNCTION json_extract(document TEXT, path TEXT) RETURNS TEXT
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT (document::jsonb) #>> string_to_array(substr(path, 3), '.') $$
        """,
    ),
]
