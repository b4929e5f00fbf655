"""Time as a dependency: workers and verifiers ask a Clock, so tests can move time.

A worker that must act at a moment (a poll closing at its ``endTime``) waits through its
clock too (:meth:`Clock.wait`), so that under a :class:`FrozenClock` it wakes when a test
moves time, not when real seconds pass.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta


class Clock:
    """The real clock (UTC, aware datetimes)."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def wait(self, event: asyncio.Event, seconds: float) -> None:
        """Until ``event`` is set or ``seconds`` of this clock pass; callers check the time again
        after, since a clock may also return early."""
        with contextlib.suppress(TimeoutError):  # asyncio.timeout: never swallows a cancellation
            async with asyncio.timeout(max(seconds, 0.0)):
                await event.wait()

    async def wait_until(self, event: asyncio.Event, when: float) -> None:
        """Until ``event`` is set or this clock reaches ``when`` (epoch seconds)."""
        await self.wait(event, when - self.now().timestamp())


class FrozenClock(Clock):
    """A clock that moves only when told to; for tests."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        self._waiting: set[asyncio.Event] = set()

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> None:
        self._now += timedelta(**delta)
        for event in self._waiting:  # every waiter looks at the new time
            event.set()

    async def wait_until(self, event: asyncio.Event, when: float) -> None:
        """At once if the clock is already at ``when``; else until ``event`` is set or the clock moves."""
        if self._now.timestamp() >= when:
            return
        await self.wait(event, when - self._now.timestamp())

    async def wait(self, event: asyncio.Event, seconds: float) -> None:
        """Until ``event`` is set or the clock is moved (by any amount: the caller re-plans)."""
        if seconds <= 0:
            return
        self._waiting.add(event)
        try:
            await event.wait()
        finally:
            self._waiting.discard(event)


def iso(moment: datetime) -> str:
    """ActivityStreams xsd:dateTime, second precision, 'Z' suffix."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_epoch(moment: datetime) -> float:
    return moment.timestamp()


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
