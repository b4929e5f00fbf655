"""The projects tables and their queries: projects, members, drafts, revisions and signatures.

``project_signing_activities`` keeps the id of every activity that ever signed or withdrew
(:func:`first_time`): a signature row remembers only its latest.

States of a project: ``awaiting`` (the admin's approval, when the config asks for it) ->
``open`` | ``refused``; ``open`` -> ``voting`` (its qualifying drafts put to the vote as one
decision, ``proposal_id``) -> ``decided`` (``outcome``, and ``adopted_draft`` when a draft won).
States of a draft: ``open`` (written, revised, signed) -> ``voting`` (a question of the
decision, ``question_id``) -> ``adopted`` | ``not_adopted``; a draft that had not qualified
when the vote began is ``not_put``. A draft's ``text`` and ``title`` are its newest revision's;
every revision is kept in ``project_revisions``.
"""

from __future__ import annotations

from dataclasses import dataclass

from federation import jsonio
from node.core.db import Connection, dialects, fetch_all, fetch_one, fetch_value

PROJECT_STATES = ("awaiting", "open", "voting", "decided", "refused")
DRAFT_STATES = ("open", "voting", "adopted", "not_adopted", "not_put")


@dataclass(frozen=True)
class Project:
    id: str
    title: str
    aim: str
    default_option: str
    state: str
    started_by: str
    started_at: float
    opened_at: float | None
    refusal: str | None
    proposal_id: str | None
    vote_began_at: float | None
    outcome: dict | None
    adopted_draft: str | None
    decided_at: float | None

    @property
    def uuid(self) -> str:
        return self.id.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Draft:
    id: str
    project_id: str
    title: str
    text: str
    revision: int
    created_by: str
    created_at: float
    updated_at: float
    state: str
    qualified_at: float | None
    question_id: str | None

    @property
    def uuid(self) -> str:
        return self.id.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Revision:
    draft_id: str
    number: int
    title: str
    text: str
    author: str
    created_at: float


@dataclass(frozen=True)
class Signature:
    draft_id: str
    actor: str
    via: str
    signed_at: float


def _project(row) -> Project | None:
    if row is None:
        return None
    outcome = jsonio.loads(row["outcome"]) if row["outcome"] else None
    return Project(
        row["id"],
        row["title"],
        row["aim"],
        row["default_option"],
        row["state"],
        row["started_by"],
        row["started_at"],
        row["opened_at"],
        row["refusal"],
        row["proposal_id"],
        row["vote_began_at"],
        outcome,
        row["adopted_draft"],
        row["decided_at"],
    )


def _draft(row) -> Draft | None:
    if row is None:
        return None
    return Draft(*(row[name] for name in Draft.__dataclass_fields__))


# --- locks for the limits (node.projects.rules): nothing on SQLite, whose writers are serialised

#: the project's row, locked until the transaction ends (a draft is added to it)
LOCK_PROJECT_SQL = dialects(
    sqlite="SELECT 1 FROM projects WHERE id = ?", postgres="SELECT 1 FROM projects WHERE id = ? FOR UPDATE"
)
#: the draft's row, read and locked until the transaction ends (a revision is added to it)
GET_DRAFT_LOCKED_SQL = dialects(
    sqlite="SELECT * FROM project_drafts WHERE id = ?", postgres="SELECT * FROM project_drafts WHERE id = ? FOR UPDATE"
)
#: what a member starts: no row to lock yet, so a transaction-scoped advisory lock on the member (in
#: this schema), in the two-key space, which the one-key locks of node.core.postgres never share
LOCK_STARTER_SQL = dialects(
    sqlite="SELECT ?",
    postgres="SELECT pg_advisory_xact_lock(7401114, hashtext(current_schema() || ' projects of ' || ?::text))",
)


async def lock_project(conn: Connection, project_id: str) -> None:
    await fetch_value(conn, LOCK_PROJECT_SQL, (project_id,))


async def lock_starter(conn: Connection, actor: str) -> None:
    await fetch_value(conn, LOCK_STARTER_SQL, (actor,))


# --- projects


async def insert_project(
    conn: Connection,
    *,
    project_id: str,
    title: str,
    aim: str,
    default_option: str,
    started_by: str,
    opened: bool,
    now: float,
    source: str | None = None,
) -> None:
    """``source``: the member's object it was made from (a Create of the fediverse), else None."""
    await conn.execute(
        "INSERT INTO projects (id, title, aim, default_option, state, started_by, started_at, opened_at, source)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            project_id,
            title,
            aim,
            default_option,
            "open" if opened else "awaiting",
            started_by,
            now,
            now if opened else None,
            source,
        ),
    )
    await add_member(conn, project_id, started_by, now)


async def get_project(conn: Connection, project_id: str) -> Project | None:
    return _project(await fetch_one(conn, "SELECT * FROM projects WHERE id = ?", (project_id,)))


async def project_by_proposal(conn: Connection, proposal_id: str) -> Project | None:
    return _project(await fetch_one(conn, "SELECT * FROM projects WHERE proposal_id = ?", (proposal_id,)))


async def projects_in_states(
    conn: Connection, states: tuple[str, ...], *, limit: int = 100, offset: int = 0
) -> list[Project]:
    """Newest first."""
    marks = ", ".join("?" for _ in states)
    rows = await fetch_all(
        conn,
        f"SELECT * FROM projects WHERE state IN ({marks}) ORDER BY started_at DESC, id LIMIT ? OFFSET ?",
        (*states, limit, offset),
    )
    return [p for p in map(_project, rows) if p is not None]


async def count_in_states(conn: Connection, states: tuple[str, ...]) -> int:
    marks = ", ".join("?" for _ in states)
    return int(await fetch_value(conn, f"SELECT COUNT(*) FROM projects WHERE state IN ({marks})", states) or 0)


async def count_started_by(conn: Connection, actor: str, states: tuple[str, ...]) -> int:
    """The projects ``actor`` started that are in one of ``states``."""
    marks = ", ".join("?" for _ in states)
    query = f"SELECT COUNT(*) FROM projects WHERE started_by = ? AND state IN ({marks})"
    return int(await fetch_value(conn, query, (actor, *states)) or 0)


async def count_drafts(conn: Connection, project_id: str, *, author: str | None = None) -> int:
    """The drafts of a project (written by ``author``, if given)."""
    if author is None:
        found = await fetch_value(conn, "SELECT COUNT(*) FROM project_drafts WHERE project_id = ?", (project_id,))
    else:
        found = await fetch_value(
            conn, "SELECT COUNT(*) FROM project_drafts WHERE project_id = ? AND created_by = ?", (project_id, author)
        )
    return int(found or 0)


async def made_from(conn: Connection, source: str) -> str | None:
    """The project or draft made from the member's object ``source`` (a revision: its draft), if any."""
    for query in (
        "SELECT id FROM projects WHERE source = ?",
        "SELECT id FROM project_drafts WHERE source = ?",
        "SELECT draft_id FROM project_revisions WHERE source = ?",
    ):
        found = await fetch_value(conn, query, (source,))
        if found is not None:
            return str(found)
    return None


async def open_project(conn: Connection, project_id: str, now: float) -> bool:
    """The admin's approval: ``awaiting`` -> ``open``; False if it was not awaiting."""
    cursor = await conn.execute(
        "UPDATE projects SET state = 'open', opened_at = ? WHERE id = ? AND state = 'awaiting'", (now, project_id)
    )
    return cursor.rowcount == 1


async def refuse_project(conn: Connection, project_id: str, reason: str) -> bool:
    cursor = await conn.execute(
        "UPDATE projects SET state = 'refused', refusal = ? WHERE id = ? AND state = 'awaiting'", (reason, project_id)
    )
    return cursor.rowcount == 1


async def begin_vote(conn: Connection, project_id: str, proposal_id: str, now: float) -> bool:
    """``open`` -> ``voting`` with the decision's id; False if another process or click did it first."""
    cursor = await conn.execute(
        "UPDATE projects SET state = 'voting', proposal_id = ?, vote_began_at = ? WHERE id = ? AND state = 'open'",
        (proposal_id, now, project_id),
    )
    return cursor.rowcount == 1


async def decide(conn: Connection, project_id: str, outcome: dict, adopted_draft: str | None, now: float) -> bool:
    cursor = await conn.execute(
        "UPDATE projects SET state = 'decided', outcome = ?, adopted_draft = ?, decided_at = ?"
        " WHERE id = ? AND state = 'voting'",
        (jsonio.dumps_str(outcome), adopted_draft, now, project_id),
    )
    return cursor.rowcount == 1


# --- members of a project


async def add_member(conn: Connection, project_id: str, actor: str, now: float) -> bool:
    cursor = await conn.execute(
        "INSERT INTO project_members (project_id, actor, joined_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (project_id, actor, now),
    )
    return cursor.rowcount == 1


async def remove_member(conn: Connection, project_id: str, actor: str) -> bool:
    cursor = await conn.execute("DELETE FROM project_members WHERE project_id = ? AND actor = ?", (project_id, actor))
    return cursor.rowcount == 1


async def is_member(conn: Connection, project_id: str, actor: str) -> bool:
    found = await fetch_value(
        conn, "SELECT 1 FROM project_members WHERE project_id = ? AND actor = ?", (project_id, actor)
    )
    return found is not None


async def members_of(conn: Connection, project_id: str) -> list[tuple[str, float]]:
    rows = await fetch_all(
        conn,
        "SELECT actor, joined_at FROM project_members WHERE project_id = ? ORDER BY joined_at, actor",
        (project_id,),
    )
    return [(row["actor"], row["joined_at"]) for row in rows]


# --- drafts and their revisions


async def insert_draft(
    conn: Connection,
    *,
    draft_id: str,
    project_id: str,
    title: str,
    text: str,
    author: str,
    now: float,
    source: str | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO project_drafts"
        " (id, project_id, title, text, revision, created_by, created_at, updated_at, state, source)"
        " VALUES (?, ?, ?, ?, 1, ?, ?, ?, 'open', ?)",
        (draft_id, project_id, title, text, author, now, now, source),
    )
    await conn.execute(
        "INSERT INTO project_revisions (draft_id, number, title, text, author, created_at) VALUES (?, 1, ?, ?, ?, ?)",
        (draft_id, title, text, author, now),
    )


async def revise_draft(
    conn: Connection, draft_id: str, *, title: str, text: str, author: str, now: float, source: str | None = None
) -> int | None:
    """A new revision of an open draft; its number, or None when the draft is no longer open."""
    number = await fetch_value(
        conn, "SELECT revision + 1 FROM project_drafts WHERE id = ? AND state = 'open'", (draft_id,)
    )
    if number is None:
        return None
    cursor = await conn.execute(
        "UPDATE project_drafts SET title = ?, text = ?, revision = ?, updated_at = ?"
        " WHERE id = ? AND state = 'open' AND revision = ?",
        (title, text, number, now, draft_id, number - 1),
    )
    if cursor.rowcount != 1:
        return None
    await conn.execute(
        "INSERT INTO project_revisions (draft_id, number, title, text, author, created_at, source)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (draft_id, number, title, text, author, now, source),
    )
    return int(number)


async def get_draft(conn: Connection, draft_id: str, *, lock: bool = False) -> Draft | None:
    """The draft; with ``lock``, its row locked until the caller's transaction ends (PostgreSQL)."""
    query = GET_DRAFT_LOCKED_SQL if lock else "SELECT * FROM project_drafts WHERE id = ?"
    return _draft(await fetch_one(conn, query, (draft_id,)))


async def drafts_of(conn: Connection, project_id: str) -> list[Draft]:
    rows = await fetch_all(
        conn, "SELECT * FROM project_drafts WHERE project_id = ? ORDER BY created_at, id", (project_id,)
    )
    return [d for d in map(_draft, rows) if d is not None]


async def revisions_of(conn: Connection, draft_id: str) -> list[Revision]:
    rows = await fetch_all(
        conn,
        "SELECT draft_id, number, title, text, author, created_at FROM project_revisions"
        " WHERE draft_id = ? ORDER BY number",
        (draft_id,),
    )
    return [Revision(*(row[name] for name in Revision.__dataclass_fields__)) for row in rows]


async def revision(conn: Connection, draft_id: str, number: int) -> Revision | None:
    row = await fetch_one(
        conn,
        "SELECT draft_id, number, title, text, author, created_at FROM project_revisions WHERE draft_id = ? AND number = ?",
        (draft_id, number),
    )
    return None if row is None else Revision(*(row[name] for name in Revision.__dataclass_fields__))


async def set_draft_state(conn: Connection, draft_id: str, state: str, *, question_id: str | None = None) -> None:
    await conn.execute(
        "UPDATE project_drafts SET state = ?, question_id = COALESCE(?, question_id) WHERE id = ?",
        (state, question_id, draft_id),
    )


async def mark_qualified(conn: Connection, draft_id: str, now: float) -> bool:
    """The first time a draft reaches the quorum (True then: the admin is told once)."""
    cursor = await conn.execute(
        "UPDATE project_drafts SET qualified_at = ? WHERE id = ? AND qualified_at IS NULL", (now, draft_id)
    )
    return cursor.rowcount == 1


# --- signatures


async def sign(conn: Connection, draft_id: str, actor: str, *, via: str, activity_id: str | None, now: float) -> bool:
    """Sign (or sign again after withdrawing); False if the signature already stands. That an activity
    signs only once is :func:`first_time`'s (the caller asks it first)."""
    cursor = await conn.execute(
        "INSERT INTO project_signatures (draft_id, actor, via, activity_id, signed_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (draft_id, actor) DO UPDATE SET via = excluded.via, activity_id = excluded.activity_id,"
        " signed_at = excluded.signed_at, withdrawn_at = NULL WHERE project_signatures.withdrawn_at IS NOT NULL",
        (draft_id, actor, via, activity_id, now),
    )
    return cursor.rowcount == 1


async def first_time(conn: Connection, activity_id: str, draft_id: str, actor: str, kind: str, now: float) -> bool:
    """Keep ``activity_id`` for good as one that signed (``kind`` ``sign``: a Join, a Like) or withdrew
    (``withdraw``: a Leave) ``actor``'s signature of the draft; False when it was kept before, so an
    activity delivered again, however long after and by whoever relays it, never counts twice."""
    cursor = await conn.execute(
        "INSERT INTO project_signing_activities (activity_id, draft_id, actor, kind, seen_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (activity_id) DO NOTHING",
        (activity_id, draft_id, actor, kind, now),
    )
    return cursor.rowcount == 1


async def withdraw(conn: Connection, draft_id: str, actor: str, now: float) -> bool:
    cursor = await conn.execute(
        "UPDATE project_signatures SET withdrawn_at = ? WHERE draft_id = ? AND actor = ? AND withdrawn_at IS NULL",
        (now, draft_id, actor),
    )
    return cursor.rowcount == 1


async def signature_by_activity(conn: Connection, activity_id: str) -> tuple[str, str] | None:
    """(draft, actor) of the standing signature a Like made, for its Undo."""
    row = await fetch_one(
        conn,
        "SELECT draft_id, actor FROM project_signatures WHERE activity_id = ? AND withdrawn_at IS NULL",
        (activity_id,),
    )
    return None if row is None else (row["draft_id"], row["actor"])


async def signatories(conn: Connection, draft_id: str) -> list[Signature]:
    rows = await fetch_all(
        conn,
        "SELECT draft_id, actor, via, signed_at FROM project_signatures"
        " WHERE draft_id = ? AND withdrawn_at IS NULL ORDER BY signed_at, actor",
        (draft_id,),
    )
    return [Signature(row["draft_id"], row["actor"], row["via"], row["signed_at"]) for row in rows]


async def count_signatories(conn: Connection, draft_id: str) -> int:
    return int(
        await fetch_value(
            conn, "SELECT COUNT(*) FROM project_signatures WHERE draft_id = ? AND withdrawn_at IS NULL", (draft_id,)
        )
        or 0
    )


async def has_signed(conn: Connection, draft_id: str, actor: str) -> bool:
    found = await fetch_value(
        conn,
        "SELECT 1 FROM project_signatures WHERE draft_id = ? AND actor = ? AND withdrawn_at IS NULL",
        (draft_id, actor),
    )
    return found is not None


# --- the vote (node.projects.voting, node.projects.outcome)


async def projects_with_qualified_drafts(conn: Connection, *, limit: int = 100) -> list[Project]:
    """Open projects with at least one open draft that reached the quorum (the dashboard's list)."""
    rows = await fetch_all(
        conn,
        "SELECT * FROM projects WHERE state = 'open' AND EXISTS (SELECT 1 FROM project_drafts d"
        " WHERE d.project_id = projects.id AND d.state = 'open' AND d.qualified_at IS NOT NULL)"
        " ORDER BY started_at, id LIMIT ?",
        (limit,),
    )
    return [p for p in map(_project, rows) if p is not None]


async def voting_projects_with_outcome(conn: Connection, *, limit: int = 100) -> list[Project]:
    """Projects still ``voting`` whose decision has its outcome at this node (the issuer)."""
    rows = await fetch_all(
        conn,
        "SELECT p.* FROM projects p JOIN decision_proposals d ON d.id = p.proposal_id"
        " WHERE p.state = 'voting' AND d.outcome IS NOT NULL ORDER BY p.vote_began_at, p.id LIMIT ?",
        (limit,),
    )
    return [p for p in map(_project, rows) if p is not None]


async def project_by_uuid(conn: Connection, uuid: str) -> Project | None:
    """The project whose id ends in ``/<uuid>`` (a page's address); None for anything but a uuid's characters."""
    if not 8 <= len(uuid) <= 64 or not uuid.replace("-", "").isalnum() or not uuid.isascii():
        return None
    return _project(await fetch_one(conn, "SELECT * FROM projects WHERE id LIKE ?", (f"%/{uuid}",)))
