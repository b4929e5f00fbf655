"""Signatures checked in the helper process: same answers as in the node, and a killed helper
costs no request (federation/verifier.py)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time

import pytest

from node.appkeys import SIGNATURE_VERIFIER
from tests.support.c2s import read_inbox
from tests.support.remote_actor import new_rsa_key

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@pytest.fixture
async def london(make_node):
    node = await make_node("london", start_workers=False)
    await until(lambda: node.app[SIGNATURE_VERIFIER].running)
    return node


@pytest.fixture
async def alice(remote_actor):
    return await remote_actor("alice")


async def until(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def a_note(actor, text: str) -> dict:
    note = {"id": actor.new_id("objects"), "type": "Note", "attributedTo": actor.id, "content": f"<p>{text}</p>",
            "to": [PUBLIC]}
    return actor.activity("Create", note, to=[PUBLIC])


async def post_forged(london, alice) -> tuple[int, dict]:
    body = json.dumps(a_note(alice, "never said")).encode()
    forged = alice.signed_headers(london.inbox, body, key=new_rsa_key())  # alice's keyId, another key
    return await alice.post(london.inbox, body, headers=forged)


async def test_the_helper_accepts_good_signatures_and_refuses_forged_ones(london, alice):
    verifier = london.app[SIGNATURE_VERIFIER]
    statuses = await asyncio.gather(*(alice.post(london.inbox, a_note(alice, f"note {i}")) for i in range(20)))
    assert [status for status, _ in statuses] == [202] * 20
    status, body = await post_forged(london, alice)
    assert status == 401 and "does not verify" in body["error"], body
    assert verifier.batches >= 2 and verifier.checked_here == 0  # every check went to the helper
    assert len(await read_inbox(london)) == 20


async def test_a_killed_helper_loses_no_request_and_is_back_a_second_later(london, alice):
    verifier = london.app[SIGNATURE_VERIFIER]
    first = verifier.pid
    os.kill(first, signal.SIGKILL)
    # Requests sent while it is dead or restarting are checked in the node itself.
    answers = []
    for i in range(10):
        answers.append(await alice.post(london.inbox, a_note(alice, f"while down {i}")))
        await asyncio.sleep(0.05)
    assert [status for status, _ in answers] == [202] * 10
    status, body = await post_forged(london, alice)
    assert status == 401 and "does not verify" in body["error"], body

    await until(lambda: verifier.running and verifier.pid != first)
    batches = verifier.batches
    status, _ = await alice.post(london.inbox, a_note(alice, "after the restart"))
    assert status == 202 and verifier.batches > batches  # the new helper does the checking again
    assert len(await read_inbox(london)) == 11
