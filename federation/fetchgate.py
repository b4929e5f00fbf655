"""Bounds on fetching signing keys, so that a stranger's slow server cannot tie the node up.

Verifying an inbox POST may need the signer's key, fetched from wherever its ``keyId``
points, before anything is known about the sender. A server that holds every GET open (a
tarpit) could otherwise fill the node's connections with fetches that each wait for their
timeout, and make honest senders wait behind them. :class:`KeyFetchGate` stands in front of
every key fetch and says no at once, without any network, when:

- the same URL failed a little while ago (a negative cache, ``failure_seconds``; the reason
  and HTTP status are kept, so a 410 still reads as gone);
- its host has used up its fetch budget (a token bucket per host, applied before fetching);
- its host already has ``per_host`` fetches in flight, or the node has ``total``.

The inbox worker's fetches of actor documents and NodeInfo (what a received activity names:
a report's author, a Join's requester, a follower's host) pass the same gate, so a stranger's
activity gets no more network from the node than its signature did (``RemoteActors.gated``).

Concurrent requests for the same URL share one fetch (single flight), shielded from any one
waiter's cancellation; :meth:`KeyFetchGate.close` cancels those still in flight when the node stops. Key fetches also run on
their own connection pool (:func:`federation.client.make_session` is called once for deliveries
and once for fetches), so deliveries and fetches never starve each other.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import urlsplit

from federation.client import FetchError
from federation.tokenbuckets import TokenBuckets

T = TypeVar("T")
MAX_REMEMBERED_FAILURES = 10_000


class KeyFetchGate:
    def __init__(
        self, *, per_host: int, total: int, per_host_per_minute: float, per_host_burst: int, failure_seconds: float
    ) -> None:
        self.per_host = per_host
        self.total = total
        self.failure_seconds = failure_seconds
        self._budget = TokenBuckets(per_minute=per_host_per_minute, burst=per_host_burst)
        self._failures: OrderedDict[str, tuple[float, str, int | None]] = OrderedDict()
        self._in_flight: dict[str, asyncio.Task] = {}
        self._by_host: Counter[str] = Counter()

    @classmethod
    def from_config(cls, federation) -> KeyFetchGate:
        return cls(
            per_host=federation.key_fetches_per_host,
            total=federation.key_fetches_total,
            per_host_per_minute=federation.key_fetch_per_host_per_minute,
            per_host_burst=federation.key_fetch_per_host_burst,
            failure_seconds=federation.key_fetch_failure_seconds,
        )

    async def fetch(self, url: str, fetch: Callable[[], Awaitable[T]]) -> T:
        """``fetch()`` for ``url`` if the bounds allow, else a FetchError saying which bound said no."""
        self._refuse_remembered(url)
        task = self._in_flight.get(url)
        if task is None:
            host = urlsplit(url).netloc.lower()
            self._admit(url, host)
            task = asyncio.ensure_future(self._run(url, host, fetch))
            self._in_flight[url] = task
            task.add_done_callback(lambda done: self._finished(url, host, done))
            self._by_host[host] += 1
        return await asyncio.shield(task)

    def _refuse_remembered(self, url: str) -> None:
        failed = self._failures.get(url)
        if failed is None:
            return
        until, reason, status = failed
        if until <= time.monotonic():
            del self._failures[url]
            return
        raise FetchError(
            f"{reason} (a recent failure, not retried for {math.ceil(until - time.monotonic())} s)", status=status
        )

    def _admit(self, url: str, host: str) -> None:
        wait = self._budget.take(host, time.monotonic())
        if wait is not None:
            raise FetchError(f"too many fetches (keys, actors) from {host}; not fetching {url} for {math.ceil(wait)} s")
        if self._by_host[host] >= self.per_host:
            raise FetchError(f"{self.per_host} fetches from {host} are already waiting; not fetching {url} now")
        if sum(self._by_host.values()) >= self.total:
            raise FetchError(f"{self.total} fetches of keys and actors are already waiting; not fetching {url} now")

    async def _run(self, url: str, host: str, fetch: Callable[[], Awaitable[T]]) -> T:
        try:
            return await fetch()
        except FetchError as error:
            self._remember(url, error)
            raise

    def _remember(self, url: str, error: FetchError) -> None:
        self._failures[url] = (time.monotonic() + self.failure_seconds, error.reason, error.status)
        self._failures.move_to_end(url)
        while len(self._failures) > MAX_REMEMBERED_FAILURES:
            self._failures.popitem(last=False)

    def forget_failure(self, url: str) -> None:
        self._failures.pop(url, None)

    async def close(self) -> None:
        """Cancel the fetches still in flight (shielded from their waiters, so nothing else
        would) and wait for them to end: called before the fetch session closes."""
        tasks = list(self._in_flight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _finished(self, url: str, host: str, task: asyncio.Task) -> None:
        self._in_flight.pop(url, None)
        self._by_host[host] -= 1
        if self._by_host[host] <= 0:
            del self._by_host[host]
        if not task.cancelled():
            task.exception()  # retrieved here: a fetch whose every waiter went away logs nothing
