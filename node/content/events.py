"""Events (book fairs, talks, marches): the ``Event`` document, and who answered going or not.

An Event has a ``name``, optional HTML ``content`` and ``summary``, ``startTime`` (required)
and ``endTime`` (after it), both with a timezone, and a ``location``: a ``Place`` with a
``name`` and an optional ``address`` (a string, or schema.org ``PostalAddress`` fields, as
Mobilizon publishes it).

Answers, as Mobilizon's participants send them: ``Accept`` (going), ``Reject`` (not going),
``TentativeAccept`` (maybe) with the Event as object; a signed-in local member answers on the
event page through the same :func:`record_answer`. One answer per actor: the latest wins.
Everyone's answer is recorded, but only ACTIVE MEMBERS of the chapter are counted, and the
count is taken when it is read (joined with ``members``): a non-member's answer is kept
(shown to nobody as a participant) and starts counting if they become a member; a member who
leaves stops counting. The served Event carries Mobilizon's ``participantCount`` (going) and
our ``notGoingCount`` and ``maybeCount``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from node.core.clock import iso
from node.core.db import Connection, fetch_all

ANSWERS_BY_ACTIVITY = {"Accept": "going", "Reject": "not_going", "TentativeAccept": "maybe"}
ANSWERS = ("going", "not_going", "maybe")
ADDRESS_FIELDS = ("streetAddress", "addressLocality", "postalCode", "addressCountry")
MAX_NAME = 500


class EventError(ValueError):
    """What is wrong with a proposed Event, in words for the person who sent it."""


@dataclass(frozen=True)
class AnswerCounts:
    going: int = 0
    not_going: int = 0
    maybe: int = 0
    not_counted: int = 0  # answers from actors who are not active members


def parse_time(value, field: str) -> datetime:
    if not isinstance(value, str):
        raise EventError(f"{field} must be a date and time (ISO 8601, with a timezone)")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise EventError(f"{field} is not an ISO 8601 date and time: {value!r}") from None
    if moment.tzinfo is None:
        raise EventError(f"{field} needs a timezone (e.g. 2026-12-05T10:00:00Z or +01:00)")
    return moment


def parse_place(value) -> dict:
    """A location: a place's name, or a Place with ``name`` and an optional ``address``."""
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, dict) or value.get("type", "Place") != "Place":
        raise EventError("location must be a Place with a name (or just the place's name)")
    name = value.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise EventError(f"location.name must be a non-empty string of at most {MAX_NAME} characters")
    place: dict[str, Any] = {"type": "Place", "name": name.strip()}
    address = value.get("address")
    if isinstance(address, str) and address.strip():
        place["address"] = {"type": "PostalAddress", "streetAddress": address.strip()}
    elif isinstance(address, dict):
        fields = {
            k: address[k].strip() for k in ADDRESS_FIELDS if isinstance(address.get(k), str) and address[k].strip()
        }
        if not fields:
            raise EventError(f"location.address needs one of {', '.join(ADDRESS_FIELDS)}")
        place["address"] = {"type": "PostalAddress", **fields}
    elif address is not None:
        raise EventError("location.address must be a string or a PostalAddress")
    return place


def place_text(place: dict | None) -> str:
    """A Place as people read it: "Library (1 High Street, London)"."""
    if not place:
        return ""
    address = ", ".join(v for k, v in (place.get("address") or {}).items() if k != "type" and isinstance(v, str))
    return f"{place['name']} ({address})" if address else place["name"]


def event_fields(obj: dict) -> dict:
    """The Event's own fields from what was posted (times normalised to UTC), validated together."""
    name = obj.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise EventError(f"an Event needs a name (at most {MAX_NAME} characters)")
    start = parse_time(obj.get("startTime"), "startTime")
    fields: dict[str, Any] = {"name": name.strip(), "startTime": iso(start)}
    if obj.get("endTime") is not None:
        end = parse_time(obj["endTime"], "endTime")
        if end <= start:
            raise EventError("endTime must be after startTime")
        fields["endTime"] = iso(end)
    if obj.get("location") is not None:
        fields["location"] = parse_place(obj["location"])
    return fields


def with_counts(document: dict, counts: AnswerCounts) -> dict:
    return {**document, "participantCount": counts.going, "notGoingCount": counts.not_going, "maybeCount": counts.maybe}


# --- answers ------------------------------------------------------------------------------


async def record_answer(
    conn: Connection, *, event_id: str, actor_id: str, answer: str, activity_id: str | None, now: float
) -> None:
    """An actor's answer; it replaces their earlier one unless that one is newer."""
    if answer not in ANSWERS:
        raise EventError(f"an answer is one of {', '.join(ANSWERS)}")
    await conn.execute(
        "INSERT INTO event_answers (event_id, actor_id, answer, activity_id, answered_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (event_id, actor_id) DO UPDATE SET answer = excluded.answer,"
        " activity_id = excluded.activity_id, answered_at = excluded.answered_at"
        " WHERE excluded.answered_at >= event_answers.answered_at",
        (event_id, actor_id, answer, activity_id, now),
    )


async def answer_of(conn: Connection, event_id: str, actor_id: str) -> str | None:
    rows = await fetch_all(
        conn, "SELECT answer FROM event_answers WHERE event_id = ? AND actor_id = ?", (event_id, actor_id)
    )
    return rows[0]["answer"] if rows else None


async def forget_actor(conn: Connection, actor_id: str) -> None:
    """The account is gone: its answers go with it."""
    await conn.execute("DELETE FROM event_answers WHERE actor_id = ?", (actor_id,))


async def count_answers(conn: Connection, chapter: str, event_id: str) -> AnswerCounts:
    """Answers of the chapter's active members, by answer; everyone else's as ``not_counted``."""
    rows = await fetch_all(
        conn,
        "SELECT CASE WHEN m.actor_id IS NULL THEN 'not_counted' ELSE a.answer END AS bucket, COUNT(*) AS n"
        " FROM event_answers a LEFT JOIN members m"
        "   ON m.chapter = ? AND m.actor_id = a.actor_id AND m.state = 'active'"
        " WHERE a.event_id = ? GROUP BY bucket",
        (chapter, event_id),
    )
    return AnswerCounts(**{row["bucket"]: row["n"] for row in rows})
