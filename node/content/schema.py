"""The content tables' schema migrations (applied in order by ``node.core.migrations``).

A migration is never edited once released: add a new one, numbered after this room's highest
(numbers are per room; ``node.core.migrations`` records each applied one in its ledger).
"""

from __future__ import annotations

from node.core.migrations import Migration

MIGRATIONS: list[Migration] = [
    Migration(
        6,
        "content",
        """
        -- node/content/minutes.py: meeting minutes as a structured record; its Article and announcement Note are in objects
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

        -- node/content/minutes.py: the decisions of each minutes, in order, with the vote (Question) that took them
        CREATE TABLE minutes_decisions (
            article_id TEXT NOT NULL,
            position   INTEGER NOT NULL,
            text       TEXT NOT NULL,
            vote       TEXT,
            PRIMARY KEY (article_id, position)
        );
        CREATE INDEX minutes_decisions_by_vote ON minutes_decisions (vote) WHERE vote IS NOT NULL;

        -- node/content/events.py: answers to a local Event (Accept: going, Reject: not going, TentativeAccept: maybe)
        CREATE TABLE event_answers (
            event_id    TEXT NOT NULL,
            actor_id    TEXT NOT NULL,
            answer      TEXT NOT NULL CHECK (answer IN ('going', 'not_going', 'maybe')),
            activity_id TEXT,
            answered_at REAL NOT NULL,
            PRIMARY KEY (event_id, actor_id)
        );

        -- node/content/interactions.py: what remote actors did with local objects: replies (the thread), likes, boosts
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
    Migration(
        11,
        "content: endorsements",
        """
        -- node/content/participation.py: members' signatures (endorsements) of blog posts and proposals
        CREATE TABLE endorsements (
            object_id TEXT NOT NULL,
            actor_id  TEXT NOT NULL,
            signed_at REAL NOT NULL,
            PRIMARY KEY (object_id, actor_id)
        );
        """,
    ),
]
