"""From the chapter tallies kept here to a level's signed aggregate, and at the issuer to the outcome.

Every level recomputes from the chapters' own signed tallies (never from an aggregate):
:func:`chapter_tallies` turns this level's electorate and the tallies it counted into
``outcome.ChapterTally`` rows: a reporting chapter with its signed roll size (less the
members an earlier membership elsewhere holds) and the counts of one question (the first by
default: it decides the proposal; each question of a survey is decided by the same policy as
well, reported beside its counts),
a chapter that did not report (or was rejected) with the member count of its last signed
branch report, in the denominator. :func:`totals` adds up every question's counts.
"""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from node.core import vocabulary
from node.core.clock import iso
from node.core.keys import ActorKeys
from node.core.urls import Urls
from node.decisions import outcome, proposal, store, tallying


async def chapter_tallies(
    conn: aiosqlite.Connection, prop: store.Proposal, question_id: str | None = None
) -> list[outcome.ChapterTally]:
    """The electorate's chapters with their counts of ``question_id`` (the first question by default)."""
    first = question_id or proposal.questions_of(prop.document)[0]["id"]
    kept = {t["origin"]: t for t in await store.tallies(conn, prop.id) if t["kind"] == "tally"}
    lost = await store.duplicate_roll_tags(conn, prop.id)
    rows = []
    for elector in await store.electorate(conn, prop.id):
        chapter, path = elector["chapter"], tuple(elector["path"])
        entry = kept.get(chapter)
        if entry is None or entry["status"] != "reported":
            rows.append(outcome.ChapterTally(chapter, elector["roll"], path))
            continue
        doc = entry["document"]
        question = next((q for q in doc.get("questions", []) if q.get("id") == first), {})
        rows.append(
            outcome.ChapterTally(
                chapter,
                int(doc["rollSize"]) - lost.get(chapter, 0),
                path,
                reported=True,
                voters=int(question.get("voters", 0)),
                counts=dict(question.get("counts") or {}),
            )
        )
    return rows


async def totals(conn: aiosqlite.Connection, prop: store.Proposal) -> tuple[list[dict], int]:
    """Each question's aggregate counts and voters over the counted tallies; distinct voters overall."""
    counted = [
        t["document"] for t in await store.tallies(conn, prop.id) if t["kind"] == "tally" and t["status"] == "reported"
    ]
    questions = []
    for question in proposal.questions_of(prop.document):
        counts = dict.fromkeys(proposal.options_of(question), 0)
        voters = 0
        for doc in counted:
            mine = next((q for q in doc.get("questions", []) if q.get("id") == question["id"]), None)
            if mine is None:
                continue
            voters += int(mine.get("voters", 0))
            for name in counts:
                counts[name] += int((mine.get("counts") or {}).get(name, 0))
        text = {"content": question["content"]} if question.get("content") else {"name": question.get("name", "")}
        questions.append(
            {
                "id": question["id"],
                **text,
                "options": [{"name": n, "count": c} for n, c in counts.items()],
                "votersCount": voters,
            }
        )
    return questions, sum(int(doc.get("voters", 0)) for doc in counted)


async def all_reported(conn: aiosqlite.Connection, prop: store.Proposal) -> bool:
    kept = {
        t["origin"] for t in await store.tallies(conn, prop.id) if t["kind"] == "tally" and t["status"] == "reported"
    }
    return all(e["chapter"] in kept for e in await store.electorate(conn, prop.id))


async def result_of(conn: aiosqlite.Connection, prop: store.Proposal) -> dict:
    """The outcome: the first question's decides the proposal; each question of a survey is decided
    by the same policy too (its ``outcome`` beside its counts)."""
    policy = proposal.policy_of(prop.document)
    questions, voters = await totals(conn, prop)
    for entry in questions:
        each = outcome.decide(policy, await chapter_tallies(conn, prop, entry["id"]))
        entry["outcome"] = {"status": each.status, "reason": each.reason, "agreement": each.agreement}
    chapters = await chapter_tallies(conn, prop)
    decided = outcome.decide(policy, chapters)
    return {
        "status": decided.status,
        "reason": decided.reason,
        "electorate": decided.electorate,
        "voters": voters,
        "agreement": decided.agreement,
        "weighted": dict(decided.weighted),
        "questions": questions,
        "chapters": [{"id": c.chapter, "reported": c.reported, "roll": c.roll} for c in chapters],
    }


async def signed_outcome(conn, urls: Urls, keys: ActorKeys, prop: store.Proposal, now: datetime) -> dict:
    unsigned = vocabulary.decision_document(
        "DecisionOutcome",
        actor=urls.actor(keys.username),
        proposal=prop.id,
        published=iso(now),
        result=await result_of(conn, prop),
    )
    return tallying.sign(urls, keys, unsigned, now)


async def signed_aggregate(conn, urls: Urls, keys: ActorKeys, prop: store.Proposal, now: datetime) -> dict:
    questions, voters = await totals(conn, prop)
    chapters = {t["origin"]: t["status"] for t in await store.tallies(conn, prop.id) if t["kind"] == "tally"}
    listed = [
        {"id": e["chapter"], "status": chapters.get(e["chapter"], "not reporting")}
        for e in await store.electorate(conn, prop.id)
    ]
    unsigned = vocabulary.decision_document(
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
