"""What may happen to a project, a draft and a signature, said as messages (no I/O but reads).

Each check returns ``None`` when the act may go ahead, else the reason as a
:class:`node.core.i18n.Message` (shown translated on the pages, in English in JSON and in
the inbox's dead items). Who is a member of the subtree is decided before (``subtree``); these
rules say what a member may do to a project in its state.

**The limits hold under concurrent writers.** A limit is counted in the transaction that then
inserts, so two transactions counting at once could each see one short and each insert. On SQLite
they cannot: its writers are serialised (``BEGIN IMMEDIATE``), and so are one PostgreSQL process's
(its one writer connection). Between PostgreSQL processes each limit's count first takes a lock
that the other transaction waits for until the first commits, and then counts afresh (READ
COMMITTED: each statement sees what committed before it): :func:`draft_count_refusal` locks the
project's row (``SELECT ... FOR UPDATE``), :func:`start_refusal` the member (a transaction-scoped
advisory lock: their project has no row yet), and a revision reads its draft's row locked
(``store.get_draft(..., lock=True)``, :func:`node.projects.making.revise`) before
:func:`revision_refusal`. On SQLite the same statements lock nothing (``node.core.db.dialects``).
"""

from __future__ import annotations

from node.branches import reports
from node.core.config import Config
from node.core.db import Connection
from node.core.i18n import N_, Message
from node.decisions.leaves import MAX_COUNT
from node.membership import members
from node.polls.outbound import MAX_SURVEY_QUESTIONS
from node.projects import store

MAX_TITLE = 200  # characters of a project's or a draft's title
MAX_AIM = 5_000  # characters of a project's aim or its default
MAX_TEXT = 100_000  # characters of a draft's text
# What one member may make, so that nobody floods the node, its followers or a vote:
MAX_OPEN_PROJECTS = 5  # projects a member started that await approval or are open, at once
MAX_DRAFTS = MAX_SURVEY_QUESTIONS  # drafts of a project (its vote asks one question per qualifying draft)
MAX_DRAFTS_PER_AUTHOR = 5  # drafts one member writes in one project
MAX_REVISIONS = 100  # revisions of a draft


def text_refusal(*, title: str, text: str, limit: int) -> Message | None:
    if not title.strip():
        return N_("a title is needed")
    if len(title) > MAX_TITLE:
        return N_("a title has at most {n} characters", n=MAX_TITLE)
    if not text.strip():
        return N_("the text is empty")
    if len(text) > limit:
        return N_("the text has at most {n} characters", n=limit)
    return None


def project_refusal(project: store.Project | None) -> Message | None:
    """A project takes new members, drafts and signatures only while it is open."""
    if project is None:
        return N_("there is no such project here")
    if project.state == "awaiting":
        return N_("this project awaits the admin's approval")
    if project.state == "refused":
        return N_("this project was not approved")
    if project.state != "open":
        return N_("this project's drafts went to the vote: it takes no new drafts, revisions or signatures")
    return None


def draft_refusal(project: store.Project | None, draft: store.Draft | None) -> Message | None:
    """A draft is revised, signed and unsigned only while it and its project are open."""
    if draft is None:
        return N_("there is no such draft here")
    if (refused := project_refusal(project)) is not None:
        return refused
    if draft.state != "open":
        return N_("this draft went to the vote: it can no longer be revised, signed or unsigned")
    return None


async def start_refusal(conn: Connection, started_by: str) -> Message | None:
    """A member starts a project while fewer than ``MAX_OPEN_PROJECTS`` of theirs await approval or are open
    (counted under a lock on the member, held until the caller's transaction ends)."""
    await store.lock_starter(conn, started_by)
    if await store.count_started_by(conn, started_by, ("awaiting", "open")) >= MAX_OPEN_PROJECTS:
        return N_(
            "a member has at most {n} projects awaiting approval or open at once: wait until one goes to the vote",
            n=MAX_OPEN_PROJECTS,
        )
    return None


async def draft_count_refusal(conn: Connection, project_id: str, author: str) -> Message | None:
    """A project takes at most ``MAX_DRAFTS`` drafts, at most ``MAX_DRAFTS_PER_AUTHOR`` of them by one member
    (counted under a lock on the project's row, held until the caller's transaction ends)."""
    await store.lock_project(conn, project_id)
    if await store.count_drafts(conn, project_id) >= MAX_DRAFTS:
        return N_("a project has at most {n} drafts: revise one of them", n=MAX_DRAFTS)
    if await store.count_drafts(conn, project_id, author=author) >= MAX_DRAFTS_PER_AUTHOR:
        return N_("a member writes at most {n} drafts of a project: revise one of yours", n=MAX_DRAFTS_PER_AUTHOR)
    return None


def revision_refusal(draft: store.Draft) -> Message | None:
    """A draft takes at most ``MAX_REVISIONS`` revisions (``draft`` read with its row locked)."""
    if draft.revision >= MAX_REVISIONS:
        return N_("a draft has at most {n} revisions: write a new draft", n=MAX_REVISIONS)
    return None


async def subtree_member_count(conn: Connection, config: Config) -> int:
    """The members this node's decisions concern: its own active members and those every node of
    its subtree last reported (each report counts that node's own members)."""
    total = await members.count_in_state(conn, config.node.name)
    for entry in await reports.all_reports(conn):
        count = entry["report"].get("memberCount", 0)
        if type(count) is int and 0 <= count <= MAX_COUNT:
            total += count
    return total


async def quorum(conn: Connection, config: Config) -> int:
    """The signatories a draft needs here now (``[projects] signatory_quorum``)."""
    return config.projects.quorum(await subtree_member_count(conn, config))
