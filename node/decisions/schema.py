"""The decisions tables' schema migration (applied in order by ``node.core.migrations``).

A migration is never edited once released: add a new one, numbered after every other room's.
"""

from __future__ import annotations

from node.core.migrations import Migration

MIGRATIONS: list[Migration] = [
    Migration(
        12,
        "decisions",
        """
        -- node/decisions/store.py: every proposal this node issued or received (signed, as received)
        CREATE TABLE decision_proposals (
            id            TEXT PRIMARY KEY,
            issuer        TEXT NOT NULL,
            document      TEXT NOT NULL,
            end_time      REAL NOT NULL,
            tally_deadline REAL NOT NULL,
            via           TEXT,
            is_issuer     INTEGER NOT NULL DEFAULT 0,
            received_at   REAL NOT NULL,
            aggregate_sent_at REAL,
            outcome       TEXT
        );

        -- node/decisions/store.py: the electorate as this level saw it when the proposal opened here
        CREATE TABLE decision_electorate (
            proposal_id TEXT NOT NULL,
            chapter     TEXT NOT NULL,
            level       TEXT,
            via_child   TEXT NOT NULL,
            path        TEXT NOT NULL,
            roll        INTEGER NOT NULL,
            PRIMARY KEY (proposal_id, chapter)
        );

        -- node/decisions/store.py: this node's copy of a proposal, for its own members
        CREATE TABLE decision_copies (
            proposal_id   TEXT PRIMARY KEY,
            copy_id       TEXT NOT NULL UNIQUE,
            questions     TEXT NOT NULL,
            roll_size     INTEGER NOT NULL,
            roll_hash     TEXT NOT NULL,
            frozen_at     REAL NOT NULL,
            tally         TEXT,
            tally_sent_at REAL,
            rejected      TEXT
        );
        CREATE TABLE decision_copy_questions (
            question_id TEXT PRIMARY KEY,
            proposal_id TEXT NOT NULL,
            proposal_question TEXT NOT NULL
        );

        -- node/decisions/store.py: the frozen roll (never served: the tags travel up only)
        CREATE TABLE decision_roll (
            proposal_id TEXT NOT NULL,
            member_id   TEXT NOT NULL,
            tag         TEXT NOT NULL,
            since       REAL NOT NULL,
            PRIMARY KEY (proposal_id, member_id)
        );

        -- node/decisions/store.py: one leaf per counted ballot; receipt and voter never served
        CREATE TABLE decision_leaves (
            seq         INTEGER PRIMARY KEY AUTOINCREMENT,
            proposal_id TEXT NOT NULL,
            question    TEXT NOT NULL,
            choice      TEXT NOT NULL,
            commitment  TEXT NOT NULL,
            receipt     TEXT NOT NULL UNIQUE,
            voter       TEXT NOT NULL,
            withdrawn   TEXT
        );
        CREATE INDEX decision_leaves_by_proposal ON decision_leaves (proposal_id, seq);

        -- node/decisions/store.py: chapter tallies (and branch aggregates) received, checked, kept
        CREATE TABLE decision_tallies (
            proposal_id TEXT NOT NULL,
            origin      TEXT NOT NULL,
            kind        TEXT NOT NULL CHECK (kind IN ('tally', 'aggregate')),
            via_child   TEXT NOT NULL,
            status      TEXT NOT NULL CHECK (status IN ('reported', 'rejected')),
            reason      TEXT,
            document    TEXT NOT NULL,
            inbox       TEXT,
            received_at REAL NOT NULL,
            PRIMARY KEY (proposal_id, origin)
        );

        -- node/decisions/store.py: participation tags of accepted tallies (never served)
        CREATE TABLE decision_tags (
            proposal_id TEXT NOT NULL,
            tag         TEXT NOT NULL,
            chapter     TEXT NOT NULL,
            since       REAL NOT NULL,
            voted       INTEGER NOT NULL,
            PRIMARY KEY (proposal_id, tag, chapter)
        );
        """,
    ),
]
