"""The projects tables' schema migrations (applied in order by ``node.core.migrations``).

A migration is never edited once released: add a new one, numbered after this room's highest
(numbers are per room; ``node.core.migrations`` records each applied one in its ledger).
"""

from __future__ import annotations

from node.core.migrations import Migration

MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "projects",
        """
        -- node/projects/store.py: a project (its id is the Article this node publishes for it)
        CREATE TABLE projects (
            id             TEXT PRIMARY KEY,
            title          TEXT NOT NULL,
            aim            TEXT NOT NULL,
            default_option TEXT NOT NULL,
            state          TEXT NOT NULL CHECK (state IN ('awaiting', 'open', 'voting', 'decided', 'refused')),
            started_by     TEXT NOT NULL,
            started_at     REAL NOT NULL,
            opened_at      REAL,
            refusal        TEXT,
            proposal_id    TEXT,
            vote_began_at  REAL,
            outcome        TEXT,
            adopted_draft  TEXT,
            decided_at     REAL
        );
        CREATE INDEX projects_by_state ON projects (state, started_at);
        CREATE UNIQUE INDEX projects_by_proposal ON projects (proposal_id) WHERE proposal_id IS NOT NULL;

        -- node/projects/store.py: who takes part (the starter, and anyone of the subtree who joins)
        CREATE TABLE project_members (
            project_id TEXT NOT NULL,
            actor      TEXT NOT NULL,
            joined_at  REAL NOT NULL,
            PRIMARY KEY (project_id, actor)
        );

        -- node/projects/store.py: drafts (each an Article of this node's); the text is the newest revision's
        CREATE TABLE project_drafts (
            id           TEXT PRIMARY KEY,
            project_id   TEXT NOT NULL,
            title        TEXT NOT NULL,
            text         TEXT NOT NULL,
            revision     INTEGER NOT NULL,
            created_by   TEXT NOT NULL,
            created_at   REAL NOT NULL,
            updated_at   REAL NOT NULL,
            state        TEXT NOT NULL CHECK (state IN ('open', 'voting', 'adopted', 'not_adopted', 'not_put')),
            qualified_at REAL,
            question_id  TEXT
        );
        CREATE INDEX project_drafts_by_project ON project_drafts (project_id, created_at);

        -- node/projects/store.py: every revision of a draft, kept (number 1 is the first text)
        CREATE TABLE project_revisions (
            draft_id   TEXT NOT NULL,
            number     INTEGER NOT NULL,
            title      TEXT NOT NULL,
            text       TEXT NOT NULL,
            author     TEXT NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (draft_id, number)
        );

        -- node/projects/store.py: signatures of a draft (a withdrawn one keeps its row, withdrawn_at set)
        CREATE TABLE project_signatures (
            draft_id     TEXT NOT NULL,
            actor        TEXT NOT NULL,
            via          TEXT NOT NULL CHECK (via IN ('page', 'like', 'activity')),
            activity_id  TEXT,
            signed_at    REAL NOT NULL,
            withdrawn_at REAL,
            PRIMARY KEY (draft_id, actor)
        );
        CREATE INDEX project_signatures_by_activity ON project_signatures (activity_id);

        -- node/projects/subtree.py: the subtree's answers to "is this actor one of your members?", kept a while
        CREATE TABLE project_subtree_answers (
            actor      TEXT PRIMARY KEY,
            chapter    TEXT,
            checked_at REAL NOT NULL
        );
        """,
    ),
    Migration(
        2,
        "projects from the fediverse",
        """
        -- node/projects/authoring.py: the member's own object a project, a draft or a revision was made
        -- from (its Create's object id), so a Create delivered again makes nothing twice
        ALTER TABLE projects ADD COLUMN source TEXT;
        CREATE UNIQUE INDEX projects_by_source ON projects (source) WHERE source IS NOT NULL;
        ALTER TABLE project_drafts ADD COLUMN source TEXT;
        CREATE UNIQUE INDEX project_drafts_by_source ON project_drafts (source) WHERE source IS NOT NULL;
        ALTER TABLE project_revisions ADD COLUMN source TEXT;
        CREATE UNIQUE INDEX project_revisions_by_source ON project_revisions (source) WHERE source IS NOT NULL;
        """,
    ),
    Migration(
        3,
        "what members sent to the projects above",
        """
        -- node/projects/above_acts.py: each act a member of this node sent to a project of a level above
        -- (as their Person), and the answer of the project's node when it came
        CREATE TABLE project_acts (
            activity_id TEXT PRIMARY KEY,
            member      TEXT NOT NULL,
            kind        TEXT NOT NULL
                        CHECK (kind IN ('start', 'draft', 'revise', 'join', 'leave', 'sign', 'withdraw', 'reply')),
            object      TEXT NOT NULL,
            node        TEXT NOT NULL,
            project     TEXT,
            title       TEXT,
            sent_at     REAL NOT NULL,
            answer      TEXT CHECK (answer IN ('accepted', 'refused')),
            reason      TEXT,
            result      TEXT,
            answered_at REAL
        );
        CREATE INDEX project_acts_by_member ON project_acts (member, sent_at);
        CREATE INDEX project_acts_by_project ON project_acts (project, kind);
        """,
    ),
    Migration(
        4,
        "every activity that signed or withdrew",
        """
        -- node/projects/store.py: the id of every activity (Join, Like; Leave) that signed a draft or
        -- withdrew a signature, kept for good, so none of them counts twice (an older Join replayed
        -- after a sign, withdraw, sign, withdraw would sign again); the standing signatures' own first
        CREATE TABLE project_signing_activities (
            activity_id TEXT PRIMARY KEY,
            draft_id    TEXT NOT NULL,
            actor       TEXT NOT NULL,
            kind        TEXT NOT NULL CHECK (kind IN ('sign', 'withdraw')),
            seen_at     REAL NOT NULL
        );
        INSERT INTO project_signing_activities (activity_id, draft_id, actor, kind, seen_at)
            SELECT activity_id, draft_id, actor, 'sign', signed_at FROM project_signatures
            WHERE activity_id IS NOT NULL ON CONFLICT DO NOTHING;
        """,
    ),
]
