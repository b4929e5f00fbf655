"""Several processes on one PostgreSQL database: which work each runs, and what each keeps to itself.

A SQLite node is one process (``chapterhouse serve``) that does everything. On PostgreSQL a node
may be served by several: ``chapterhouse serve --workers none`` processes that accept inbox
POSTs and serve pages, behind one address, and ``chapterhouse worker --only ...`` processes,
on the same or other machines, that do the background work. Every process opens the whole
application (database, keys, federation client, the rooms); what differs is which
:data:`WORKER_NAMES` it starts:

- ``inbox``: the inbox worker (claims received activities) and the pruning of old rows
  (:mod:`node.core.retention`: processed inbox items, finished deliveries, expired sessions);
- ``delivery``: the delivery worker (claims due deliveries, signs, posts);
- ``polls``, ``decisions``, ``tree``: the rooms' kinds of due work on the runner
  (:mod:`node.core.due`; each :class:`node.core.due.DueKind` names its ``worker``): closing polls
  and their counts' Updates, the decisions' rolls, tallies, aggregates and outcomes, the branch
  report to the parent.

**Nothing is done twice.** Received activities and deliveries are rows claimed under a lease
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL: two workers never claim one row, and neither waits on
the other's; :mod:`node.core.inbox_items`, :mod:`node.core.deliveries`). An inbox batch
commits its effects only for rows it still holds (the claim's ``attempts`` unchanged, the rows
locked until the commit), so an item whose lease ran out under a slow worker and was claimed
again takes effect once. The due work runs a kind only while holding its advisory lock
(:meth:`node.core.db.Store.exclusive`, ``pg_try_advisory_lock`` on a connection of its own): a
process that does not get it skips that kind this cycle, and the holder commits each item
before letting go, so the next holder reads what it did. The pruning runs the same way
(``exclusive("retention")``). Keys made on first start are inserted ``ON CONFLICT DO NOTHING``
and read back, so two processes starting on an empty database keep one key pair
(:func:`node.core.keys.load_or_create_keys`); migrations take turns under their own lock.

**Leases.** A process that opens the store when no other process of the node has it open
makes every leased row due again at once (:func:`release_dead_leases`): those leases were
dead processes' (a SQLite node always, its file being one process's; on PostgreSQL each
process holds a shared advisory lock while its store is open, and tries an exclusive one
first: the store's ``first_process``, :class:`node.core.db.Store`). A process that starts
beside live ones cannot tell a dead process's lease from a live one's, so it releases nothing: a dead worker's
rows come due again when their lease runs out, ``[federation] inbox_lease_seconds`` (120 s)
after the claim for received activities, ``delivery_lease_seconds`` (300 s) for deliveries
(restarting a killed worker beside running ones does not hurry them). A lease must
outlast the work on what it claims: the delivery worker gives a host at most a quarter of the
lease (and 30 s) before giving its other rows back, and the config refuses a delivery lease
shorter than four delivery timeouts or an inbox lease shorter than the prepare timeout.

**Waking.** Work made due in one process must wake the worker in another: ``wake()`` on the
inbox worker, the delivery worker and the due runner wakes this process's loop and, on
PostgreSQL, sends a ``NOTIFY`` on the ``inbox``, ``delivery`` or ``due`` channel
(:class:`Coalesced`: at most one in flight per channel, so a busy intake does not queue
them); each process listens on the channels of the workers it runs and wakes the loop. On
SQLite no notifier exists, so the hot path is unchanged. The admin's blocks are in memory in
every process (each request checks them) and reloaded on a ``blocks`` notification; a host's
paused deliveries are resumed by whichever process hears from it, each process rereading
which hosts are paused at most every :data:`PAUSED_HOSTS_SECONDS`.

**What each process keeps to itself**, and why that is safe:

- *Inbox rate limits* (:class:`inbox.ratelimit.InboxLimits`) and the *sign-in throttles*
  (:mod:`node.membership.throttle`): token buckets in memory. With N web processes behind a
  balancer a sender may get up to N times the configured rate (N times looser, never tighter);
  to keep the node-wide figures, divide ``[federation] inbox_per_*`` and ``[accounts] login_*``
  by N. A guesser still gets only N times ten wrong passwords before every process closes the
  account for a while.
- *Key-fetch gates* (:class:`federation.fetchgate.KeyFetchGate`): each process bounds its own
  key fetches, so a tarpit gets at most N times ``key_fetches_per_host`` connections; each
  process remembers failures on its own (each may fetch a failing key once).
- *The delivery worker's one request in flight per host* and its ``delivery_concurrency``: each
  process's own, so with N delivery workers a host may be sent up to N requests at once (each
  process works through the rows it claimed); a host that fails is paused for all of them
  (``host_backoff`` is a table).
- *The remote-actor cache in memory* (:mod:`federation.actors`): over the table every process
  shares; a key rotated since is refetched on the first signature it fails.
- *The parsed activities* handed from the intake to the inbox worker
  (:class:`inbox.worker.ParsedActivities`): when another process stores the activity, the
  worker parses the stored body (what a miss always did); a process that runs no inbox worker
  keeps none.
- *Sessions, CSRF tokens, site settings, blocks and everything else* are rows, read per request.
- *Metrics* are per process (``chapterhouse_process_info{process=...}`` names it: ``web-<pid>``,
  ``worker-<pid>`` or ``--name``): sum the counters over processes; the queue depths are read
  from the database, so every process shows the node's.

Order: within a process, received activities are processed in arrival order, a batch at a
time. With several inbox workers two activities of one sender that arrive close together may
land in two processes' batches and be processed in either order; nothing is counted twice (a
member's ballot is unique in its table), but which of two quick, different ballots counts is
then the one processed first. Likewise a poll's served counts, refreshed by each inbox batch
that counted a ballot, may miss the ballots another process is committing at that moment; the
counts' next ``Update(Question)`` (``[polls] update_interval_seconds``) and the close refresh
them from everything committed.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping

from node.core import deliveries, inbox_items
from node.core.config import FederationConfig
from node.core.db import SQLITE, Store

log = logging.getLogger("chapterhouse.processes")

#: The workers a process may run, in the order ``--workers``/``--only`` names them.
WORKER_NAMES = ("inbox", "delivery", "polls", "decisions", "tree")
ALL_WORKERS = frozenset(WORKER_NAMES)
#: The workers that are kinds of due work on the runner (the rest are loops of their own).
DUE_WORKERS = frozenset({"polls", "decisions", "tree"})
#: How often a process rereads which hosts are paused (other processes pause and resume them).
PAUSED_HOSTS_SECONDS = 10.0

INBOX_CHANNEL = "inbox"
DELIVERY_CHANNEL = "delivery"
DUE_CHANNEL = "due"
BLOCKS_CHANNEL = "blocks"


class WorkersError(ValueError):
    """A list of workers that names no worker Chapterhouse has."""


def parse_workers(text: str) -> frozenset[str]:
    """``all``, ``none`` or names separated by commas (``inbox,delivery``) as a set of worker names."""
    words = [word.strip().lower() for word in text.split(",") if word.strip()]
    if words == ["all"]:
        return ALL_WORKERS
    if words == ["none"] or not words:
        return frozenset()
    unknown = [word for word in words if word not in ALL_WORKERS]
    if unknown:
        raise WorkersError(
            f"no worker named {', '.join(unknown)}: name some of {', '.join(WORKER_NAMES)} separated by commas,"
            " or all, or none"
        )
    return frozenset(words)


def workers_of(start: bool | Iterable[str]) -> frozenset[str]:
    """What ``make_app(start_workers=...)`` was given as a set of names: True is all, False none."""
    if start is True:
        return ALL_WORKERS
    if start is False:
        return frozenset()
    names = frozenset(start)
    unknown = sorted(names - ALL_WORKERS)
    if unknown:
        raise WorkersError(f"no worker named {', '.join(unknown)}; the workers are {', '.join(WORKER_NAMES)}")
    return names


def describe(workers: Iterable[str]) -> str:
    """The workers in their usual order, for logs and metrics (``none`` when there are none)."""
    chosen = set(workers)
    return ",".join(name for name in WORKER_NAMES if name in chosen) or "none"


def process_name(role: str, name: str | None = None) -> str:
    """How this process is named in the metrics: ``name``, else ``<role>-<pid>``."""
    return name or f"{role}-{os.getpid()}"


class Coalesced:
    """``action`` run in a task each time this is called, one run at a time: a call while it runs
    makes one more run after it (however many calls came). Failures are logged as warnings: what
    it does (a NOTIFY, a reload) is a hurry, and the polling catches up without it."""

    def __init__(self, name: str, action: Callable[[], Awaitable[None]]) -> None:
        self.name = name
        self._action = action
        self._task: asyncio.Task[None] | None = None
        self._again = False

    def __call__(self) -> None:
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def _run(self) -> None:
        while True:
            self._again = False
            try:
                await self._action()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("%s failed (the others catch up at their next poll): %s", self.name, error)
            if not self._again:
                return

    async def close(self) -> None:
        """Let the run in progress (and the one more it owes) end: before the store closes."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None


async def release_dead_leases(store: Store, federation: FederationConfig, *, now: float) -> tuple[int, int]:
    """Received items and deliveries claimed within a lease before ``now`` due again at once: called
    when no other process had the store open (its ``first_process``), so every such claim was a
    dead process's. ``now`` is taken before the store was opened: the claims of
    processes that open it later end past ``now`` plus a lease, and are left alone."""
    async with store.transaction() as conn:
        inbox = await inbox_items.release_leases(conn, now=now, lease_seconds=federation.inbox_lease_seconds)
        delivery = await deliveries.release_leases(conn, now=now, lease_seconds=federation.delivery_lease_seconds)
    return inbox, delivery


def announcer(store: Store, channel: str) -> Coalesced | None:
    """What wakes the other processes' workers on ``channel``; None on SQLite (one process)."""
    if store.dialect == SQLITE:
        return None
    return Coalesced(f"notify {channel}", lambda: store.notify(channel))


async def on_notifications(store: Store, callbacks: Mapping[str, Callable[[], None]]) -> None:
    """On PostgreSQL, call each callback (a started loop's ``wake``, a reload) at each notification on
    its channel from any process of the node; nothing on SQLite."""
    if store.dialect == SQLITE:
        return
    for channel, callback in callbacks.items():
        await store.listen(channel, callback)
