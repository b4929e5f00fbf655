"""The chapter's polls and surveys as lists: open ones to answer, closed ones with their results.

The home page shows the open polls and surveys (a poll with its choices and, for a
signed-in active member, a vote button; a survey with a link to answer it) and the latest
closed ones with result bars; ``/polls`` lists them all, open first, then closed (paged).
Only public polls are listed; a survey's questions are shown with their survey, never alone.
"""

from __future__ import annotations

from aiohttp import web

from federation import jsonio
from node.core.appkeys import CLOCK, CONFIG, DATABASE, REGISTRY
from node.core.clock import to_epoch
from node.core.db import Connection, fetch_all, fetch_value
from node.core.i18n import N_
from node.core.registry import Part
from node.core.rendering import page_of, render
from node.polls import model as polls
from node.polls import results as poll_results
from node.polls.pages import ballot_form, page_path

HOME_OPEN, HOME_CLOSED, PAGE_SIZE = 4, 2, 20

# (what, SQL) for the public polls (standalone Questions) and surveys, open or closed at :now
_LISTED = """
SELECT o.id, o.type, o.data, q.end_time FROM poll_questions q JOIN objects o ON o.id = q.id
 WHERE q.chapter = :chapter AND q.survey_id IS NULL AND o.visibility = 'public' AND o.deleted IS NULL
   AND ((:open AND q.closed_at IS NULL AND q.end_time > :now)
        OR (NOT :open AND (q.closed_at IS NOT NULL OR q.end_time <= :now)))
UNION ALL
SELECT o.id, o.type, o.data, s.end_time FROM poll_surveys s JOIN objects o ON o.id = s.id
 WHERE s.chapter = :chapter AND o.visibility = 'public' AND o.deleted IS NULL
   AND ((:open AND s.end_time > :now) OR (NOT :open AND s.end_time <= :now))
"""


async def listed(conn: Connection, chapter: str, *, is_open: bool, now: float, offset: int, limit: int) -> list[dict]:
    order = "end_time ASC" if is_open else "end_time DESC"
    rows = await fetch_all(
        conn,
        f"SELECT * FROM ({_LISTED}) AS listed ORDER BY {order}, id LIMIT :limit OFFSET :offset",
        {"chapter": chapter, "open": is_open, "now": now, "limit": limit, "offset": offset},
    )
    return [{**jsonio.loads(row["data"]), "_kind": row["type"]} for row in rows]


async def count_listed(conn: Connection, chapter: str, *, is_open: bool, now: float) -> int:
    return await fetch_value(
        conn, f"SELECT COUNT(*) FROM ({_LISTED}) AS listed", {"chapter": chapter, "open": is_open, "now": now}
    )


async def _card(request: web.Request, document: dict, now: float, ballot_form) -> dict:
    """What a list shows of one poll (its question, choices or results, the vote form) or one survey."""
    reader = request.app[DATABASE].reader
    if document["_kind"] == "Survey":
        survey = await polls.get_survey(reader, document["id"])
        questions = await polls.survey_questions(reader, document["id"])
        return {
            "kind": "survey",
            "document": document,
            "path": page_path(document["id"], "surveys"),
            "questions": len(questions),
            "closed": survey is None or now >= survey["end_time"],
        }
    question = await polls.require_question(reader, document["id"])
    results = await poll_results.question_results(reader, question, now)
    return {
        "kind": "poll",
        "document": document,
        "question": question,
        "results": results,
        "path": page_path(document["id"], "polls"),
        "closed": results["closed"],
        **await ballot_form(request, question),
    }


async def cards(request: web.Request, *, is_open: bool, offset: int, limit: int, shown: set[str]) -> list[dict]:
    now = to_epoch(request.app[CLOCK].now())
    found = await listed(
        request.app[DATABASE].reader,
        request.app[CONFIG].node.name,
        is_open=is_open,
        now=now,
        offset=offset,
        limit=limit,
    )
    made = [await _card(request, document, now, ballot_form) for document in found if document["id"] not in shown]
    shown.update(card["document"]["id"] for card in made)
    return made


async def home_parts(request: web.Request, shown: set[str]) -> list[Part]:
    open_cards = await cards(request, is_open=True, offset=0, limit=HOME_OPEN, shown=shown)
    closed_cards = await cards(request, is_open=False, offset=0, limit=HOME_CLOSED, shown=shown)
    return [
        Part(50, "home_polls.html", {"title": N_("Open polls and surveys"), "cards": open_cards, "open": True}),
        Part(60, "home_polls.html", {"title": N_("Results"), "cards": closed_cards, "open": False}),
    ]


async def polls_archive(request: web.Request) -> web.Response:
    page = page_of(request)
    reader, chapter = request.app[DATABASE].reader, request.app[CONFIG].node.name
    now = to_epoch(request.app[CLOCK].now())
    closed_total = await count_listed(reader, chapter, is_open=False, now=now)
    shown: set[str] = set()
    open_cards = await cards(request, is_open=True, offset=0, limit=100, shown=shown) if page == 1 else []
    closed_cards = await cards(request, is_open=False, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE, shown=shown)
    parts = [part for add in request.app[REGISTRY].poll_list_parts for part in await add(request)] if page == 1 else []
    return await render(
        request,
        "polls_archive.html",
        {
            "parts": sorted(parts, key=lambda part: part.order),
            "open_cards": open_cards,
            "closed_cards": closed_cards,
            "page": page,
            "has_next": page * PAGE_SIZE < closed_total,
        },
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/polls", polls_archive)
