"""A proposal's life at this level, and its electorate: SQL in small named functions.

``decision_proposals``: every proposal issued here or received, its signed document as
received, where it came from (``via``), when tallies are due, its state (``states.PROPOSAL``:
open, aggregated, decided; moved only along that graph, by :func:`_move`), and the signed
outcome.
``decision_electorate``: the chapters of this node's subtree when the proposal opened here
(from the signed branch reports), with the child they hang under and their member count.
This node's own copy lives in :mod:`node.decisions.copy_store`; what the subtree sent up, in
:mod:`node.decisions.received`.
"""

from __future__ import annotations

from dataclasses import dataclass

from federation import jsonio
from node.core.db import Connection, fetch_all, fetch_one, fetch_value
from node.core.due import TransitionError
from node.decisions.states import EXCLUSIONS, PROPOSAL


@dataclass(frozen=True)
class Proposal:
    id: str
    issuer: str
    document: dict
    end_time: float
    tally_deadline: float
    via: str | None
    is_issuer: bool
    aggregate_sent_at: float | None
    outcome: dict | None
    state: str = "open"


def _proposal(row) -> Proposal | None:
    if row is None:
        return None
    outcome = jsonio.loads(row["outcome"]) if row["outcome"] else None
    return Proposal(
        row["id"],
        row["issuer"],
        jsonio.loads(row["document"]),
        row["end_time"],
        row["tally_deadline"],
        row["via"],
        bool(row["is_issuer"]),
        row["aggregate_sent_at"],
        outcome,
        row["state"],
    )


async def insert_proposal(
    conn: Connection, *, document: dict, end_time: float, deadline: float, via: str | None, now: float
) -> bool:
    """Keep a proposal once (False: it was known already)."""
    cursor = await conn.execute(
        "INSERT INTO decision_proposals (id, issuer, document, end_time, tally_deadline, via, is_issuer, received_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        (
            document["id"],
            document["attributedTo"],
            jsonio.dumps_str(document),
            end_time,
            deadline,
            via,
            int(via is None),
            now,
        ),
    )
    return cursor.rowcount == 1


async def get_proposal(conn: Connection, proposal_id: str) -> Proposal | None:
    return _proposal(await fetch_one(conn, "SELECT * FROM decision_proposals WHERE id = ?", (proposal_id,)))


async def require_proposal(conn: Connection, proposal_id: str) -> Proposal:
    """The proposal a row of this node refers to (a copy's): always kept before the row was written."""
    found = await get_proposal(conn, proposal_id)
    if found is None:
        raise LookupError(f"no proposal {proposal_id} is kept here, yet a row refers to it")
    return found


async def proposals_awaiting_outcome(conn: Connection, now: float) -> list[Proposal]:
    """At the issuer, each ``open`` proposal whose ``endTime`` has passed."""
    rows = await fetch_all(
        conn, "SELECT * FROM decision_proposals WHERE is_issuer = 1 AND state = 'open' AND end_time <= ?", (now,)
    )
    return [p for p in map(_proposal, rows) if p is not None]


async def proposals_awaiting_aggregate(conn: Connection, now: float) -> list[Proposal]:
    """At a level between (it holds an electorate), each ``open`` proposal whose ``endTime`` has passed."""
    rows = await fetch_all(
        conn,
        "SELECT * FROM decision_proposals WHERE is_issuer = 0 AND state = 'open' AND end_time <= ?"
        " AND EXISTS (SELECT 1 FROM decision_electorate e WHERE e.proposal_id = decision_proposals.id)",
        (now,),
    )
    return [p for p in map(_proposal, rows) if p is not None]


async def _move(
    conn: Connection, proposal_id: str, source: str, target: str, sets: str = "", params: tuple = ()
) -> bool:
    """Move a proposal from ``source`` to ``target`` (a transition ``states.PROPOSAL`` allows), setting
    ``sets`` too; False when it is in ``target`` already, :class:`TransitionError` from any other state."""
    PROPOSAL.check(source, target)
    cursor = await conn.execute(
        f"UPDATE decision_proposals SET state = ?{sets} WHERE id = ? AND state = ?",
        (target, *params, proposal_id, source),
    )
    if cursor.rowcount == 1:
        return True
    now = await fetch_value(conn, "SELECT state FROM decision_proposals WHERE id = ?", (proposal_id,))
    if now == target:
        return False
    raise TransitionError(f"{PROPOSAL.name}: {proposal_id} is {now!r}, not {source!r}: it cannot go to {target!r}")


async def mark_decided(conn: Connection, proposal_id: str, outcome: dict) -> bool:
    """At the issuer: ``open`` -> ``decided`` with the signed outcome (False: decided already)."""
    return await _move(conn, proposal_id, "open", "decided", ", outcome = ?", (jsonio.dumps_str(outcome),))


async def set_outcome(conn: Connection, proposal_id: str, outcome: dict) -> bool:
    """Keep the outcome that came down from the issuer, once (False: known already); it moves no state here."""
    cursor = await conn.execute(
        "UPDATE decision_proposals SET outcome = ? WHERE id = ? AND outcome IS NULL",
        (jsonio.dumps_str(outcome), proposal_id),
    )
    return cursor.rowcount == 1


async def mark_aggregate_sent(conn: Connection, proposal_id: str, now: float) -> None:
    """At a level between: ``open`` -> ``aggregated``, when its signed aggregate went up."""
    await _move(conn, proposal_id, "open", "aggregated", ", aggregate_sent_at = ?", (now,))


# --- the electorate ------------------------------------------------------------------------


async def add_elector(
    conn: Connection,
    proposal_id: str,
    *,
    chapter: str,
    level: str | None,
    via_child: str,
    path: list[str],
    roll: int,
) -> None:
    await conn.execute(
        "INSERT INTO decision_electorate (proposal_id, chapter, level, via_child, path, roll) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (proposal_id, chapter, level, via_child, jsonio.dumps_str(path), roll),
    )


async def electorate(conn: Connection, proposal_id: str) -> list[dict]:
    rows = await fetch_all(
        conn, "SELECT * FROM decision_electorate WHERE proposal_id = ? ORDER BY via_child, chapter", (proposal_id,)
    )
    return [
        {
            "chapter": r["chapter"],
            "level": r["level"],
            "via": r["via_child"],
            "path": jsonio.loads(r["path"]),
            "roll": r["roll"],
        }
        for r in rows
    ]


async def elector(conn: Connection, proposal_id: str, chapter: str):
    return await fetch_one(
        conn, "SELECT * FROM decision_electorate WHERE proposal_id = ? AND chapter = ?", (proposal_id, chapter)
    )


async def mark_exclusions_due(conn: Connection, proposal_id: str, due: bool = True) -> None:
    """``states.EXCLUSIONS``: a roll arrived (-> ``due``, from either state), or they were worked out
    (``due`` -> ``settled``; a settled proposal stays as it is)."""
    if due:
        await conn.execute("UPDATE decision_proposals SET exclusions_due = 1 WHERE id = ?", (proposal_id,))
    else:
        EXCLUSIONS.check("due", "settled")
        await conn.execute(
            "UPDATE decision_proposals SET exclusions_due = 0 WHERE id = ? AND exclusions_due = 1", (proposal_id,)
        )


async def mark_exclusions_final(conn: Connection, proposal_id: str) -> None:
    """``states.EXCLUSIONS``: at or after endTime, the final exclusions went down (-> ``final``)."""
    EXCLUSIONS.check("due", "final")
    await conn.execute("UPDATE decision_proposals SET exclusions_due = 2 WHERE id = ?", (proposal_id,))


async def proposals_with_exclusions_due(conn: Connection, now: float) -> list[Proposal]:
    """At the issuer: a roll arrived since the exclusions were worked out, or the vote closed and the
    final exclusions have not gone down yet."""
    rows = await fetch_all(
        conn,
        "SELECT * FROM decision_proposals WHERE is_issuer = 1"
        " AND (exclusions_due = 1 OR (exclusions_due = 0 AND end_time <= ?))",
        (now,),
    )
    return [p for p in map(_proposal, rows) if p is not None]
