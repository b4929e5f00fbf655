"""Helpers for poll tests: members, ballots shaped as each server sends them, the poll worker."""

from __future__ import annotations

from datetime import timedelta

from node.core.appkeys import CLOCK
from node.core.clock import iso, to_epoch
from node.membership import members
from node.polls.worker import POLL_WORKER
from tests.support.c2s import publish
from tests.support.nodes import RunningNode

AS = "https://www.w3.org/ns/activitystreams"


def closes_in(node: RunningNode, **delta) -> str:
    return iso(node.app[CLOCK].now() + timedelta(**delta))


async def add_member(
    node: RunningNode, actor_id: str, *, state: str = "active", role: str | None = None, is_local: bool = False
) -> None:
    """An active membership written directly (local accounts, and states the admin's Add cannot make)."""
    async with node.db.transaction() as conn:
        await members.upsert_member(
            conn,
            chapter=node.config.node.name,
            actor_id=actor_id,
            state=state,
            role=role,
            is_local=is_local,
            now=to_epoch(node.app[CLOCK].now()),
        )


async def admin_adds_member(node: RunningNode, actor_id: str) -> None:
    """The admin admits a member with the client-to-server Add to the members collection."""
    status, result, _ = await publish(node, {"type": "Add", "object": actor_id, "target": f"{node.actor_id}/members"})
    assert status == 201, result


async def open_poll(node: RunningNode, kind: str, options: list[str], *, minutes: float = 30, **extra) -> dict:
    """Publish a Question with the admin token; the served document."""
    status, result, _ = await publish(
        node,
        {
            "type": "Question",
            "content": "<p>Which?</p>",
            kind: options,
            "endTime": closes_in(node, minutes=minutes),
            **extra,
        },
    )
    assert status == 201, result
    return result


def mastodon_vote(voter_id: str, question_id: str, chapter_id: str, option: str, number: int) -> dict:
    """A vote as Mastodon sends it: Create(Note) with name = option, to the poll's author only."""
    note_id = f"{voter_id}#votes/{number}"
    return {
        "@context": AS,
        "id": f"{note_id}/activity",
        "type": "Create",
        "actor": voter_id,
        "to": [chapter_id],
        "object": {
            "id": note_id,
            "type": "Note",
            "name": option,
            "attributedTo": voter_id,
            "inReplyTo": question_id,
            "to": [chapter_id],
        },
    }


def takahe_vote(voter_id: str, question_id: str, chapter_id: str, option: str, number: int) -> dict:
    """A vote as Takahē sends it: one fragment id for the Create and its Note, `to` a single string,
    the voter named only in the Note's attributedTo (the Create still has its actor, whose key signs it)."""
    vote_id = f"{voter_id}#votes/{number}"
    note = {
        "type": "Note",
        "id": vote_id,
        "to": chapter_id,
        "name": option,
        "inReplyTo": question_id,
        "attributedTo": voter_id,
    }
    return {
        "@context": AS,
        "to": chapter_id,
        "cc": [],
        "type": "Create",
        "id": vote_id,
        "actor": voter_id,
        "object": note,
    }


async def run_poll_worker(node: RunningNode) -> int:
    return await node.app[POLL_WORKER].run_single_cycle()
