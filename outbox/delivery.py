"""The delivery worker: claims due deliveries, signs at send time, posts, records the outcome.

One request in flight per host (rows of one host go one after another), at most
``concurrency`` hosts at once. Outcomes (:func:`classify`): 2xx done; 429 and 503 retry no
sooner than ``Retry-After`` and pause the host; 401 and 408 retry; other 4xx dead (the
receiver refuses it for good), and so is what the client refuses to send (a blocked host, an
address never allowed); 5xx and network errors retry with exponential backoff and
jitter and pause the whole host. A delivery older than the policy's give-up time is dead,
with its last error kept. A valid signed request from a paused host clears its pause
(:meth:`DeliveryWorker.host_is_back`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from federation.client import FederationClient, PostResult
from node.core import deliveries as store
from node.core import objects
from node.core.actors import signer_for
from node.core.background import WorkerLoop
from node.core.clock import to_epoch
from node.core.db import Store
from node.core.keys import KeyRing
from node.core.retry import DELIVERY, HOST_BACKOFF, RetryPolicy
from node.core.urls import Urls

log = logging.getLogger("chapterhouse.delivery")


def classify(result: PostResult) -> tuple[str, bool]:
    """(``done`` | ``retry`` | ``dead``, whether to pause the host)."""
    status = result.status
    if result.ok:
        return "done", False
    if result.permanent:
        return "dead", False
    if status is None or status >= 500:
        return "retry", True
    if status in (429, 503):
        return "retry", True
    if status in (401, 408):
        return "retry", False
    return "dead", False


@dataclass
class Outcome:
    seq: int
    host: str
    state: str
    status: int | None
    error: str | None
    retry_at: float | None = None
    pause_host: bool = False  # the host is failing: pause all its deliveries
    retry_after: float | None = None  # what the host asked for, in seconds


class DeliveryWorker:
    def __init__(
        self,
        *,
        db: Store,
        client: FederationClient,
        keyring: KeyRing,
        urls: Urls,
        clock,
        concurrency: int,
        batch: int = 500,
        lease_seconds: float = 300,
        policy: RetryPolicy = DELIVERY,
        rng: random.Random | None = None,
        host_budget_seconds: float | None = None,
        announce: Callable[[], None] | None = None,
        paused_hosts_seconds: float | None = None,
    ) -> None:
        self.db = db
        # a host's rows are given back past this, well within the lease (node.core.processes)
        self.host_budget_seconds = min(30.0, lease_seconds / 4) if host_budget_seconds is None else host_budget_seconds
        self.announce = announce  # PostgreSQL: wakes the delivery workers of the other processes too
        # PostgreSQL: other processes pause hosts too, so the paused set is reread this often (None: never)
        self.paused_hosts_seconds = paused_hosts_seconds
        self._paused_hosts_fresh_until = 0.0
        self.client = client
        self.keyring = keyring
        self.urls = urls
        self.clock = clock
        self.batch = batch
        self.lease_seconds = lease_seconds
        self.policy = policy
        self.rng = rng or random.Random()
        self._slots = asyncio.Semaphore(concurrency)
        self.loop = WorkerLoop("delivery", self.run_single_cycle)
        self.paused_hosts: set[str] = set()
        self.outcome_tally: Counter[tuple[str, str]] = Counter()  # (outcome, status) -> attempts, for /metrics

    def wake(self) -> None:
        """Deliveries were queued: this process's loop, and (``announce``) the other processes' delivery workers."""
        self.loop.wake()
        if self.announce is not None:
            self.announce()

    async def load_paused_hosts(self) -> None:
        rows = await store.hosts_in_backoff(self.db.reader, now=to_epoch(self.clock.now()))
        self.paused_hosts = {row["host"] for row in rows}

    async def host_is_back(self, host: str) -> None:
        """A host proved it is up (it sent us a valid signed request): resume its deliveries now."""
        host = host.lower()
        if self.paused_hosts_seconds is not None and time.monotonic() >= self._paused_hosts_fresh_until:
            self._paused_hosts_fresh_until = time.monotonic() + self.paused_hosts_seconds
            await self.load_paused_hosts()
        if host not in self.paused_hosts:
            return
        self.paused_hosts.discard(host)
        async with self.db.transaction() as conn:
            await store.clear_host_backoff(conn, host, now=to_epoch(self.clock.now()))
        self.wake()

    async def run_single_cycle(self) -> int:
        now = to_epoch(self.clock.now())
        async with self.db.transaction() as conn:
            rows = await store.claim_due(conn, now=now, lease_seconds=self.lease_seconds, limit=self.batch)
        if not rows:
            return 0
        bodies = await self._bodies({row["activity_id"] for row in rows})
        by_host: dict[str, list] = defaultdict(list)
        for row in rows:
            by_host[row["host"]].append(row)
        results = await asyncio.gather(*(self._deliver_host(rows_, bodies) for rows_ in by_host.values()))
        await self._record([outcome for outcomes in results for outcome in outcomes])
        return len(rows)

    async def _bodies(self, activity_ids: set[str]) -> dict[str, bytes | None]:
        found = await objects.data_of_many(self.db.reader, list(activity_ids))
        return {activity_id: found.get(activity_id) for activity_id in activity_ids}

    async def _deliver_host(self, rows: list, bodies: dict[str, bytes | None]) -> list[Outcome]:
        """A host's rows, one at a time; stop early if it fails or uses up its time budget."""
        outcomes = []
        async with self._slots:
            started = asyncio.get_running_loop().time()
            for index, row in enumerate(rows):
                outcome = await self._deliver_one(row, bodies.get(row["activity_id"]))
                outcomes.append(outcome)
                rest = rows[index + 1 :]
                if outcome.pause_host:  # failing: leave its other rows for after the pause
                    outcomes.extend(
                        Outcome(r["seq"], r["host"], "retry", None, "host paused", outcome.retry_at) for r in rest
                    )
                    break
                if rest and asyncio.get_running_loop().time() - started > self.host_budget_seconds:
                    # slow but working: give the rest back so one host cannot hold the cycle
                    outcomes.extend(Outcome(r["seq"], r["host"], "release", None, None) for r in rest)
                    break
        return outcomes

    async def _deliver_one(self, row, body: bytes | None) -> Outcome:
        now = to_epoch(self.clock.now())
        if body is None:
            return Outcome(row["seq"], row["host"], "dead", None, "the activity no longer exists")
        if not await self.keyring.load(self.db.reader, row["signer"]):  # a member's keys: loaded once
            return Outcome(row["seq"], row["host"], "dead", None, f"no local actor {row['signer']} to sign with")
        signer = signer_for(self.urls, self.keyring[row["signer"]])
        result = await self.client.post_signed(row["inbox"], body, signer=signer)
        state, pause = classify(result)
        outcome = Outcome(row["seq"], row["host"], state, result.status, result.error, retry_after=result.retry_after)
        if state == "retry":
            if self.policy.gives_up(first_attempt_at=row["created_at"], now=now):
                outcome.state = "dead"
                outcome.error = f"gave up after {row['attempts']} attempts; last error: {result.error}"
            else:
                delay = self.policy.next_delay(row["attempts"], retry_after=result.retry_after, rng=self.rng)
                outcome.retry_at = now + delay
        outcome.pause_host = pause and outcome.state == "retry"
        return outcome

    async def _record(self, outcomes: list[Outcome]) -> None:
        now = to_epoch(self.clock.now())
        paused: dict[str, Outcome] = {}
        recovered = {o.host for o in outcomes if o.state == "done"} & self.paused_hosts
        async with self.db.transaction() as conn:
            done = [(outcome.seq, outcome.status) for outcome in outcomes if outcome.state == "done"]
            await store.mark_done_many(conn, done, now=now)
            for outcome in outcomes:
                if outcome.state != "release":
                    self.outcome_tally[(outcome.state, str(outcome.status or "none"))] += 1
                if outcome.state == "release":
                    await store.release(conn, outcome.seq, now=now)
                elif outcome.state == "done":
                    continue
                elif outcome.state == "dead":
                    await store.mark_dead(conn, outcome.seq, status=outcome.status, error=outcome.error or "", now=now)
                    log.warning("delivery %s dead: %s", outcome.seq, outcome.error)
                else:
                    await store.mark_retry(
                        conn, outcome.seq, at=outcome.retry_at or now, status=outcome.status, error=outcome.error or ""
                    )
                if outcome.pause_host:
                    paused[outcome.host] = outcome
            for host, outcome in paused.items():
                failures = await store.host_failures(conn, host) + 1
                delay = HOST_BACKOFF.next_delay(failures, retry_after=outcome.retry_after, rng=self.rng)
                await store.back_off_host(conn, host, retry_at=now + delay, error=outcome.error or "")
            for host in recovered - set(paused):
                await store.clear_host_backoff(conn, host, now=now)
        self.paused_hosts.update(paused)
        self.paused_hosts -= recovered - set(paused)
