"""The electorate: the chapters of this node's subtree when a proposal opens here.

Taken from the signed branch reports this node keeps (``node.branches.reports``): every
node of the subtree whose report says ``level`` = ``chapter``, with the direct child it
came through, the branches above it up to here (nearest first, for the issuer's weights)
and its reported member count (the denominator for a chapter that never reports). A
chapter linked after the proposal opened is not in it; one that unlinks stays in it. A
member count that is not a whole number from 0 to ``leaves.MAX_COUNT`` leaves the chapter
out (a report is its node's word, but no number received goes unbounded into a count).
"""

from __future__ import annotations

from node.branches import reports
from node.core.db import Connection
from node.decisions import store
from node.decisions.leaves import MAX_COUNT

MAX_DEPTH = 16


def _path(report_parents: dict[str, str | None], chapter: str, here: str) -> list[str]:
    path, current = [], report_parents.get(chapter)
    for _ in range(MAX_DEPTH):
        if current is None or current == here:
            break
        path.append(current)
        current = report_parents.get(current)
    return path


async def freeze(conn: Connection, proposal_id: str, here: str) -> int:
    """Record the electorate of ``proposal_id`` as this node sees it now; how many chapters."""
    kept = await reports.all_reports(conn)
    parents = {entry["origin"]: entry["parent"] for entry in kept}
    count = 0
    for entry in kept:
        report = entry["report"]
        members = report.get("memberCount", 0)
        if report.get("level") != "chapter" or type(members) is not int or not 0 <= members <= MAX_COUNT:
            continue
        await store.add_elector(
            conn,
            proposal_id,
            chapter=entry["origin"],
            level=report.get("level"),
            via_child=entry["via"],
            path=_path(parents, entry["origin"], here),
            roll=members,
        )
        count += 1
    return count
