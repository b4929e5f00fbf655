"""Numbered schema migrations, applied in order on start and recorded in ``user_version``.

A migration is never edited once released: add a new one. Each table's queries live beside
the module that owns it (named in the comment above each table), so that a second store
(PostgreSQL for a large international node) can slot in behind the same functions. The DDL
sticks to what both engines accept: epoch REAL timestamps, TEXT JSON, partial indexes.
"""

from __future__ import annotations

import aiosqlite

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "initial",
        """
        -- node/keys.py: signing keys of local actors
        CREATE TABLE actor_keys (
            username    TEXT NOT NULL,
            kind        TEXT NOT NULL CHECK (kind IN ('rsa', 'ed25519')),
            private_pem TEXT NOT NULL,
            public_pem  TEXT NOT NULL,
            created_at  REAL NOT NULL,
            PRIMARY KEY (username, kind)
        );

        -- node/objects.py: what local actors published, objects and activities alike, served at their ids
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

        -- node/objects.py: pinned objects (the featured collection)
        CREATE TABLE featured (
            username  TEXT NOT NULL,
            object_id TEXT NOT NULL,
            added_at  REAL NOT NULL,
            PRIMARY KEY (username, object_id)
        );

        -- node/follows.py: remote actors following a local actor
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

        -- node/follows.py: remote actors a local actor follows
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

        -- inbox/store.py: every activity acknowledged with 202, and its processing state
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

        -- outbox/store.py: one row per (activity, destination inbox), and its delivery state
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

        -- outbox/store.py: hosts whose deliveries are paused after failures
        CREATE TABLE host_backoff (
            host       TEXT PRIMARY KEY,
            failures   INTEGER NOT NULL,
            retry_at   REAL NOT NULL,
            last_error TEXT
        );
        """,
    ),
    (
        2,
        "web sessions",
        """
        -- node/sessions.py: signed-in people on the node's pages (the cookie holds a token; we keep its hash)
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
    (
        3,
        "members",
        """
        -- node/members.py: who belongs to a chapter (remote actors and local accounts), with a role
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
    (
        4,
        "accounts",
        """
        -- node/accounts.py: local member accounts (Person actors on this node) and their password hashes
        CREATE TABLE accounts (
            username      TEXT PRIMARY KEY,
            display_name  TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            created_at    REAL NOT NULL
        );
        """,
    ),
    (
        5,
        "polls",
        """
        -- node/polls.py: surveys (an ordered set of questions with one closing time)
        CREATE TABLE poll_surveys (
            id           TEXT PRIMARY KEY,
            chapter      TEXT NOT NULL,
            title        TEXT NOT NULL,
            introduction TEXT NOT NULL,
            end_time     REAL NOT NULL,
            hide_results INTEGER NOT NULL DEFAULT 0,
            created_at   REAL NOT NULL
        );

        -- node/polls.py: every published Question; options are frozen at publication
        CREATE TABLE poll_questions (
            id             TEXT PRIMARY KEY,
            chapter        TEXT NOT NULL,
            survey_id      TEXT,
            position       INTEGER NOT NULL DEFAULT 0,
            kind           TEXT NOT NULL CHECK (kind IN ('oneOf', 'anyOf')),
            options        TEXT NOT NULL,
            end_time       REAL NOT NULL,
            closed_at      REAL,
            hide_results   INTEGER NOT NULL DEFAULT 0,
            dirty          INTEGER NOT NULL DEFAULT 0,
            last_update_at REAL,
            created_at     REAL NOT NULL
        );
        CREATE INDEX poll_questions_by_survey ON poll_questions (survey_id, position);
        CREATE INDEX poll_questions_dirty ON poll_questions (dirty) WHERE dirty = 1;
        CREATE INDEX poll_questions_open ON poll_questions (end_time) WHERE closed_at IS NULL;

        -- node/polls.py: every ballot received, counted or not (with the reason)
        CREATE TABLE poll_ballots (
            seq         INTEGER PRIMARY KEY AUTOINCREMENT,
            question_id TEXT NOT NULL,
            voter       TEXT NOT NULL,
            choice      TEXT NOT NULL,
            single      INTEGER NOT NULL,
            ballot_id   TEXT,
            source      TEXT NOT NULL CHECK (source IN ('remote', 'local')),
            counted     INTEGER NOT NULL,
            reason      TEXT,
            received_at REAL NOT NULL
        );
        CREATE UNIQUE INDEX poll_ballots_one_per_option ON poll_ballots (question_id, voter, choice) WHERE counted = 1;
        CREATE UNIQUE INDEX poll_ballots_one_per_voter ON poll_ballots (question_id, voter) WHERE counted = 1 AND single = 1;
        CREATE INDEX poll_ballots_by_question ON poll_ballots (question_id, counted);
        """,
    ),
    (
        6,
        "content",
        """
        -- node/minutes.py: meeting minutes as a structured record; its Article and announcement Note are in objects
        CREATE TABLE minutes (
            article_id   TEXT PRIMARY KEY,
            note_id      TEXT NOT NULL UNIQUE,
            author       TEXT NOT NULL,
            title        TEXT NOT NULL,
            meeting_date TEXT NOT NULL,
            location     TEXT,
            attendees    TEXT NOT NULL,
            agenda       TEXT NOT NULL,
            notes        TEXT,
            published    REAL NOT NULL,
            updated      REAL
        );
        CREATE INDEX minutes_by_date ON minutes (author, meeting_date);

        -- node/minutes.py: the decisions of each minutes, in order, with the vote (Question) that took them
        CREATE TABLE minutes_decisions (
            article_id TEXT NOT NULL,
            position   INTEGER NOT NULL,
            text       TEXT NOT NULL,
            vote       TEXT,
            PRIMARY KEY (article_id, position)
        );
        CREATE INDEX minutes_decisions_by_vote ON minutes_decisions (vote) WHERE vote IS NOT NULL;

        -- node/events.py: answers to a local Event (Accept: going, Reject: not going, TentativeAccept: maybe)
        CREATE TABLE event_answers (
            event_id    TEXT NOT NULL,
            actor_id    TEXT NOT NULL,
            answer      TEXT NOT NULL CHECK (answer IN ('going', 'not_going', 'maybe')),
            activity_id TEXT,
            answered_at REAL NOT NULL,
            PRIMARY KEY (event_id, actor_id)
        );

        -- node/interactions.py: what remote actors did with local objects: replies (the thread), likes, boosts
        CREATE TABLE interactions (
            seq         INTEGER PRIMARY KEY AUTOINCREMENT,
            id          TEXT NOT NULL UNIQUE,
            kind        TEXT NOT NULL CHECK (kind IN ('reply', 'like', 'announce')),
            object_id   TEXT NOT NULL,
            actor_id    TEXT NOT NULL,
            visibility  TEXT NOT NULL,
            data        TEXT,
            published   REAL NOT NULL,
            updated     REAL,
            received_at REAL NOT NULL
        );
        CREATE INDEX interactions_by_object ON interactions (object_id, kind, seq);
        CREATE INDEX interactions_by_actor ON interactions (actor_id);
        CREATE UNIQUE INDEX interactions_one_reaction ON interactions (kind, object_id, actor_id) WHERE kind != 'reply';
        """,
    ),
    (
        7,
        "moderation",
        """
        -- node/blocks.py: domains and actors the admin blocked
        CREATE TABLE blocks (
            kind       TEXT NOT NULL CHECK (kind IN ('domain', 'actor')),
            value      TEXT NOT NULL,
            reason     TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            PRIMARY KEY (kind, value)
        );

        -- node/reports.py: reports (Flag) received and sent
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
    (
        9,
        "admin sessions tied to the admin token",
        """
        -- node/sessions.py: which [admin] token an admin session was opened with (a keyed hash of
        -- it); after a rotation the old sessions no longer act as the admin
        ALTER TABLE sessions ADD COLUMN admin_token_tag TEXT;
        """,
    ),
]


async def migrate(conn: aiosqlite.Connection) -> int:
    """Apply pending migrations, each in its own transaction; return the schema version."""
    async with conn.execute("PRAGMA user_version") as cursor:
        (version,) = await cursor.fetchone()
    for number, _name, sql in MIGRATIONS:
        if number <= version:
            continue
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(sql):
                await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version={number}")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")
        version = number
    return version


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (no semicolons inside our DDL strings)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
