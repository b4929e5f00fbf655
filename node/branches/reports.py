"""Signed reports: what each node states about itself, made here, checked and kept up the tree.

A ``BranchReport`` (``node.branches.documents.branch_report``) carries a node's facts (level,
name, location, founded, memberCount: active members from ``node.membership``) and its place
(``parent``, ``linked``), signed with the node's Ed25519 key as a FEP-8b32 proof
(``eddsa-jcs-2022``). ``published`` has millisecond precision, so two reports of one node in
the same second still order.

Checking a received report is split as the inbox splits work: :func:`check_proof` runs before
the transaction (it fetches the origin's actor for its Multikey, and the report's claimed
``parent`` must be the one the origin's actor shows, so no node can be slipped into a subtree
by a report alone; an actor that fails is fetched once more, for a rotation or a new link);
``inbound`` checks the rest inside the transaction, against what is stored (the sender must
be a linked child, the origin that child or a node whose claimed parents lead to it, the
report newer than the one kept). The ``branch_reports`` table keeps the newest report
of every node in the subtree as received (its proof intact), with the direct child it came
through: unlinking a child drops exactly its branch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from federation import jsonio
from federation.activitystreams import id_of
from federation.actors import RemoteActors
from federation.client import FetchError
from federation.proofs import ProofError, add_proof, proof_verification_method, verify_actor_proof
from node.branches.documents import branch_report
from node.core.config import Config
from node.core.db import Connection, fetch_all, fetch_one
from node.core.keys import ActorKeys
from node.core.urls import Urls
from node.membership import members

log = logging.getLogger("chapterhouse.branches")
MAX_DEPTH = 16  # no federation is deeper than this; a longer chain of claimed parents is refused
MAX_MEMBERS = 10_000_000  # no node has more members: a larger count is refused, never stored or summed


def report_time(moment: datetime) -> str:
    """``published`` of a report: UTC, milliseconds, ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value) -> float | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None
    except ValueError:
        return None
    return moment.timestamp() if moment is not None and moment.tzinfo is not None else None


async def own_facts(conn: Connection, config: Config, *, parent: str | None, linked: float | None) -> dict:
    """What this node states about itself now."""
    return {
        "level": config.node.level,
        "name": config.node.display_name,
        "location": config.node.location,
        "founded": config.node.founded,
        "memberCount": await members.count_in_state(conn, config.node.name),
        "parent": parent,
        "linked": report_time(datetime.fromtimestamp(linked, UTC)) if linked else None,
    }


def signed_report(urls: Urls, keys: ActorKeys, facts: dict, now: datetime) -> dict:
    """This node's report, with its proof."""
    report = branch_report(actor=urls.actor(keys.username), facts=facts, published=report_time(now))
    return add_proof(
        report, private_key=keys.ed25519_private, verification_method=urls.ed25519_key_id(keys.username), created=now
    )


@dataclass(frozen=True)
class ReportCheck:
    """The outcome of checking a report's proof (before the transaction)."""

    origin: str  # these three are the report's when error is None ("" and 0.0 when it had none)
    parent: str
    published: float
    error: str | None  # None: the proof verifies with the origin's own key


def _shape_error(report: dict) -> str | None:
    origin = id_of(report.get("attributedTo"))
    if report.get("type") != "BranchReport" or origin is None:
        return "a BranchReport needs attributedTo"
    if parse_time(report.get("published")) is None:
        return "the report's published is not a date and time with a time zone"
    count = report.get("memberCount")
    if type(count) is not int or not 0 <= count <= MAX_MEMBERS:
        return f"the report's memberCount is not a count from 0 to {MAX_MEMBERS}"
    return None


def _against(actor: dict, report: dict, origin: str, now: datetime) -> str | None:
    """What is wrong with ``report`` as seen against its origin's actor document, or None."""
    try:
        verify_actor_proof(report, actor, now=now)
    except ProofError as error:
        return f"the report's proof: {error}"
    claimed, shown = id_of(report.get("parent")), id_of(actor.get("parent"))
    if claimed != shown:
        return f"the report of {origin} names {claimed} as its parent, but its actor shows {shown}"
    return None


async def check_proof(remote_actors: RemoteActors, report: dict, now: datetime) -> ReportCheck:
    """Verify the report's proof against its origin's published Multikey, and its claimed parent
    against the parent the origin's actor shows; FetchError if the origin is unreachable."""
    origin = id_of(report.get("attributedTo")) or ""
    error = _shape_error(report)
    if error is None:
        try:
            method = proof_verification_method(report)
        except ProofError as failure:
            error = f"the report's proof: {failure}"
        else:
            error = await _verify(remote_actors, report, origin, method, now)
    return ReportCheck(origin, id_of(report.get("parent")) or "", parse_time(report.get("published")) or 0.0, error)


async def _verify(remote_actors: RemoteActors, report: dict, origin: str, method: str, now: datetime) -> str | None:
    if method.split("#")[0] != origin:
        return f"the report of {origin} is signed with {method}, a key of another actor"
    reason = None
    for refresh in (False, True):  # a cached actor may predate a key rotation or a link: fetch it once more
        try:
            actor = await remote_actors.get_actor(origin, refresh=refresh)
        except FetchError as error:
            if error.gone:
                return f"the origin {origin} is gone: {error.reason}"
            raise
        reason = _against(actor.data, report, origin, now)
        if reason is None:
            return None
    return reason


# --- the branch_reports table ---------------------------------------------------------------


async def get(conn: Connection, origin_id: str):
    return await fetch_one(conn, "SELECT * FROM branch_reports WHERE origin_id = ?", (origin_id,))


async def upsert(
    conn: Connection,
    *,
    origin_id: str,
    via_child: str,
    parent_id: str | None,
    published: float,
    report: dict,
    now: float,
) -> None:
    await conn.execute(
        "INSERT INTO branch_reports (origin_id, via_child, parent_id, published, report, received_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (origin_id) DO UPDATE SET via_child = excluded.via_child,"
        " parent_id = excluded.parent_id, published = excluded.published, report = excluded.report,"
        " received_at = excluded.received_at",
        (origin_id, via_child, parent_id, published, jsonio.dumps_str(report), now),
    )


async def all_reports(conn: Connection) -> list[dict]:
    rows = await fetch_all(conn, "SELECT origin_id, via_child, parent_id, report FROM branch_reports")
    return [
        {"origin": r["origin_id"], "via": r["via_child"], "parent": r["parent_id"], "report": jsonio.loads(r["report"])}
        for r in rows
    ]


async def origins(conn: Connection) -> set[str]:
    return {row["origin_id"] for row in await fetch_all(conn, "SELECT origin_id FROM branch_reports")}


async def drop_branch(conn: Connection, via_child: str) -> int:
    """Forget every report that came through one child (it was unlinked)."""
    cursor = await conn.execute("DELETE FROM branch_reports WHERE via_child = ?", (via_child,))
    return cursor.rowcount


async def drop_subtree(conn: Connection, root: str) -> int:
    """Forget a node's report and those of every node whose claimed parents lead to it."""
    cursor = await conn.execute(
        "WITH RECURSIVE below(id, depth) AS (SELECT ?, 0 UNION SELECT r.origin_id, below.depth + 1"
        " FROM branch_reports r JOIN below ON r.parent_id = below.id WHERE below.depth < ?)"
        " DELETE FROM branch_reports WHERE origin_id IN (SELECT id FROM below)",
        (root, MAX_DEPTH),
    )
    return cursor.rowcount


async def reaches(conn: Connection, start: str | None, child: str) -> bool:
    """Whether the chain of claimed parents from ``start`` reaches ``child`` through reports kept from it."""
    current = start
    for _ in range(MAX_DEPTH):
        if current is None:
            return False
        if current == child:
            return True
        row = await get(conn, current)
        if row is None or row["via_child"] != child:
            return False
        current = row["parent_id"]
    return False
