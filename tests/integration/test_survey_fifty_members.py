"""A members' survey answered by 50 members, each a real signed server on loopback.

The survey mixes one-choice and several-choice questions. Every member answers from "their
server" as Mastodon would (one Create(Note) per chosen option); a few ballots are not to be
counted (a second answer to a one-choice question, an option chosen twice, a non-member). The
results document the chapter publishes must match the figures computed here from what was sent.
The admin adds the 50 members with the client-to-server Add to the members collection.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter

from tests.support.c2s import get_json, publish
from tests.support.polls import admin_adds_member, closes_in, mastodon_vote, run_poll_worker

QUESTIONS = [
    ("<p>How long have you been a member?</p>", "oneOf", ["Under a year", "1-5 years", "Over 5 years"]),
    ("<p>Which meetings do you attend?</p>", "anyOf", ["General", "Reading group", "Campaigns", "Socials"]),
    ("<p>Should dues rise with inflation?</p>", "oneOf", ["Yes", "No", "Unsure"]),
    ("<p>How do you hear about events?</p>", "anyOf", ["Mastodon", "Email", "Friends"]),
]


def expected_figures(sent: list[tuple[str, int, str]], members: set[str]) -> list[dict]:
    """Mastodon's rules, applied to the ballots in the order they were sent."""
    figures = []
    for position, (_, kind, options) in enumerate(QUESTIONS):
        counted: list[tuple[str, str]] = []
        for voter, question, option in sent:
            if question != position or voter not in members:
                continue
            already = [c for v, c in counted if v == voter]
            if (kind == "oneOf" and already) or option in already:
                continue
            counted.append((voter, option))
        counts = Counter(option for _, option in counted)
        voters = len({voter for voter, _ in counted})
        figures.append(
            {
                "votersCount": voters,
                "totalChoices": len(counted),
                "options": [
                    {
                        "name": name,
                        "count": counts[name],
                        "percent": round(100.0 * counts[name] / voters, 1) if voters else 0.0,
                    }
                    for name in options
                ],
            }
        )
    return figures


async def test_fifty_members_answer_a_survey_and_the_results_match(make_node, remote_actor):
    node = await make_node("london", start_workers=False)
    people = await asyncio.gather(*(remote_actor(f"member{n:02d}") for n in range(51)))
    members, outsider = people[:50], people[50]
    for member in members:
        await admin_adds_member(node, member.id)

    status, result, _ = await publish(
        node,
        {
            "type": "Survey",
            "name": "Members' survey 2025",
            "content": "<p>Once a year, ten minutes.</p>",
            "endTime": closes_in(node, days=14),
            "orderedItems": [{"type": "Question", "content": text, kind: options} for text, kind, options in QUESTIONS],
        },
    )
    assert status == 201, result
    _, survey = await get_json(result["object"])
    question_ids = survey["orderedItems"]

    rng = random.Random(2025)
    plan: list[tuple[object, int, str]] = []
    for member in members:
        for position, (_, kind, options) in enumerate(QUESTIONS):
            chosen = [rng.choice(options)] if kind == "oneOf" else rng.sample(options, rng.randint(1, len(options)))
            plan += [(member, position, option) for option in chosen]
    plan += [
        (members[0], 0, "Over 5 years"),
        (members[1], 2, "Unsure"),  # a second answer to a one-choice question
        (members[2], 1, "General"),
        (members[2], 1, "General"),  # an option chosen twice
        (outsider, 0, "Under a year"),
        (outsider, 1, "Socials"),
    ]  # not a member

    for number, (person, position, option) in enumerate(plan):
        status, body = await person.post(
            node.inbox, mastodon_vote(person.id, question_ids[position], node.actor_id, option, number)
        )
        assert status == 202, body
    await node.settle(rounds=50)
    assert await run_poll_worker(node) == len(QUESTIONS)

    sent = [(person.id, position, option) for person, position, option in plan]
    expected = expected_figures(sent, {member.id for member in members})
    uuid = survey["id"].rsplit("/", 1)[1]
    status, results = await get_json(f"{node.base_url}/surveys/{uuid}/results", accept="application/json")
    assert status == 200 and results["name"] == "Members' survey 2025" and results["closed"] is False
    assert [q["id"] for q in results["questions"]] == question_ids
    for figures, reported, question_id in zip(expected, results["questions"], question_ids):
        assert {k: reported[k] for k in ("votersCount", "totalChoices", "options")} == figures
        assert reported["votersCount"] == 50
        _, served = await get_json(question_id)  # the Question as Mastodon reads it agrees
        kind = "oneOf" if "oneOf" in served else "anyOf"
        assert [o["replies"]["totalItems"] for o in served[kind]] == [o["count"] for o in figures["options"]]
        assert served["votersCount"] == figures["votersCount"]
