"""The arithmetic of a decision: from the chapters' tallies and the issuer's policy to an outcome.

Pure functions, so every level computes the same result from the same chapter tallies and
a member can redo it by hand. The order of the checks is the policy's order of precedence:

1. **Quorums** (each optional): ``chapterQuorum``, the share of the electorate's chapters
   that reported; ``rollQuorum``, the share of the electorate's members who belong to a
   reporting chapter; ``turnoutQuorum``, the share of the electorate who voted. Any one
   missed: ``no quorum``.
2. **Weights**: in ``ballots`` mode every counted ballot weighs 1; in ``chapterShare`` mode a
   reporting chapter counts as a bloc the size of its roll, split by its own result (a
   chapter with no ballots adds nothing). The issuer's ``weights`` (per branch actor id: a
   chapter or any branch above it, the nearest listed one applies) multiply either.
3. **Block**: when the block option's share of all weighted ballots reaches ``blockShare``,
   the proposal is ``blocked``, whatever the agreement.
4. **Threshold**: agree / (agree + disagree) against ``passThreshold``: ``passed`` or
   ``failed``. Without a threshold the decision is ``advisory`` (counts only).

A **survey** (the issuer's ``Survey``: ``Policy.survey``) asks for opinions, not for a decision:
after the quorums (1) and the weights (2), each question's result is ``survey`` with its
``leading`` option(s), those with the largest weighted count (several: a tie, listed in name
order; none when nobody answered), and their ``leading_share`` of all weighted answers. The
block share and the pass threshold are never applied to a survey: nothing in it passes or fails.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

WEIGHT_MODES = ("ballots", "chapterShare")
OUTCOMES = ("passed", "failed", "blocked", "no quorum", "advisory", "survey")
SURVEY_REASON = (
    "a survey asks for opinions: each question's leading option(s) beside its counts; nothing passes or fails"
)


@dataclass(frozen=True)
class Policy:
    """What the issuer signed: how ballots weigh and what it takes to pass."""

    weight_mode: str = "ballots"
    weights: Mapping[str, float] = field(default_factory=dict)
    pass_threshold: float | None = None
    block_share: float | None = None
    chapter_quorum: float | None = None
    roll_quorum: float | None = None
    turnout_quorum: float | None = None
    agree: str = "agree"
    disagree: str = "disagree"
    block: str = "block"
    survey: bool = False  # a Survey: each question's leading option(s), never a threshold or a block


@dataclass(frozen=True)
class ChapterTally:
    """One chapter of the electorate: its roll, and (when it reported) its voters and counts."""

    chapter: str
    roll: int
    path: tuple[str, ...] = ()  # the branches above it, nearest first (for the issuer's weights)
    reported: bool = False
    voters: int = 0
    counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    status: str
    reason: str
    electorate: int
    voters: int
    weighted: Mapping[str, float]
    agreement: float | None
    leading: tuple[str, ...] = ()  # a survey's: the option(s) with the largest weighted count
    leading_share: float | None = None  # their (each one's) share of all weighted answers


def weight_of(policy: Policy, tally: ChapterTally) -> float:
    for branch in (tally.chapter, *tally.path):
        if branch in policy.weights:
            return float(policy.weights[branch])
    return 1.0


def weighted_counts(policy: Policy, tallies: Sequence[ChapterTally]) -> dict[str, float]:
    """Each option's weighted count over the reporting chapters."""
    totals: dict[str, float] = {}
    for tally in tallies:
        if not tally.reported or tally.voters == 0:
            continue
        weight = weight_of(policy, tally)
        scale = tally.roll / tally.voters if policy.weight_mode == "chapterShare" else 1.0
        for option, count in tally.counts.items():
            totals[option] = totals.get(option, 0.0) + weight * scale * count
    return totals


def missed_quorum(policy: Policy, tallies: Sequence[ChapterTally]) -> str | None:
    """Why the quorum is missed, or None."""
    electorate = sum(t.roll for t in tallies)
    reporting = [t for t in tallies if t.reported]
    shares = (
        ("chapter quorum", policy.chapter_quorum, len(reporting), len(tallies)),
        ("roll quorum", policy.roll_quorum, sum(t.roll for t in reporting), electorate),
        ("turnout quorum", policy.turnout_quorum, sum(t.voters for t in reporting), electorate),
    )
    for name, needed, part, whole in shares:
        if needed is not None and (whole == 0 or part / whole < needed):
            return f"{name} missed: {part} of {whole} is under {needed:.0%}"
    return None


def leading(weighted: Mapping[str, float]) -> tuple[tuple[str, ...], float | None]:
    """The option(s) with the largest weighted count, in name order (several: a tie), and that
    count's share of all weighted answers; ``((), None)`` when nobody answered."""
    total = sum(weighted.values())
    if total <= 0:
        return (), None
    top = max(weighted.values())
    return tuple(sorted(o for o, c in weighted.items() if math.isclose(c, top, rel_tol=1e-9))), top / total


def survey_reason(names: Sequence[str], share: float | None) -> str:
    if not names or share is None:
        return "no one answered"
    if len(names) == 1:
        return f"{names[0]} leads with {share:.1%}"
    return f"a tie: {', '.join(names)} at {share:.1%} each"


def decide(policy: Policy, tallies: Sequence[ChapterTally]) -> Outcome:
    electorate = sum(t.roll for t in tallies)
    voters = sum(t.voters for t in tallies if t.reported)
    weighted = weighted_counts(policy, tallies)
    names, top_share = leading(weighted) if policy.survey else ((), None)

    def outcome(status: str, reason: str, agreement: float | None = None) -> Outcome:
        return Outcome(status, reason, electorate, voters, weighted, agreement, names, top_share)

    missed = missed_quorum(policy, tallies)
    if missed is not None:
        return outcome("no quorum", missed)
    if policy.survey:
        return outcome("survey", survey_reason(names, top_share))
    total = sum(weighted.values())
    blocked = weighted.get(policy.block, 0.0)
    if policy.block_share is not None and total > 0 and blocked / total >= policy.block_share:
        return outcome("blocked", f"{blocked / total:.1%} blocked, at or over {policy.block_share:.0%}")
    agree, disagree = weighted.get(policy.agree, 0.0), weighted.get(policy.disagree, 0.0)
    agreement = agree / (agree + disagree) if agree + disagree else None
    if policy.pass_threshold is None:
        return outcome("advisory", "no pass threshold: the counts are advice", agreement)
    if agreement is not None and agreement >= policy.pass_threshold:
        return outcome("passed", f"{agreement:.1%} agree, at or over {policy.pass_threshold:.0%}", agreement)
    shown = "no one" if agreement is None else f"{agreement:.1%}"
    return outcome("failed", f"{shown} agree, under {policy.pass_threshold:.0%}", agreement)
