"""What may happen to a project, a draft and a signature, said as messages (no I/O but reads).

Each check returns ``None`` when the act may go ahead, else the reason as a
:class:`node.core.i18n.Message` (shown translated on the pages, in English in JSON and in
the inbox's dead items). Who is a member of the subtree is decided before (``subtree``); these
rules say what a member may do to a project in its state.
"""

from __future__ import annotations

from node.branches import reports
from node.core.config import Config
from node.core.db import Connection
from node.core.i18n import N_, Message
from node.decisions.leaves import MAX_COUNT
from node.membership import members
from node.projects import store

MAX_TITLE = 200  # characters of a project's or a draft's title
MAX_AIM = 5_000  # characters of a project's aim or its default
MAX_TEXT = 100_000  # characters of a draft's text


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
