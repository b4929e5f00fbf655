"""Due work: each kind of row's life cycle declared as a small graph, and one runner for all of it.

A room whose rows wait for something to be done (a poll to close at its ``endTime``, a tally
to send up, a report to the parent) declares two things:

- **the rows' states**, as a :class:`StateGraph`: the states, the transitions allowed from
  each, and which states are terminal. A graph is checked when it is defined, so a wrong one
  fails at import with a sentence (:class:`GraphError`): every transition must lead to a
  declared state, a terminal state has no exits, a state without exits is declared terminal,
  and every state is reachable from the initial one. The room's store functions move a row
  only along its graph: the ``WHERE`` of the update names the states the row may come from
  (:meth:`StateGraph.sources`), and :meth:`StateGraph.check` says why a move is refused.
- **each kind of due work**, as a :class:`DueKind`: where the due items are (``due``), a key
  naming each item, and the work on one item (``work``: True when it did something). A kind
  may run at most every ``every`` seconds, and may say when its next item falls due
  (``next_due``: the runner wakes then, not only after its idle second).

One :class:`DueRunner` per application (``app[DUE_RUNNER]``) runs every kind the rooms added,
in the order they were added, on a :class:`~node.core.background.WorkerLoop` (once a second,
sooner when woken or when a kind's ``next_due`` comes; it waits through the clock, so a
test's frozen clock wakes it when moved). Each item runs in its own ``try``: an item that
raises is logged and left alone for a pause that doubles with each failure (2 s, 4 s, ... at
most an hour, on the runner's clock), then tried again; one failing item never blocks
another, nor another kind. Tests step a room's kinds one cycle at a time with
:meth:`DueRunner.run` (the rooms' ``run_single_cycle()``), which ignores ``every``.

Several processes (PostgreSQL, :mod:`node.core.processes`): each kind names the ``worker`` it
belongs to (``polls``, ``decisions``, ``tree``), and a process's loop runs only the kinds of the
workers it was given (``DueRunner(workers=...)``). Whatever runs a kind (the loop, or a room's
explicit call, as the decisions' tally closes the polls first) does so only while holding that
kind's lock (``DueRunner(exclusive=store.exclusive)``, :meth:`node.core.db.Store.exclusive`): a
process that does not get it skips the kind this time, so an item is never worked on by two
processes at once, and the next holder reads what the last one committed. The failures' pauses
are each process's own.

This module knows no feature: the rooms bring their graphs and kinds (the polls room, the
decisions room and the branch reporter; see their ``worker``/``report_sending`` docstrings).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from node.core.background import WorkerLoop
from node.core.clock import Clock, to_epoch

log = logging.getLogger("chapterhouse.due")

MAX_PAUSE_SECONDS = 3600.0


class GraphError(ValueError):
    """A state graph that cannot be: raised when it is defined, with a sentence saying why."""


class TransitionError(ValueError):
    """A row asked to move where its graph does not allow."""


class StateGraph:
    """The states of one kind of row: ``transitions`` maps each state to the states it may go to.

    ``StateGraph("a poll question", initial="open", transitions={"open": ["closed"], "closed": []},
    terminal=["closed"])``. Every state is a key of ``transitions``; a self-loop is allowed.
    """

    def __init__(
        self,
        name: str,
        *,
        initial: str,
        transitions: Mapping[str, Iterable[str]],
        terminal: Iterable[str] = (),
        meanings: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.initial = initial
        self.transitions: dict[str, frozenset[str]] = {state: frozenset(to) for state, to in transitions.items()}
        self.terminal = frozenset(terminal)
        self.meanings = dict(meanings or {})  # state -> what it means in the rows' columns, for readers
        self._check()

    @property
    def states(self) -> tuple[str, ...]:
        return tuple(self.transitions)

    def _check(self) -> None:
        known = set(self.transitions)
        if self.initial not in known:
            raise GraphError(
                f"{self.name}: the initial state {self.initial!r} is not one of its states {sorted(known)}"
            )
        for state in sorted(self.terminal - known):
            raise GraphError(f"{self.name}: the terminal state {state!r} is not one of its states {sorted(known)}")
        for state, targets in self.transitions.items():
            for target in sorted(targets - known):
                raise GraphError(f"{self.name}: {state!r} may go to {target!r}, which is not one of its states")
            if state in self.terminal and targets:
                raise GraphError(f"{self.name}: {state!r} is terminal, yet may go to {sorted(targets)}")
            if not targets and state not in self.terminal:
                raise GraphError(f"{self.name}: {state!r} has no way out and is not declared terminal")
        for state in sorted(known - self._reachable()):
            raise GraphError(f"{self.name}: no transition leads from {self.initial!r} to {state!r}")
        for state in sorted(set(self.meanings) - known):
            raise GraphError(f"{self.name}: the meaning given for {state!r} names no state")

    def _reachable(self) -> set[str]:
        seen, todo = {self.initial}, [self.initial]
        while todo:
            for target in self.transitions[todo.pop()]:
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        return seen

    def allows(self, source: str, target: str) -> bool:
        return target in self.transitions.get(source, frozenset())

    def check(self, source: str, target: str) -> None:
        """Raise :class:`TransitionError`, saying why, unless ``source`` may go to ``target``."""
        if source not in self.transitions:
            raise TransitionError(f"{self.name}: {source!r} is not one of its states")
        if not self.allows(source, target):
            allowed = sorted(self.transitions[source]) or "nowhere (it is terminal)"
            raise TransitionError(f"{self.name}: {source!r} may not go to {target!r}, only to {allowed}")

    def sources(self, target: str) -> tuple[str, ...]:
        """The states a row may come from to enter ``target`` (for the ``WHERE`` of an update)."""
        if target not in self.transitions:
            raise TransitionError(f"{self.name}: {target!r} is not one of its states")
        return tuple(sorted(state for state, to in self.transitions.items() if target in to))

    def describe(self) -> str:
        """One line per state: where it may go (what a module docstring shows)."""
        lines = []
        for state, targets in self.transitions.items():
            end = " (terminal)" if state in self.terminal else " -> " + ", ".join(sorted(targets))
            lines.append(f"{state}{end}")
        return "\n".join(lines)


@dataclass(frozen=True)
class DueKind:
    """One kind of due work: ``due()`` finds the items, ``work(item)`` does one (True: it did something)."""

    name: str
    graph: StateGraph  # the life cycle of the rows this kind moves along
    due: Callable[[], Awaitable[Iterable[Any]]]
    work: Callable[[Any], Awaitable[bool]]
    key: Callable[[Any], str] = str  # names an item in the log and in the failures' pauses
    every: float = 0.0  # seconds between runs in the loop (0: every cycle)
    next_due: Callable[[], Awaitable[float | None]] | None = None  # when its next item falls due (epoch)
    worker: str = ""  # the worker it belongs to (polls, decisions, tree): a process runs the ones it is given


@asynccontextmanager
async def _granted(name: str) -> AsyncIterator[bool]:
    """A runner without a store's lock (a test's): always granted."""
    yield True


class DueRunner:
    """Runs the kinds of due work the rooms added, each item on its own, on one worker loop."""

    def __init__(
        self,
        clock: Clock,
        *,
        on_done: Callable[[], None] = lambda: None,
        idle_seconds: float = 1.0,
        exclusive: Callable[[str], AbstractAsyncContextManager[bool]] | None = None,
        workers: Iterable[str] | None = None,
        announce: Callable[[], None] | None = None,
    ) -> None:
        self.clock = clock
        self.on_done = on_done  # something was done (deliveries were queued, as a rule): wake who sends them
        self.exclusive = exclusive or _granted  # the store's: one process at a time runs a kind
        self.workers = None if workers is None else frozenset(workers)  # the loop runs these kinds (None: all)
        self.announce = announce  # PostgreSQL: wakes the runners of the other processes too
        self.kinds: list[DueKind] = []
        self._failing: dict[tuple[str, str], tuple[int, float]] = {}  # (kind, item) -> (failures, next try)
        self._next_run: dict[str, float] = {}  # kind -> when the loop runs it next (kinds with ``every``)
        self.loop = WorkerLoop(
            "due work", self._loop_cycle, idle_seconds=idle_seconds, clock=clock, wake_at=self._wake_at
        )

    def add(self, kinds: Sequence[DueKind]) -> None:
        names = {kind.name for kind in self.kinds}
        for kind in kinds:
            if kind.name in names:
                raise ValueError(f"a kind of due work named {kind.name!r} was added already")
            names.add(kind.name)
            self.kinds.append(kind)

    def wake(self) -> None:
        """Something may be due sooner: this process's loop, and (``announce``) the other processes' runners."""
        self.loop.wake()
        if self.announce is not None:
            self.announce()

    async def run(self, kinds: Sequence[DueKind]) -> int:
        """One pass over ``kinds`` (whatever their ``every``); how many items did something."""
        done = 0
        for kind in kinds:
            done += await self._run_kind(kind)
        if done:
            self.on_done()
        return done

    def failures(self, kind: str, key: str) -> int:
        """How many times in a row an item has failed (0: none, or it succeeded since)."""
        return self._failing.get((kind, key), (0, 0.0))[0]

    async def _run_kind(self, kind: DueKind) -> int:
        """Every due item of ``kind``, while no other process runs that kind (else nothing, this time)."""
        async with self.exclusive(f"due: {kind.name}") as granted:
            return await self._run_items(kind) if granted else 0

    async def _run_items(self, kind: DueKind) -> int:
        done = 0
        for item in await kind.due():
            name = (kind.name, kind.key(item))
            failures, next_try = self._failing.get(name, (0, 0.0))
            if to_epoch(self.clock.now()) < next_try:
                continue
            try:
                done += int(await kind.work(item))
            except asyncio.CancelledError:
                raise
            except Exception:
                pause = min(MAX_PAUSE_SECONDS, 2.0 ** (failures + 1))
                log.exception("%s failed for %s (tried again in %.0f s; the others go on)", kind.name, name[1], pause)
                self._failing[name] = (failures + 1, to_epoch(self.clock.now()) + pause)
            else:
                self._failing.pop(name, None)
        return done

    async def _loop_cycle(self) -> int:
        now = to_epoch(self.clock.now())
        kinds = [kind for kind in self._mine() if now >= self._next_run.get(kind.name, 0.0)]
        for kind in kinds:
            if kind.every:
                self._next_run[kind.name] = now + kind.every
        await self.run(kinds)
        return 0  # then wait: what is due next is at least a moment away, or wakes the loop

    def _mine(self) -> list[DueKind]:
        """The kinds this process's loop runs: those of its workers (a kind naming none: every runner's)."""
        return [kind for kind in self.kinds if self.workers is None or not kind.worker or kind.worker in self.workers]

    async def _wake_at(self) -> float | None:
        """The earliest moment a kind falls due: its next run (``every``), or its next item."""
        moments = list(self._next_run.values())
        for kind in self._mine():
            if kind.next_due is not None:
                moment = await kind.next_due()
                if moment is not None:
                    moments.append(moment)
        moments.extend(next_try for _, next_try in self._failing.values())
        return min(moments, default=None)
