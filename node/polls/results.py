"""Results documents of a poll and of a survey, as a members' survey report shows them.

For each question: every option's count and percentage, the number of voters, and the
number of choices made. A percentage is the share of the question's voters who chose the
option (``anyOf`` shares add up to more than 100, as in any report of a multiple-choice
question), rounded to one decimal. While a question's results are hidden (``hideResults``,
until the close) its figures are left out and ``hidden`` is true. These are plain JSON
documents (``/polls/{uuid}/results``, ``/surveys/{uuid}/results``), not ActivityStreams.
"""

from __future__ import annotations

from node.core import objects
from node.core.clock import from_epoch, iso
from node.core.db import Connection
from node.polls import model as polls


async def question_results(conn: Connection, question: polls.Question, now: float) -> dict:
    stored = await objects.get(conn, question.id)
    visible = question.results_visible_at(now)
    result = {
        "id": question.id,
        "position": question.position,
        "kind": question.kind,
        "content": stored.data.get("content", "") if stored else "",
        "endTime": iso(from_epoch(question.end_time)),
        "closed": not question.accepts_votes_at(now),
        "hidden": not visible,
    }
    if visible:
        counts = await polls.tally(conn, question)
        result.update(
            votersCount=counts.voters,
            totalChoices=counts.total_choices,
            options=[
                {"name": name, "count": counts.counts[name], "percent": counts.percent(name)}
                for name in question.options
            ],
        )
    else:
        result["options"] = [{"name": name} for name in question.options]
    return result


async def survey_results(conn: Connection, survey, now: float) -> dict:
    questions = await polls.survey_questions(conn, survey["id"])
    return {
        "id": survey["id"],
        "name": survey["title"],
        "content": survey["introduction"],
        "endTime": iso(from_epoch(survey["end_time"])),
        "closed": now >= survey["end_time"],
        "questions": [await question_results(conn, question, now) for question in questions],
    }
