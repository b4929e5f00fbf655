"""A chapter's own copy of a proposal, published through the polls room, and its frozen roll.

The copy is attributed to the chapter (votes go to a poll's author), public in its outbox:
a ``Question`` with the same option names in the same order and the same ``endTime``, or a
``Survey`` with one Question per question of the proposal; each copied Question names the
proposal's question it copies in ``proposal`` (and the copied Survey the proposal). Its
questions are rows of the polls room (``node.polls.model``), so the poll worker closes them
at ``endTime`` and ballots are counted by the one counting code, against the roll.

The roll is frozen in the same transaction: the active members now, each with a keyless
commitment and the day the membership began (``node.decisions.rolls``); the decisions worker
signs it and sends it up (``worker.send_rolls``), before anything is counted, so a member on
two rolls is resolved by the issuer's exclusions while the vote is open.
"""

from __future__ import annotations

from datetime import datetime

from node.core import follows, publish
from node.core.clock import from_epoch, to_epoch
from node.core.db import Connection
from node.core.vocabulary import PUBLIC
from node.decisions import copy_store, proposal, rolls
from node.membership import members
from node.polls import model as polls
from node.polls import outbound as polls_out
from outbox.compose import Authoring, create_of


def _spec(question: dict) -> polls_out.QuestionSpec:
    text = question.get("content") or question.get("name") or ""
    return polls_out.QuestionSpec(text, proposal.kind_of(question), proposal.options_of(question), False)


async def freeze_roll(conn: Connection, chapter: str, proposal_id: str) -> tuple[int, str]:
    roll = await members.active_roll(conn, chapter)
    fields, by_member = rolls.roll_fields(proposal_id, roll)
    await copy_store.insert_roll(
        conn, proposal_id, [(member, by_member[member], rolls.day_of(since)) for member, since in roll]
    )
    return fields["rollSize"], fields["rollHash"]


def _documents(octx: Authoring, document: dict, addressed: dict, end: datetime) -> tuple[dict, list[dict]]:
    """(the copy, its questions): one Question, or a Survey and its Questions."""
    questions = proposal.questions_of(document)
    if document.get("type") != "Survey":
        copy_id = octx.urls.new_object_id()
        copy = polls_out.question_document(
            octx, _spec(document), question_id=copy_id, end_time=end, addressed=addressed, thread=copy_id
        )
        copy["proposal"] = document["id"]
        return copy, [copy]
    survey_id = octx.urls.new_object_id()
    copied = []
    for question in questions:
        qid = octx.urls.new_object_id()
        one = polls_out.question_document(
            octx, _spec(question), question_id=qid, end_time=end, addressed=addressed, thread=survey_id
        )
        one["proposal"] = question["id"]
        copied.append(one)
    spec = polls_out.SurveySpec(document.get("name", ""), document.get("content", ""), end, False, [])
    survey = polls_out.survey_document(octx, spec, survey_id, [q["id"] for q in copied], addressed)
    survey["totalItems"] = len(copied)
    survey["proposal"] = document["id"]
    return survey, copied


async def _poll_rows(conn, octx: Authoring, copy: dict, questions: list[dict], end: float) -> None:
    survey_id = copy["id"] if copy["type"] == "Survey" else None
    if survey_id is not None:
        await polls.insert_survey(
            conn,
            survey_id=survey_id,
            chapter=octx.username,
            title=copy.get("name", ""),
            introduction=copy.get("content", ""),
            end_time=end,
            hide_results=False,
            now=to_epoch(octx.now),
        )
    for position, question in enumerate(questions):
        await polls.insert_question(
            conn,
            question_id=question["id"],
            chapter=octx.username,
            kind=proposal.kind_of(question),
            options=proposal.options_of(question),
            end_time=end,
            hide_results=False,
            now=to_epoch(octx.now),
            survey_id=survey_id,
            position=position,
        )


async def publish_copy(conn: Connection, octx: Authoring, document: dict) -> str:
    """Publish this chapter's copy of ``document`` and freeze its roll; the copy's id."""
    end, _ = proposal.times_of(document)
    followers = octx.urls.followers(octx.username)
    addressed = {"to": [PUBLIC], "cc": [followers]}
    copy, questions = _documents(octx, document, addressed, from_epoch(end))
    await _poll_rows(conn, octx, copy, questions, end)
    inboxes = await follows.follower_inboxes(conn, octx.username)
    now = to_epoch(octx.now)
    for item in [copy] if copy["type"] != "Survey" else [copy, *questions]:
        create = create_of(octx, item, addressed)
        await publish.record(
            conn, urls=octx.urls, username=octx.username, activity=create, inboxes=inboxes, now=now, new_object=item
        )
    originals = {q["id"]: q for q in proposal.questions_of(document)}
    mapping = {q["id"]: q["proposal"] for q in questions if q["proposal"] in originals}
    size, digest = await freeze_roll(conn, octx.username, document["id"])
    await copy_store.insert_copy(
        conn,
        proposal_id=document["id"],
        copy_id=copy["id"],
        questions=mapping,
        roll_size=size,
        roll_hash=digest,
        now=now,
    )
    return copy["id"]
