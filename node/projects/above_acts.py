"""What this node's members sent to the projects of the levels above, and what those nodes answered.

A member of a chapter takes part in a project of the region or the international from the
chapter's pages (``node.projects.above_pages``): each act goes out as an activity of the
member's own ``Person`` (``node.projects.acting``), and is kept here in the same transaction, one
row per activity (``project_acts``): the member, the kind of act, what it acts on (``object``:
the level's projects collection, a project's id, a draft's id), the project's node (the actor
that is to answer), the project it concerns, the title sent (a project's or a draft's), when it
was sent. So the pages say honestly what was sent and when, and what came of it.

**Answers.** The project's node answers a ``Create`` with ``Accept`` (whose ``result`` is the new
project's or draft's id) or ``Reject`` (the reason as ``content``); it may answer a ``Join`` or
``Leave`` the same way. Such an answer reaches the member's inbox and is dispatched by what it
answers (``registry.answer_handlers`` by the type of the local activity: ``Create``, ``Join``,
``Leave``): :func:`answer_or` wraps whatever handler was there (the tree's answer to a node's link
request is a ``Join`` too) and keeps the answer on the act's row when the answered activity is
one of these acts. Only the node the act was sent to may answer it (anyone else: the inbox keeps
the activity dead with the reason); a first answer stands, a repeat changes nothing. A
``result`` is kept only when it is an id on the answering node's host; a reason is kept as plain
text, cut at :data:`MAX_REASON` characters, and shown as the node wrote it (it is that node's
word, in its language).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from federation.activitystreams import actor_of, id_of, origin_of
from inbox.handlers import InboxContext, PermanentError
from node.core import objects
from node.core.clock import to_epoch
from node.core.db import Connection, fetch_all, fetch_one
from node.core.registry import Registry

KINDS = ("start", "draft", "revise", "join", "leave", "sign", "withdraw", "reply")
MAX_REASON = 500
_TAGS = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Act:
    activity_id: str
    member: str
    kind: str
    object: str
    node: str
    project: str | None
    title: str | None
    sent_at: float
    answer: str | None  # None (no answer yet), "accepted" or "refused"
    reason: str | None
    result: str | None
    answered_at: float | None


def _act(row) -> Act:
    return Act(*(row[name] for name in Act.__dataclass_fields__))


async def record(
    conn: Connection,
    *,
    activity_id: str,
    member: str,
    kind: str,
    object_id: str,
    node: str,
    project: str | None,
    title: str | None,
    now: float,
) -> None:
    await conn.execute(
        "INSERT INTO project_acts (activity_id, member, kind, object, node, project, title, sent_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (activity_id, member, kind, object_id, node, project, title, now),
    )


async def get(conn: Connection, activity_id: str) -> Act | None:
    row = await fetch_one(conn, "SELECT * FROM project_acts WHERE activity_id = ?", (activity_id,))
    return None if row is None else _act(row)


async def answered(
    conn: Connection, activity_id: str, *, answer: str, reason: str | None, result: str | None, now: float
) -> bool:
    """The node's answer, kept once (a repeat changes nothing); a project's start takes its result as its project."""
    cursor = await conn.execute(
        "UPDATE project_acts SET answer = ?, reason = ?, result = ?, answered_at = ?,"
        " project = CASE WHEN kind = 'start' THEN ? ELSE project END"
        " WHERE activity_id = ? AND answer IS NULL",
        (answer, reason, result, now, result, activity_id),
    )
    return cursor.rowcount == 1


async def of_member(conn: Connection, member: str, *, project: str | None = None, limit: int = 50) -> list[Act]:
    """The member's acts, newest first: all of them, or those concerning one project."""
    if project is None:
        rows = await fetch_all(
            conn, "SELECT * FROM project_acts WHERE member = ? ORDER BY sent_at DESC LIMIT ?", (member, limit)
        )
    else:
        rows = await fetch_all(
            conn,
            "SELECT * FROM project_acts WHERE member = ? AND project = ? ORDER BY sent_at DESC LIMIT ?",
            (member, project, limit),
        )
    return [_act(row) for row in rows]


async def starts_of(conn: Connection, member: str, *, limit: int = 20) -> list[Act]:
    rows = await fetch_all(
        conn,
        "SELECT * FROM project_acts WHERE member = ? AND kind = 'start' ORDER BY sent_at DESC LIMIT ?",
        (member, limit),
    )
    return [_act(row) for row in rows]


async def drafts_known(conn: Connection, project: str, *, limit: int = 50) -> list[str]:
    """The drafts of ``project`` this node's members wrote and its node accepted (their ids)."""
    rows = await fetch_all(
        conn,
        "SELECT DISTINCT result FROM project_acts WHERE project = ? AND kind = 'draft' AND answer = 'accepted'"
        " AND result IS NOT NULL LIMIT ?",
        (project, limit),
    )
    return [row["result"] for row in rows]


# --- the answers


def _reason(activity: dict) -> str | None:
    content = activity.get("content")
    if not isinstance(content, str) or not content.strip():
        return None
    text = html.unescape(_TAGS.sub(" ", content))
    return " ".join(text.split())[:MAX_REASON] or None


def _result(activity: dict, node: str) -> str | None:
    result = id_of(activity.get("result"))
    return result if result is not None and origin_of(result) == origin_of(node) else None


async def keep_answer(ctx: InboxContext, activity: dict, act: Act) -> None:
    if actor_of(activity) != act.node:
        raise PermanentError(f"{actor_of(activity)} answered an activity sent to {act.node}")
    kind = activity.get("type")
    if kind not in ("Accept", "Reject"):
        return  # a TentativeAccept says nothing yet
    await answered(
        ctx.conn,
        act.activity_id,
        answer="accepted" if kind == "Accept" else "refused",
        reason=_reason(activity) if kind == "Reject" else None,
        result=_result(activity, act.node) if kind == "Accept" else None,
        now=to_epoch(ctx.now),
    )


def answer_or(wrapped):
    """An answer to one of these acts is kept on its row; any other goes on to ``wrapped``."""

    async def handle(ctx: InboxContext, activity: dict, target: objects.StoredObject | None) -> None:
        act = await get(ctx.conn, target.id) if target is not None and target.kind == "activity" else None
        if act is not None:
            await keep_answer(ctx, activity, act)
        elif wrapped is not None:
            await wrapped(ctx, activity, target)

    return handle


def register(registry: Registry) -> None:
    for kind in ("Create", "Join", "Leave"):
        registry.answer_handlers[kind] = answer_or(registry.answer_handlers.get(kind))
