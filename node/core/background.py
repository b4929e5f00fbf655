"""A worker loop: run one cycle, and when there is nothing to do, sleep until woken.

Workers expose ``run_single_cycle()`` (tests step them one cycle at a time) and are driven
in production by :class:`WorkerLoop`, which sleeps at most ``idle_seconds`` between empty
cycles (and, with ``gather_seconds``, a moment after a part-full batch, so that under load
work is done in full batches, one transaction each, instead of a trickle of small ones), so rows that become due later (retries, expired leases) are picked up without a
wake-up. A cycle that raises is logged and retried after a pause; it never ends the loop.

Given a ``clock``, the loop waits through it (:meth:`node.core.clock.Clock.wait`), so a test's
frozen clock wakes it when moved, and never longer than ``idle_seconds`` of real time; given
``wake_at`` (an epoch on that clock, or None), it wakes then if that comes sooner (the runner
of due work, :mod:`node.core.due`, says when its next item falls due).
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from node.core.clock import Clock

log = logging.getLogger("chapterhouse.worker")


class BackgroundTask(abc.ABC):
    """One named asyncio task that a ``wake()`` nudges: started and stopped by a ``cleanup_ctx``.

    Subclasses write ``_run`` (a loop that never ends by itself) and wait on ``_wakeup``.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wakeup.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Cancel the task and wait until it has ended. Cancelled again while it runs: a cancellation
        that lands as an awaited wait completes can be lost (Python 3.11's ``asyncio.wait_for``), and
        a stop must never wait on a loop that went on."""
        task, self._task = self._task, None
        while task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=1.0)
        if task is not None and not task.cancelled() and task.exception() is not None:
            log.error("%s ended with an error", self.name, exc_info=task.exception())

    @abc.abstractmethod
    async def _run(self) -> None:
        """The task's loop; it never ends by itself."""


class WorkerLoop(BackgroundTask):
    def __init__(
        self,
        name: str,
        cycle: Callable[[], Awaitable[int]],
        *,
        idle_seconds: float = 1.0,
        full_batch: int = 0,
        gather_seconds: float = 0.0,
        clock: Clock | None = None,
        wake_at: Callable[[], Awaitable[float | None]] | None = None,
    ) -> None:
        super().__init__(name)
        self._cycle = cycle
        self._clock = clock
        self._wake_at = wake_at
        self._idle_seconds = idle_seconds
        self._full_batch = full_batch
        self._gather_seconds = gather_seconds

    async def _run(self) -> None:
        while True:
            self._wakeup.clear()
            try:
                done = await self._cycle()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: cycle failed; trying again shortly", self.name)
                done = 0
                await asyncio.sleep(self._idle_seconds)
            if done and done < self._full_batch and self._gather_seconds:
                await asyncio.sleep(self._gather_seconds)  # a part batch: let the next one fill up
                continue
            if done:
                continue
            await self._idle()

    async def _idle(self) -> None:
        """Until woken, the clock moves (a frozen one), ``wake_at`` comes or ``idle_seconds`` pass."""
        seconds = self._idle_seconds
        if self._clock is None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._wakeup.wait()
            return
        if self._wake_at is not None:
            try:
                at = await self._wake_at()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: could not plan the next wake-up; waiting the idle time", self.name)
                at = None
            ahead = None if at is None else at - self._clock.now().timestamp()
            if ahead is not None and ahead > 0:  # a moment past is an item pausing after a failure: no hurry
                seconds = min(seconds, ahead)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._idle_seconds):
                await self._clock.wait(self._wakeup, seconds)
