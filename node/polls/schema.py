"""The polls tables' schema migrations (applied in order by ``node.core.migrations``).

A migration is never edited once released: add a new one, numbered after this room's highest
(numbers are per room; ``node.core.migrations`` records each applied one in its ledger).
"""

from __future__ import annotations

from node.core.migrations import Migration

MIGRATIONS: list[Migration] = [
    Migration(
        5,
        "polls",
        """
        -- node/polls/model.py: surveys (an ordered set of questions with one closing time)
        CREATE TABLE poll_surveys (
            id           TEXT PRIMARY KEY,
            chapter      TEXT NOT NULL,
            title        TEXT NOT NULL,
            introduction TEXT NOT NULL,
            end_time     REAL NOT NULL,
            hide_results INTEGER NOT NULL DEFAULT 0,
            created_at   REAL NOT NULL
        );

        -- node/polls/model.py: every published Question; options are frozen at publication
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

        -- node/polls/model.py: every ballot received, counted or not (with the reason)
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
]
