"""The decisions tables' schema migration (applied in order by ``node.core.migrations``).

A migration is never edited once released: add a new one, numbered after this room's highest
(numbers are per room; ``node.core.migrations`` records each applied one in its ledger).
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
    Migration(
        13,
        "decisions",
        """
        -- Hostile peers (node/decisions/__init__.py): no per-voter tags travel up any more. A chapter's
        -- roll goes up as keyless member commitments before counting; shared members are excluded by the
        -- issuer's signed exclusions; a leaf is one voter's answers; figures are recounted from leaves.
        DROP TABLE decision_tags;
        DROP TABLE decision_leaves;
        DROP TABLE decision_tallies;
        DROP TABLE decision_roll;

        -- node/decisions/copy_store.py: this chapter's frozen roll (never served; commitments go up)
        CREATE TABLE decision_roll (
            proposal_id TEXT NOT NULL,
            member_id   TEXT NOT NULL,
            commitment  TEXT NOT NULL,
            day         INTEGER NOT NULL,
            excluded    TEXT,
            PRIMARY KEY (proposal_id, member_id)
        );
        CREATE INDEX decision_roll_by_commitment ON decision_roll (proposal_id, commitment);

        -- node/decisions/copy_store.py: each counted choice on this chapter's copy (voter never served)
        CREATE TABLE decision_choices (
            seq         INTEGER PRIMARY KEY AUTOINCREMENT,
            proposal_id TEXT NOT NULL,
            voter       TEXT NOT NULL,
            question    TEXT NOT NULL,
            choice      TEXT NOT NULL
        );
        CREATE INDEX decision_choices_by_proposal ON decision_choices (proposal_id, voter);

        -- node/decisions/copy_store.py: one random receipt per voter and proposal (never served)
        CREATE TABLE decision_receipts (
            proposal_id TEXT NOT NULL,
            voter       TEXT NOT NULL,
            receipt     TEXT NOT NULL UNIQUE,
            given_at    REAL NOT NULL,
            PRIMARY KEY (proposal_id, voter)
        );

        -- node/decisions/copy_store.py: the signed roll sent up, the leaves signed with the tally
        ALTER TABLE decision_copies ADD COLUMN roll TEXT;
        ALTER TABLE decision_copies ADD COLUMN leaves TEXT;

        -- node/decisions/store.py: at the issuer, a roll arrived since the exclusions were last worked out
        ALTER TABLE decision_proposals ADD COLUMN exclusions_due INTEGER NOT NULL DEFAULT 0;

        -- node/decisions/received.py: chapters' signed rolls received from the subtree
        CREATE TABLE decision_rolls (
            proposal_id TEXT NOT NULL,
            chapter     TEXT NOT NULL,
            via_child   TEXT NOT NULL,
            size        INTEGER NOT NULL,
            document    TEXT NOT NULL,
            received_at REAL NOT NULL,
            PRIMARY KEY (proposal_id, chapter)
        );
        -- node/decisions/received.py: at the issuer, every roll's commitments (to find shared members)
        CREATE TABLE decision_roll_entries (
            proposal_id TEXT NOT NULL,
            commitment  TEXT NOT NULL,
            chapter     TEXT NOT NULL,
            day         INTEGER NOT NULL,
            PRIMARY KEY (proposal_id, commitment, chapter)
        );
        -- node/decisions/received.py: the issuer's signed exclusions, every sequence kept
        CREATE TABLE decision_exclusions (
            proposal_id TEXT NOT NULL,
            seq         INTEGER NOT NULL,
            document    TEXT NOT NULL,
            received_at REAL NOT NULL,
            PRIMARY KEY (proposal_id, seq)
        );
        -- node/decisions/received.py: chapter tallies, with the figures recounted from their leaves
        CREATE TABLE decision_tallies (
            proposal_id TEXT NOT NULL,
            chapter     TEXT NOT NULL,
            via_child   TEXT NOT NULL,
            status      TEXT NOT NULL CHECK (status IN ('reported', 'refused')),
            reason      TEXT,
            document    TEXT NOT NULL,
            recount     TEXT,
            roll        INTEGER,
            inbox       TEXT,
            received_at REAL NOT NULL,
            PRIMARY KEY (proposal_id, chapter)
        );
        -- node/decisions/received.py: what this level refused of a child's rolls and tallies, to tell its chapter
        CREATE TABLE decision_refusals (
            proposal_id TEXT NOT NULL,
            chapter     TEXT NOT NULL,
            refused     TEXT NOT NULL,
            kind        TEXT NOT NULL,
            document    TEXT NOT NULL,
            reason      TEXT NOT NULL,
            inbox       TEXT,
            created_at  REAL NOT NULL,
            sent_at     REAL,
            PRIMARY KEY (proposal_id, chapter, refused)
        );
        -- node/decisions/received.py: a level's own signed sum, kept for the results page only
        CREATE TABLE decision_aggregates (
            proposal_id TEXT NOT NULL,
            origin      TEXT NOT NULL,
            document    TEXT NOT NULL,
            received_at REAL NOT NULL,
            PRIMARY KEY (proposal_id, origin)
        );
        """,
    ),
    Migration(
        14,
        "decisions: states",
        """
        -- node/decisions/states.py: a proposal's and a copy's life cycle as a state, not implied by nullable
        -- columns; backfilled from those columns (which stay: when each step happened, what was sent)
        ALTER TABLE decision_proposals ADD COLUMN state TEXT NOT NULL DEFAULT 'open'
            CHECK (state IN ('open', 'aggregated', 'decided'));
        UPDATE decision_proposals SET state = CASE
            WHEN is_issuer = 1 AND outcome IS NOT NULL THEN 'decided'
            WHEN is_issuer = 0 AND aggregate_sent_at IS NOT NULL THEN 'aggregated'
            ELSE 'open' END;
        ALTER TABLE decision_copies ADD COLUMN state TEXT NOT NULL DEFAULT 'frozen'
            CHECK (state IN ('frozen', 'rolled', 'tallied'));
        UPDATE decision_copies SET state = CASE
            WHEN tally_sent_at IS NOT NULL THEN 'tallied'
            WHEN roll IS NOT NULL THEN 'rolled'
            ELSE 'frozen' END;
        """,
    ),
    Migration(
        15,
        "decisions: final exclusions, refusals told to the peer",
        """
        -- node/decisions/received.py: a refusal names the document's author (chapter) and, apart, the linked
        -- peer that brought it and is told (peer); older rows told their chapter
        ALTER TABLE decision_refusals ADD COLUMN peer TEXT;
        UPDATE decision_refusals SET peer = chapter;
        """,
    ),
    Migration(
        16,
        "decisions: refusal reasons a page can translate",
        """
        -- node/decisions/received.py: beside a refusal's English reason (what travels and /results serves),
        -- the reason as a message (msgid and parameters, node.core.i18n.message_json), so that a page shows
        -- it in the reader's language; NULL for older rows, which pages show in English
        ALTER TABLE decision_tallies ADD COLUMN reason_message TEXT;
        ALTER TABLE decision_refusals ADD COLUMN reason_message TEXT;
        """,
    ),
    Migration(
        17,
        "decisions: reasons given with ballots",
        """
        -- node/decisions/copy_store.py: a member's reason given with their ballot on this chapter's copy, one
        -- per voter, editable until the close; kept here, never sent up, never shown beside a choice; named:
        -- the member chose to show their name with it
        CREATE TABLE decision_reasons (
            proposal_id TEXT NOT NULL,
            voter       TEXT NOT NULL,
            reason      TEXT NOT NULL,
            named       INTEGER NOT NULL DEFAULT 0,
            given_at    REAL NOT NULL,
            PRIMARY KEY (proposal_id, voter)
        );
        """,
    ),
]
