"""The key-fetch gate lets go of its fetches when the node stops: a fetch is shielded from its
waiters (one waiter giving up must not end it for the others), so only ``close`` ends it."""

from __future__ import annotations

import asyncio

import pytest

from federation.fetchgate import KeyFetchGate

KEY = "http://127.0.0.1:1/users/slow#main-key"


def _gate() -> KeyFetchGate:
    return KeyFetchGate(per_host=2, total=4, per_host_per_minute=60, per_host_burst=10, failure_seconds=60)


async def test_a_waiter_giving_up_leaves_the_fetch_running_and_close_ends_it():
    gate, started, never = _gate(), asyncio.Event(), asyncio.Event()

    async def slow_fetch():
        started.set()
        await never.wait()

    waiter = asyncio.ensure_future(gate.fetch(KEY, slow_fetch))
    await started.wait()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    (fetch,) = gate._in_flight.values()
    assert not fetch.done()  # shielded: the request that asked went away, the fetch did not

    await asyncio.wait_for(gate.close(), 5)
    assert fetch.cancelled() and not gate._in_flight  # nothing left pending when the loop closes
    await gate.close()  # twice is harmless
