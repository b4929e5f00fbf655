"""A decision's life cycle as states: decisions migration 14 backfills each proposal's and copy's
state from the nullable columns that used to imply it, and the store moves a row only along
node/decisions/states.py."""

from __future__ import annotations

import aiosqlite
import pytest

from node.core.due import TransitionError
from node.core.migrations import OnSqliteConnection, migrate
from node.decisions import copy_store, store
from node.web.app import all_migrations

PROPOSALS = [  # id, is_issuer, aggregate_sent_at, outcome -> state
    ("p-issuer-open", 1, None, None, "open"),
    ("p-issuer-decided", 1, None, '{"result": {}}', "decided"),
    ("p-between-open", 0, None, None, "open"),
    ("p-between-aggregated", 0, 5.0, None, "aggregated"),
    ("p-between-told", 0, 5.0, '{"result": {}}', "aggregated"),
]
COPIES = [  # proposal, roll, tally_sent_at -> state
    ("p-between-open", None, None, "frozen"),
    ("p-issuer-open", '{"roll": 1}', None, "rolled"),
    ("p-issuer-decided", '{"roll": 1}', 9.0, "tallied"),
]


async def _before_states(conn: aiosqlite.Connection) -> None:
    everything = all_migrations()
    await migrate(OnSqliteConnection(conn), [m for m in everything if m.key != ("decisions", 14)])
    for pid, issuer, aggregate, outcome, _ in PROPOSALS:
        await conn.execute(
            "INSERT INTO decision_proposals (id, issuer, document, end_time, tally_deadline, is_issuer, received_at,"
            " aggregate_sent_at, outcome) VALUES (?, 'i', '{}', 1, 2, ?, 0, ?, ?)",
            (pid, issuer, aggregate, outcome),
        )
    for pid, roll, sent, _ in COPIES:
        await conn.execute(
            "INSERT INTO decision_copies (proposal_id, copy_id, questions, roll_size, roll_hash, frozen_at, roll,"
            " tally_sent_at) VALUES (?, ?, '{}', 0, '', 0, ?, ?)",
            (pid, f"copy of {pid}", roll, sent),
        )
    assert await migrate(OnSqliteConnection(conn), everything) == [("decisions", 14)]


async def test_the_state_columns_are_backfilled_from_the_columns_that_implied_them(tmp_path):
    async with aiosqlite.connect(tmp_path / "db.sqlite3", isolation_level=None) as conn:
        conn.row_factory = aiosqlite.Row
        await _before_states(conn)
        states = {r[0]: r[1] for r in await conn.execute_fetchall("SELECT id, state FROM decision_proposals")}
        assert states == {pid: state for pid, *_, state in PROPOSALS}
        copies = {r[0]: r[1] for r in await conn.execute_fetchall("SELECT proposal_id, state FROM decision_copies")}
        assert copies == {pid: state for pid, *_, state in COPIES}


async def test_the_store_moves_a_row_only_along_its_graph(tmp_path):
    async with aiosqlite.connect(tmp_path / "db.sqlite3", isolation_level=None) as conn:
        conn.row_factory = aiosqlite.Row
        await _before_states(conn)
        assert [c["proposal_id"] for c in await copy_store.rolls_due(conn)] == ["p-between-open"]
        with pytest.raises(TransitionError, match="is 'frozen', not 'rolled'"):
            await copy_store.mark_tally_sent(conn, "p-between-open", {}, [], 10.0)  # no tally before the roll
        await copy_store.mark_roll_sent(conn, "p-between-open", {"roll": 2})
        assert {c["proposal_id"] for c in await copy_store.copies_due(conn, 10.0)} == {
            "p-between-open",
            "p-issuer-open",
        }
        await copy_store.resend_tally(conn, "p-issuer-decided")  # new exclusions: tallied -> rolled
        assert (await copy_store.copy_of(conn, "p-issuer-decided"))["state"] == "rolled"

        assert await store.mark_decided(conn, "p-issuer-open", {"result": {}})
        assert not await store.mark_decided(conn, "p-issuer-open", {"result": {}})  # decided already
        with pytest.raises(TransitionError, match="is 'aggregated', not 'open': it cannot go to 'decided'"):
            await store.mark_decided(conn, "p-between-aggregated", {"result": {}})
        await store.mark_aggregate_sent(conn, "p-between-open", 11.0)
        assert (await store.get_proposal(conn, "p-between-open")).state == "aggregated"
        assert [p.id for p in await store.proposals_awaiting_aggregate(conn, 10.0)] == []
