"""A project decided from its decision's outcome: the winner rule, and the due work that applies it.

When the decisions room has kept the proposal's signed outcome at this node (the issuer:
``node.decisions.store.Proposal.outcome``, a ``DecisionOutcome`` whose ``result.questions`` holds
each question's counts, in the proposal's option order), the project is decided. Each put draft
was one question whose first option is "this draft" and whose second is "the default"
(:mod:`node.projects.voting`), so a draft's figures are the counts of those two options among
the members who answered its question, read by position (never by the options' words, which
are in the node's language).

**The winner** (:func:`winner`) is the draft with the largest majority over the default (votes
for minus votes against); a tie between drafts goes to the one with more votes for it, then to
the earlier draft (the drafts' order); no draft wins unless it has more votes for than against,
and none when the decision missed a quorum. The project is then ``decided`` (its ``outcome``:
:func:`summary_of`, and its ``adopted_draft``), the winner ``adopted`` and the other put drafts
``not_adopted``, in one transaction.

The trigger is one kind of due work, ``project outcome`` (worker ``decisions``, added to the
application's runner by :func:`node.projects.voting.kinds_context`, like the decisions' own kinds): the voting projects whose proposal has an
outcome here, a cheap indexed query each cycle, each decided at most once (``store.decide``
moves only ``voting`` -> ``decided``). It survives a restart: nothing is kept in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp import web

from node.core.appkeys import CLOCK, DATABASE
from node.core.clock import to_epoch
from node.core.due import DueKind, StateGraph
from node.decisions import store as decisions_store
from node.projects import store

PROJECT = StateGraph(
    "a project",
    initial="awaiting",
    transitions={
        "awaiting": ["open", "refused"],
        "open": ["voting"],
        "voting": ["decided"],
        "decided": [],
        "refused": [],
    },
    terminal=["decided", "refused"],
)


@dataclass(frozen=True)
class Figures:
    """One put draft's question: the votes for the draft and for the default."""

    draft: str
    question: str
    votes_for: int
    votes_against: int

    @property
    def majority(self) -> int:
        return self.votes_for - self.votes_against


def winner(figures: Sequence[Figures]) -> Figures | None:
    """The draft with the largest majority over the default (a tie: more votes for, then the
    earlier in ``figures``), or None when no draft has more votes for than against."""
    best: Figures | None = None
    for each in figures:
        if each.majority <= 0:
            continue
        if best is None or (each.majority, each.votes_for) > (best.majority, best.votes_for):
            best = each
    return best


def _count(options: object, position: int) -> int:
    if not isinstance(options, list) or len(options) <= position or not isinstance(options[position], dict):
        return 0
    count = options[position].get("count", 0)
    return count if type(count) is int and count >= 0 else 0


def figures_of(result: dict, drafts: Sequence[store.Draft]) -> list[Figures]:
    """Each put draft's figures from the outcome's ``result`` (a question missing from it: 0 and 0)."""
    questions = {q.get("id"): q for q in result.get("questions") or [] if isinstance(q, dict)}
    found = []
    for draft in drafts:
        question = questions.get(draft.question_id) or {}
        options = question.get("options")
        found.append(Figures(draft.id, draft.question_id or "", _count(options, 0), _count(options, 1)))
    return found


def summary_of(proposal_id: str, result: dict, figures: Sequence[Figures], won: Figures | None) -> dict:
    """What the project keeps as its ``outcome``: the decision, its figures, and the adopted draft."""
    return {
        "proposal": proposal_id,
        "status": result.get("status"),
        "voters": result.get("voters"),
        "electorate": result.get("electorate"),
        "drafts": [
            {"draft": f.draft, "question": f.question, "for": f.votes_for, "against": f.votes_against} for f in figures
        ],
        "adopted": won.draft if won is not None else None,
    }


async def decide_project(app: web.Application, project: store.Project) -> bool:
    """Decide ``project`` from its proposal's outcome here (False: none yet, or decided already)."""
    now = to_epoch(app[CLOCK].now())
    async with app[DATABASE].transaction() as conn:
        prop = await decisions_store.get_proposal(conn, project.proposal_id or "")
        if prop is None or prop.outcome is None:
            return False
        result = prop.outcome.get("result") or {}
        put = [d for d in await store.drafts_of(conn, project.id) if d.state == "voting"]
        figures = figures_of(result, put)
        won = None if result.get("status") == "no quorum" else winner(figures)
        adopted = won.draft if won is not None else None
        if not await store.decide(conn, project.id, summary_of(prop.id, result, figures, won), adopted, now):
            return False
        for draft in put:
            await store.set_draft_state(conn, draft.id, "adopted" if draft.id == adopted else "not_adopted")
    return True


def outcome_kind(app: web.Application) -> DueKind:
    async def due() -> list[store.Project]:
        return await store.voting_projects_with_outcome(app[DATABASE].reader)

    async def work(project: store.Project) -> bool:
        return await decide_project(app, project)

    return DueKind("project outcome", PROJECT, due, work, key=lambda project: project.id, worker="decisions")
