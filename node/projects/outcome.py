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

**At every level** (:func:`said`, ``registry.outcome_words``): the vote's Survey carries, signed with
it, the ``project`` term (:func:`term_of`: the project's id, title and default, the rule's name
:data:`METHOD`, and each put draft's id and title, in the order of the Survey's questions), so a chapter far below, which holds no
project, applies the same :func:`winner` to the signed outcome's counts and says the result:
"Project «title»: «draft» adopted", or that the default stands, with each draft's figures (and the
same as data, ``json``, which ``/results`` serves as its ``meaning``). The decisions room asks for it
(its news item, the copy's page, ``/results``) without importing this room. A term that does not read (:func:`read_term`: the wrong method, too long, a question the
Survey does not ask) is ignored: the outcome is then told as any survey's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp import web

from node.core.appkeys import CLOCK, DATABASE
from node.core.clock import to_epoch
from node.core.due import DueKind, StateGraph
from node.core.i18n import N_, Formatter, Message
from node.decisions import proposal as decisions_proposal
from node.decisions import store as decisions_store
from node.projects import rules, store

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
    return _figures(result, [(draft.id, draft.question_id or "") for draft in drafts])


def _figures(result: dict, asked: Sequence[tuple[str, str]]) -> list[Figures]:
    """Each (draft, question)'s figures: its question's first option's count and its second's."""
    questions = {q.get("id"): q for q in result.get("questions") or [] if isinstance(q, dict)}
    found = []
    for draft, question_id in asked:
        options = (questions.get(question_id) or {}).get("options")
        found.append(Figures(draft, question_id, _count(options, 0), _count(options, 1)))
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


# --- the project term the vote's Survey carries, and what its outcome means at every level

METHOD = "largestMajorityOverDefault"
SHOWN_DEFAULT = 200  # characters of the default in a sentence
MAX_ID = 2048


@dataclass(frozen=True)
class Put:
    """A put draft as the signed Survey names it."""

    id: str
    name: str
    question: str


@dataclass(frozen=True)
class Term:
    """The signed Survey's ``project`` term, read."""

    id: str
    name: str
    default: str
    drafts: tuple[Put, ...]


def term_of(project: store.Project, drafts: Sequence[store.Draft]) -> dict:
    """The ``project`` term of the vote's Survey: which project, its default, and each put draft, in
    the order of the Survey's questions (the i-th draft is asked by the i-th question). It goes in the
    body the node issues, and the composer signs it with the Survey (``node.decisions.proposal.SIGNED_TERMS``)."""
    return {
        "id": project.id,
        "name": project.title,
        "defaultOption": project.default_option,
        "method": METHOD,
        "drafts": [{"id": d.id, "name": d.title} for d in drafts],
    }


def _text(value: object, limit: int) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


def _put(entry: object, asked: list[str], position: int) -> Put | None:
    """A draft of the term, asked by the question it names (a Survey signed before the terms were
    composed with it names each) or else by the question at its position."""
    if not isinstance(entry, dict):
        return None
    question = entry.get("question", asked[position] if position < len(asked) else None)
    found = (_text(entry.get("id"), MAX_ID), _text(entry.get("name"), rules.MAX_TITLE), question)
    if found[0] is None or found[1] is None or found[2] not in asked:
        return None
    return Put(found[0], found[1], str(found[2]))


def read_term(document: dict) -> Term | None:
    """The signed Survey's ``project`` term when this node can apply it: the rule is :data:`METHOD`,
    every text is bounded, and each draft is asked by one of the Survey's own questions, once."""
    if not isinstance(document, dict) or document.get("type") != "Survey":
        return None
    term = document.get("project")
    if not isinstance(term, dict) or term.get("method") != METHOD:
        return None
    asked = [str(q["id"]) for q in decisions_proposal.questions_of(document) if q.get("id")]
    entries = term.get("drafts")
    if not isinstance(entries, list) or not 0 < len(entries) <= len(asked):
        return None
    drafts = tuple(_put(entry, asked, position) for position, entry in enumerate(entries))
    if any(d is None for d in drafts) or len({d.question for d in drafts if d}) != len(drafts):
        return None
    project_id, name = _text(term.get("id"), MAX_ID), _text(term.get("name"), rules.MAX_TITLE)
    default = _text(term.get("defaultOption"), rules.MAX_AIM)
    if project_id is None or name is None or default is None:
        return None
    return Term(project_id, name, default, tuple(d for d in drafts if d is not None))


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SHOWN_DEFAULT else flat[: SHOWN_DEFAULT - 1].rstrip() + "…"


def _headline(term: Term, won: Put | None, no_quorum: bool) -> Message:
    if won is not None:
        return N_("Project «{project}»: «{draft}» adopted", project=term.name, draft=won.name)
    if no_quorum:
        return N_(
            "Project «{project}»: no quorum, the default stands («{default}»)",
            project=term.name,
            default=_short(term.default),
        )
    return N_("Project «{project}»: the default stands («{default}»)", project=term.name, default=_short(term.default))


def said(document: dict, result: dict | None, fmt: Formatter) -> dict | None:
    """What the outcome means for the project the signed Survey names (``registry.outcome_words``):
    :func:`winner` applied to the signed counts, as the project's node decides it; None when the
    proposal is no project's vote this node can read, or has no outcome yet."""
    term = read_term(document)
    if term is None or not isinstance(result, dict):
        return None
    figures = _figures(result, [(d.id, d.question) for d in term.drafts])
    best = None if result.get("status") == "no quorum" else winner(figures)
    won = next((d for d in term.drafts if best is not None and d.id == best.draft), None)
    lines = [
        N_(
            "«{draft}»: {votes_for} for the draft, {votes_against} for the default",
            draft=d.name,
            votes_for=fmt.number(f.votes_for),
            votes_against=fmt.number(f.votes_against),
        )
        for d, f in zip(term.drafts, figures, strict=True)
    ]
    headline = _headline(term, won, result.get("status") == "no quorum")
    return {
        "status": "adopted" if won is not None else "default",
        "adopted": won.id if won is not None else None,
        "headline": headline,
        "lines": lines,
        "href": term.id,
        "json": _as_json(term, won, figures, headline),
        "rule": N_(
            "Each draft was asked against the default («{default}»): the draft with the largest majority over"
            " the default is adopted, if any has one; otherwise the default stands.",
            default=term.default,
        ),
    }


def _as_json(term: Term, won: Put | None, figures: Sequence[Figures], headline: Message) -> dict:
    """The same result as data (``/results`` as JSON): the adopted draft's id and title, or that the
    default stands, and each draft's votes for and against; the headline in English."""
    return {
        "type": "project",
        "project": term.id,
        "name": term.name,
        "result": "adopted" if won is not None else "default stands",
        "adopted": {"id": won.id, "name": won.name} if won is not None else None,
        "defaultOption": term.default,
        "drafts": [
            {"id": d.id, "name": d.name, "question": d.question, "for": f.votes_for, "against": f.votes_against}
            for d, f in zip(term.drafts, figures, strict=True)
        ],
        "headline": str(headline),
    }
