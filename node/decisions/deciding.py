"""From the chapter tallies kept here to a level's signed aggregate, and at the issuer to the outcome.

Every level recomputes from the chapters' own tallies (never from an aggregate), and from
those only the figures it recounted itself from their leaves (``received.reported_recounts``)
and the roll it holds for each chapter: no number a tally merely states enters a count.
:class:`Standing` reads once what a result needs (the electorate, the rolls, the newest
exclusions, the recounts); :func:`chapter_tallies` turns it into ``outcome.ChapterTally`` rows
for one question (the first by default: it decides a proposal; each question of a survey
gets its own result beside its counts, its leading option(s): ``outcome``): a reporting chapter with
its roll (less its exclusions) and the recounted counts; a chapter that did not report (or
was refused) in the denominator with its roll (less its exclusions) when one arrived, else
the member count of its last signed branch report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from node.core.clock import iso
from node.core.db import Connection
from node.core.keys import ActorKeys
from node.core.urls import Urls
from node.decisions import documents, outcome, proposal, received, store, tallying
from node.decisions.leaves import Recount


@dataclass(frozen=True)
class Standing:
    """What this level holds of a proposal's electorate, read once."""

    electorate: list[dict]
    rolls: dict[str, int]  # chapter -> its roll less its exclusions, for those whose roll arrived
    recounts: dict[str, tuple[int, Recount]]  # reporting chapter -> (its roll, its recount)

    @classmethod
    async def read(cls, conn: Connection, prop: store.Proposal) -> Standing:
        latest = await received.exclusions(conn, prop.id)
        lost = (latest or {}).get("excluded") or {}
        sizes = await received.roll_sizes(conn, prop.id)
        rolls = {chapter: max(0, size - len(lost.get(chapter, []))) for chapter, size in sizes.items()}
        recounts = {
            chapter: (roll, Recount.from_json(data))
            for chapter, (roll, data) in (await received.reported_recounts(conn, prop.id)).items()
        }
        return cls(await store.electorate(conn, prop.id), rolls, recounts)


def chapter_tallies(
    prop: store.Proposal, standing: Standing, question_id: str | None = None
) -> list[outcome.ChapterTally]:
    """The electorate's chapters with their counts of ``question_id`` (the first question by default)."""
    first = question_id or proposal.questions_of(prop.document)[0]["id"]
    rows = []
    for elector in standing.electorate:
        chapter, path = elector["chapter"], tuple(elector["path"])
        kept = standing.recounts.get(chapter)
        if kept is None:
            rows.append(outcome.ChapterTally(chapter, standing.rolls.get(chapter, elector["roll"]), path))
            continue
        roll, counted = kept
        question = counted.questions.get(first)
        rows.append(
            outcome.ChapterTally(
                chapter,
                roll,
                path,
                reported=True,
                voters=question.voters if question else 0,
                counts=dict(question.counts) if question else {},
            )
        )
    return rows


def totals(prop: store.Proposal, standing: Standing) -> tuple[list[dict], int]:
    """Each question's aggregate counts and voters over the counted tallies; voters overall."""
    questions = []
    for question in proposal.questions_of(prop.document):
        counts = dict.fromkeys(proposal.options_of(question), 0)
        voters = 0
        for _, counted in standing.recounts.values():
            mine = counted.questions.get(question["id"])
            if mine is None:
                continue
            voters += mine.voters
            for name in counts:
                counts[name] += mine.counts.get(name, 0)
        text = {"content": question["content"]} if question.get("content") else {"name": question.get("name", "")}
        questions.append(
            {
                "id": question["id"],
                **text,
                "options": [{"name": n, "count": c} for n, c in counts.items()],
                "votersCount": voters,
            }
        )
    return questions, sum(counted.voters for _, counted in standing.recounts.values())


async def all_reported(conn: Connection, prop: store.Proposal) -> bool:
    kept = await received.reported_recounts(conn, prop.id)
    return all(e["chapter"] in kept for e in await store.electorate(conn, prop.id))


def question_outcome(decided: outcome.Outcome, policy: outcome.Policy) -> dict:
    """A question's result beside its counts: a survey's says its ``leading`` option(s) (several: a
    tie; none: nobody answered) and their ``leadingShare`` of the weighted answers."""
    said: dict = {"status": decided.status, "reason": decided.reason, "agreement": decided.agreement}
    if policy.survey:
        said.update(leading=list(decided.leading), leadingShare=decided.leading_share)
    return said


async def result_of(conn: Connection, prop: store.Proposal) -> dict:
    """The outcome: the first question's decides a proposal; a survey's says so (``survey``, or ``no
    quorum``), and each of its questions has its own result (its ``outcome`` beside its counts)."""
    policy = proposal.policy_of(prop.document)
    standing = await Standing.read(conn, prop)
    questions, voters = totals(prop, standing)
    for entry in questions:
        entry["outcome"] = question_outcome(
            outcome.decide(policy, chapter_tallies(prop, standing, entry["id"])), policy
        )
    chapters = chapter_tallies(prop, standing)
    decided = outcome.decide(policy, chapters)
    return {
        "status": decided.status,
        "reason": outcome.SURVEY_REASON if decided.status == "survey" else decided.reason,
        "electorate": decided.electorate,
        "voters": voters,
        "agreement": decided.agreement,
        "weighted": dict(decided.weighted),
        "questions": questions,
        "chapters": [{"id": c.chapter, "reported": c.reported, "roll": c.roll, "voters": c.voters} for c in chapters],
    }


async def signed_outcome(conn, urls: Urls, keys: ActorKeys, prop: store.Proposal, now: datetime) -> dict:
    unsigned = documents.decision_document(
        "DecisionOutcome",
        actor=urls.actor(keys.username),
        proposal=prop.id,
        published=iso(now),
        result=await result_of(conn, prop),
    )
    return tallying.sign(urls, keys, unsigned, now)


async def signed_aggregate(conn, urls: Urls, keys: ActorKeys, prop: store.Proposal, now: datetime) -> dict:
    questions, voters = totals(prop, await Standing.read(conn, prop))
    chapters = {t["origin"]: t["status"] for t in await received.tallies(conn, prop.id)}
    listed = [
        {"id": e["chapter"], "status": chapters.get(e["chapter"], "not reporting")}
        for e in await store.electorate(conn, prop.id)
    ]
    unsigned = documents.decision_document(
        "DecisionAggregate",
        actor=urls.actor(keys.username),
        proposal=prop.id,
        published=iso(now),
        result={"questions": questions, "voters": voters, "chapters": listed},
    )
    return tallying.sign(urls, keys, unsigned, now)


def closed_question(question: dict, totals_of: dict, closed: str) -> dict:
    """A proposal's Question as served once decided: ``closed``, aggregate counts, ``votersCount``."""
    mine = totals_of[question["id"]]
    counts = {o["name"]: o["count"] for o in mine["options"]}
    kind = proposal.kind_of(question)
    options = [
        {"type": "Note", "name": n, "replies": {"type": "Collection", "totalItems": counts[n]}}
        for n in proposal.options_of(question)
    ]
    return {**question, kind: options, "votersCount": mine["votersCount"], "closed": closed}
