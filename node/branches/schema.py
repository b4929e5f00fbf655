"""The branch tree's tables (applied in order by ``node.core.migrations``).

A migration is never edited once released: add a new one, numbered after this room's highest
(numbers are per room; ``node.core.migrations`` records each applied one in its ledger).
"""

from __future__ import annotations

from node.core.migrations import Migration

MIGRATIONS: list[Migration] = [
    Migration(
        10,
        "branches",
        """
        -- node/branches/links.py: this node's links in the tree, as parent of a child or child of a parent
        CREATE TABLE branch_links (
            peer_id      TEXT NOT NULL,
            role         TEXT NOT NULL CHECK (role IN ('child', 'parent')),
            state        TEXT NOT NULL CHECK (state IN ('pending', 'linked', 'refused', 'unlinked')),
            join_id      TEXT NOT NULL,
            level        TEXT,
            reason       TEXT,
            inbox        TEXT,
            shared_inbox TEXT,
            collection   TEXT,
            requested_at REAL NOT NULL,
            linked_at    REAL,
            changed_at   REAL NOT NULL,
            PRIMARY KEY (peer_id, role)
        );
        CREATE INDEX branch_links_by_join ON branch_links (join_id);
        CREATE INDEX branch_links_by_state ON branch_links (role, state, linked_at);
        CREATE UNIQUE INDEX branch_links_one_parent ON branch_links (role)
            WHERE role = 'parent' AND state IN ('pending', 'linked');

        -- node/branches/reports.py: the newest signed report of every node in the subtree, as received
        CREATE TABLE branch_reports (
            origin_id   TEXT PRIMARY KEY,
            via_child   TEXT NOT NULL,
            parent_id   TEXT,
            published   REAL NOT NULL,
            report      TEXT NOT NULL,
            received_at REAL NOT NULL
        );
        CREATE INDEX branch_reports_by_parent ON branch_reports (parent_id);
        CREATE INDEX branch_reports_by_child ON branch_reports (via_child);

        -- node/branches/reporter.py: what this node last reported to its parent, and when
        CREATE TABLE branch_report_sent (
            parent_id   TEXT PRIMARY KEY,
            fingerprint TEXT NOT NULL,
            sent_at     REAL NOT NULL
        );

        -- node/branches/software.py: the server software of followers' hosts (NodeInfo), for FEP-1b12
        CREATE TABLE peer_software (
            host       TEXT PRIMARY KEY,
            software   TEXT,
            fetched_at REAL NOT NULL
        );
        """,
    ),
    Migration(
        11,
        "branch subtree posts",
        """
        -- node/branches/subtree_posts.py: the subtree's public posts that reached this node, a copy of each
        CREATE TABLE branch_subtree_posts (
            post_id     TEXT PRIMARY KEY,
            origin_id   TEXT NOT NULL,
            via_child   TEXT NOT NULL,
            kind        TEXT NOT NULL,
            published   REAL NOT NULL,
            document    TEXT NOT NULL,
            received_at REAL NOT NULL
        );
        CREATE INDEX branch_subtree_posts_by_kind ON branch_subtree_posts (kind, published);
        """,
    ),
    # 13, not 12: a database from before the ledger, at user_version 12 (the old global sequence's
    # last), would have a branches 12 recorded as applied without running it (node.core.migrations)
    Migration(
        13,
        "branch link refusals a page can translate",
        """
        -- node/branches/link_store.py: beside a refused link's English reason (what the Reject said and
        -- /admin/children shows), the reason as a message (msgid and parameters, node.core.i18n.message_json),
        -- so that the dashboard shows it in the reader's language; NULL for older rows and for a reason
        -- another node sent, which pages show as they are
        ALTER TABLE branch_links ADD COLUMN reason_message TEXT;
        """,
    ),
]
