"""Bounds on fetching signing keys, so that a stranger's slow server cannot tie the node up,
while a large honest server's burst of new senders is served.

Verifying an inbox POST may need the signer's key, fetched from wherever its ``keyId``
points, before anything is known about the sender. A server that holds every GET open (a
tarpit) could otherwise fill the node's connections with fetches that each wait for their
timeout, and make honest senders wait behind them. A big honest server, on the other hand,
sends hundreds of new senders at once when a chapter's post travels far on it: each needs its
key fetched once. :class:`KeyFetchGate` stands in front of every key fetch:

- **One fetch per URL** however many requests wait on it (single flight), shielded from any
  one waiter's cancellation; the queued and running fetches are ``_in_flight``.
- At most ``per_host`` fetches run at once to one host, and ``total`` in all; a host whose
  fetches succeed quickly (within a quarter of ``slow_seconds``) earns one more place per quick
  answer, up to ``per_responsive_host``, and is back to ``per_host`` at its first slow or failed
  fetch (additive increase, reset on trouble: a burst from a large server is not held to
  two at a time, and a tarpit that answered quickly before holding on gets at most
  ``per_responsive_host`` connections, once, before it is marked slow). A fetch that
  cannot start yet **waits its turn** (first come, first served per host; hosts take turns),
  for at most ``wait_seconds``, and only while the host keeps answering: when none of its
  fetches has ended for ``slow_seconds`` while its queue waits, the host is slow, and its
  waiting fetches are refused.
- **A slow or failing host is the one refused.** A fetch that took longer than
  ``slow_seconds`` (a tarpit's, which lasts until the client's timeout) marks its host slow
  for ``failure_seconds``: while it is, a fetch that cannot start at once is refused at once,
  without any network, and its queue is emptied with the same refusal. Each host has a fetch
  budget (a token bucket, ``per_host_burst`` then ``per_host_per_minute``), spent only by
  fetches that fail or are slow, so a responsive host's burst never runs it out, and a host
  that has run it out is refused before any fetch.
- A place is held for the network part only: a fetch that has its answer (before it stores
  it: a write that waits its turn for the database) gives the place up (:func:`leave_place`).
- A URL that failed a little while ago is refused at once (a negative cache,
  ``failure_seconds``; the reason and HTTP status are kept, so a 410 still reads as gone).

So a tarpit gets at most ``per_host`` GETs at a time (``per_responsive_host`` if it first answered quickly), each until the client's timeout, the
requests behind them wait ``slow_seconds`` at most, and later ones are refused at once; a host
that answers in milliseconds has hundreds of new keys fetched, two at a time, in a few seconds.

The inbox worker's fetches of actor documents and NodeInfo (what a received activity names:
a report's author, a Join's requester, a follower's host) pass the same gate, so a stranger's
activity gets no more network from the node than its signature did (``RemoteActors.gated``).
:meth:`KeyFetchGate.close` cancels the fetches still queued or running when the node stops. Key
fetches also run on their own connection pool (:func:`federation.client.make_session` is
called once for deliveries and once for fetches), so deliveries and fetches never starve each
other.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlsplit

from federation.client import FetchError
from federation.tokenbuckets import TokenBuckets

T = TypeVar("T")
#: Set while a fetch holds its host's place: :func:`leave_place` gives the place up early.
_LEAVE: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar("key_fetch_place", default=None)


def leave_place() -> None:
    """Called by a fetch whose network part is over and whose answer was good (before it stores
    what it fetched): its host's place goes to the next fetch at once, timed by the network part
    alone; the single flight still lasts until the fetch returns. No-op outside a gated fetch."""
    leave = _LEAVE.get()
    if leave is not None:
        leave()


MAX_REMEMBERED_FAILURES = 10_000
MAX_REMEMBERED_SLOW_HOSTS = 10_000


@dataclass
class _Host:
    """One host's fetches: running, and waiting their turn (a future each, set when it may start)."""

    allowance: int  # fetches it may have running: per_host, more while it answers quickly
    running: int = 0
    waiting: deque[asyncio.Future[None]] = field(default_factory=deque)
    last_ended: float = 0.0  # when one of its fetches last ended: a waiting queue's progress


class KeyFetchGate:
    def __init__(
        self,
        *,
        per_host: int,
        total: int,
        per_host_per_minute: float,
        per_host_burst: int,
        failure_seconds: float,
        wait_seconds: float = 10.0,
        slow_seconds: float = 2.0,
        waiting_per_host: int = 1000,
        per_responsive_host: int | None = None,
    ) -> None:
        self.per_host = per_host
        self.per_responsive_host = max(per_host, per_responsive_host or per_host)
        self.total = total
        self.failure_seconds = failure_seconds
        self.wait_seconds = wait_seconds
        self.slow_seconds = slow_seconds
        self.waiting_per_host = waiting_per_host
        self._budget = TokenBuckets(per_minute=per_host_per_minute, burst=per_host_burst)
        self._failures: OrderedDict[str, tuple[float, str, int | None]] = OrderedDict()
        self._slow: OrderedDict[str, float] = OrderedDict()  # host -> until when it counts as slow
        self._in_flight: dict[str, asyncio.Task] = {}  # url -> its one fetch (queued or running)
        self._hosts: dict[str, _Host] = {}
        self._queued: OrderedDict[str, None] = OrderedDict()  # hosts with fetches waiting, in turn
        self._running = 0

    @classmethod
    def from_config(cls, federation) -> KeyFetchGate:
        return cls(
            per_host=federation.key_fetches_per_host,
            total=federation.key_fetches_total,
            per_host_per_minute=federation.key_fetch_per_host_per_minute,
            per_host_burst=federation.key_fetch_per_host_burst,
            failure_seconds=federation.key_fetch_failure_seconds,
            wait_seconds=federation.key_fetch_wait_seconds,
            slow_seconds=federation.key_fetch_slow_seconds,
            waiting_per_host=federation.key_fetches_waiting_per_host,
            per_responsive_host=federation.key_fetches_per_responsive_host,
        )

    async def fetch(self, url: str, fetch: Callable[[], Awaitable[T]]) -> T:
        """``fetch()`` for ``url`` when its turn comes, else a FetchError saying which bound said no."""
        self._refuse_remembered(url)
        task = self._in_flight.get(url)
        if task is None:
            host = urlsplit(url).netloc.lower()
            self._admit(url, host)
            task = asyncio.ensure_future(self._run(url, host, fetch))
            self._in_flight[url] = task
            task.add_done_callback(lambda done: self._finished(url, done))
        return await asyncio.shield(task)

    # --- refusals at once, without any network ---------------------------------------------

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
        now = time.monotonic()
        self._refuse_spent(url, host)
        state = self._hosts.get(host)
        if state is None or self._can_start(state):
            return
        if self._is_slow(host, now):
            raise FetchError(
                f"{host} is slow to answer and {state.running} fetches from it are running; not fetching {url} now"
            )
        if len(state.waiting) >= self.waiting_per_host:
            raise FetchError(f"{self.waiting_per_host} fetches from {host} are already waiting; not fetching {url} now")

    def _budget_spent(self, host: str) -> float | None:
        """None while the host's budget has a token left (only looked at), else the seconds until one is back."""
        wait = self._budget.take(host, time.monotonic())
        if wait is None:
            self._budget.give_back(host)
        return wait

    def _refuse_spent(self, url: str, host: str) -> None:
        wait = self._budget_spent(host)
        if wait is not None:
            raise FetchError(f"too many failed or slow fetches from {host}; not fetching {url} for {math.ceil(wait)} s")

    def _is_slow(self, host: str, now: float) -> bool:
        until = self._slow.get(host)
        if until is not None and until <= now:
            del self._slow[host]
            return False
        return until is not None

    def _can_start(self, state: _Host) -> bool:
        return state.running < state.allowance and self._running < self.total and not state.waiting

    # --- a fetch's turn ---------------------------------------------------------------------

    async def _run(self, url: str, host: str, fetch: Callable[[], Awaitable[T]]) -> T:
        await self._turn(url, host)
        started, slow_or_failed, held = time.monotonic(), True, True

        def leave(*, failed: bool) -> None:
            nonlocal held
            if held:
                held = False
                self._ended(host, started, failed or time.monotonic() - started > self.slow_seconds)

        token = _LEAVE.set(lambda: leave(failed=False))
        try:
            result = await fetch()
            slow_or_failed = False
            return result
        except FetchError as error:
            self._remember(url, error)
            raise
        finally:
            _LEAVE.reset(token)
            leave(failed=slow_or_failed)

    async def _turn(self, url: str, host: str) -> None:
        """Return when the fetch may start (holding one of the host's places), or raise FetchError."""
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _Host(self.per_host)
        if self._can_start(state):
            try:
                self._refuse_spent(url, host)
            except FetchError:
                self._tidy(host, state)
                raise
            self._start(state)
            return
        now = time.monotonic()
        if self._is_slow(host, now):  # turned slow since the fetch was admitted
            self._tidy(host, state)
            raise FetchError(f"{host} is slow to answer; not fetching {url} now")
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        state.waiting.append(turn)
        self._queued[host] = None
        since, deadline = now, now + self.wait_seconds
        try:
            while True:
                await asyncio.wait({turn}, timeout=min(deadline - now, self.slow_seconds / 4))
                if turn.done():
                    turn.result()  # the host's refusal, if it was refused meanwhile
                    return
                now = time.monotonic()
                if now - max(since, state.last_ended) > self.slow_seconds:
                    if state.running:  # its own fetches hold the queue up: the host is slow
                        self._mark_slow(host, state, now)
                        raise FetchError(f"{host} is slow to answer its key fetches; not fetching {url}")
                    raise FetchError(f"{self.total} fetches of keys and actors are running; not fetching {url} now")
                if now >= deadline:
                    raise FetchError(f"waited {self.wait_seconds:g} s for a turn to fetch {url}")
        except BaseException:
            if not turn.done():
                turn.cancel()
            elif not turn.cancelled() and turn.exception() is None:
                self._ended(host, None, False)  # given a turn just as it gave up: pass it on
            self._tidy(host, state)
            raise

    def _tidy(self, host: str, state: _Host) -> None:
        while state.waiting and state.waiting[0].done():
            state.waiting.popleft()
        if not state.running and not state.waiting and self._hosts.get(host) is state:
            del self._hosts[host]
            self._queued.pop(host, None)

    def _start(self, state: _Host) -> None:
        state.running += 1
        self._running += 1

    def _ended(self, host: str, started: float | None, slow_or_failed: bool) -> None:
        """A fetch ended (``started`` None: a turn given up before fetching anything)."""
        now = time.monotonic()
        state = self._hosts[host]
        state.running -= 1
        self._running -= 1
        if started is not None:
            state.last_ended = now
            if slow_or_failed:
                self._budget.take(host, now)  # the budget is spent by failed and slow fetches only
                state.allowance = self.per_host
                if now - started > self.slow_seconds:
                    self._mark_slow(host, state, now)
            elif now - started < self.slow_seconds / 4:  # quick: one more may run at once, up to the bound
                state.allowance = min(self.per_responsive_host, state.allowance + 1)
        self._give_turns()
        self._tidy(host, state)

    def _mark_slow(self, host: str, state: _Host, now: float) -> None:
        self._slow[host] = now + self.failure_seconds
        self._slow.move_to_end(host)
        while len(self._slow) > MAX_REMEMBERED_SLOW_HOSTS:
            self._slow.popitem(last=False)
        self._refuse_waiting(host, state, f"{host} is slow to answer its key fetches")

    def _refuse_waiting(self, host: str, state: _Host, reason: str) -> None:
        while state.waiting:
            turn = state.waiting.popleft()
            if not turn.done():
                turn.set_exception(FetchError(f"{reason}; not fetching now"))
        self._queued.pop(host, None)

    def _give_turns(self) -> None:
        """Start waiting fetches while there is room: one host after another, in turn."""
        while self._running < self.total and self._queued:
            started = False
            for host in list(self._queued):
                if self._running >= self.total:
                    break
                state = self._hosts[host]
                while state.waiting and state.waiting[0].done():
                    state.waiting.popleft()
                if not state.waiting:
                    del self._queued[host]
                    continue
                if state.running >= state.allowance:
                    continue
                if self._budget_spent(host) is not None:
                    self._refuse_waiting(host, state, f"too many failed or slow fetches from {host}")
                    continue
                self._start(state)
                state.waiting.popleft().set_result(None)
                self._queued.move_to_end(host)
                started = True
            if not started:
                return

    # --- failures remembered, and the end ------------------------------------------------------

    def _remember(self, url: str, error: FetchError) -> None:
        self._failures[url] = (time.monotonic() + self.failure_seconds, error.reason, error.status)
        self._failures.move_to_end(url)
        while len(self._failures) > MAX_REMEMBERED_FAILURES:
            self._failures.popitem(last=False)

    def forget_failure(self, url: str) -> None:
        self._failures.pop(url, None)

    async def close(self) -> None:
        """Cancel the fetches still queued or running (shielded from their waiters, so nothing
        else would) and wait for them to end: called before the fetch session closes."""
        tasks = list(self._in_flight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _finished(self, url: str, task: asyncio.Task) -> None:
        self._in_flight.pop(url, None)
        if not task.cancelled():
            task.exception()  # retrieved here: a fetch whose every waiter went away logs nothing
