"""The reporter: this node's signed report to its parent, on linking and when its facts change.

Each cycle (a light check every second, or every ``[tree] report_interval_seconds`` if
shorter) computes the node's facts (``reports.own_facts``: level, name, place, founding date,
active members, parent, when linked) and compares them with what was last sent to the
current parent (the ``branch_report_sent`` table). A new parent, or changed facts once the
interval since the last report has passed, make one signed report, sent as an ``Add`` to the
parent's children collection and recorded with the new fingerprint in one transaction. So
a link is reported within a second, and however often the member count moves, a parent
hears at most one report per interval. Nothing here is kept in memory: a restarted node
compares with what it stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import aiosqlite
from aiohttp import web

from federation import jsonio
from node.branches import links, reports
from node.core import publish, vocabulary
from node.core.appkeys import BRANCH_REPORTER, CLOCK, CONFIG, DATABASE, DELIVERY_WORKER, KEYRING, RUN_WORKERS, URLS
from node.core.background import WorkerLoop
from node.core.clock import to_epoch
from node.core.config import Config
from node.core.db import Database, fetch_one
from node.core.keys import KeyRing
from node.core.urls import Urls


async def last_sent(conn: aiosqlite.Connection, parent_id: str):
    return await fetch_one(
        conn, "SELECT fingerprint, sent_at FROM branch_report_sent WHERE parent_id = ?", (parent_id,)
    )


async def mark_sent(conn: aiosqlite.Connection, parent_id: str, fingerprint: str, now: float) -> None:
    await conn.execute(
        "INSERT INTO branch_report_sent (parent_id, fingerprint, sent_at) VALUES (?, ?, ?)"
        " ON CONFLICT (parent_id) DO UPDATE SET fingerprint = excluded.fingerprint, sent_at = excluded.sent_at",
        (parent_id, fingerprint, now),
    )


async def forget_sent(conn: aiosqlite.Connection, parent_id: str) -> None:
    await conn.execute("DELETE FROM branch_report_sent WHERE parent_id = ?", (parent_id,))


class Reporter:
    def __init__(
        self,
        *,
        db: Database,
        config: Config,
        urls: Urls,
        keyring: KeyRing,
        clock,
        on_deliveries_queued: Callable[[], None],
    ) -> None:
        self.db, self.config, self.urls, self.keyring, self.clock = db, config, urls, keyring, clock
        self.on_deliveries_queued = on_deliveries_queued
        self.interval = config.tree.report_interval_seconds
        self.loop = WorkerLoop("reports", self._loop_cycle, idle_seconds=min(1.0, self.interval))

    async def _loop_cycle(self) -> int:
        await self.run_single_cycle()
        return 0  # then sleep: the next check is a second away

    async def run_single_cycle(self) -> int:
        """Send a report if one is due; the number sent (0 or 1)."""
        parent = await links.linked_parent(self.db.reader)
        if parent is None:
            return 0
        facts = await reports.own_facts(self.db.reader, self.config, parent=parent.peer_id, linked=parent.linked_at)
        fingerprint = jsonio.dumps_str(facts)
        now = self.clock.now()
        sent = await last_sent(self.db.reader, parent.peer_id)
        if sent is not None and (sent["fingerprint"] == fingerprint or to_epoch(now) - sent["sent_at"] < self.interval):
            return 0
        report = reports.signed_report(self.urls, self.keyring[self.config.node.name], facts, now)
        async with self.db.transaction() as conn:
            still = await links.linked_parent(conn)
            if still is None or still.peer_id != parent.peer_id or not parent.collection:
                return 0
            add = vocabulary.report_delivery(
                self.urls,
                actor=self.urls.actor(self.config.node.name),
                report=report,
                target=parent.collection,
                to=parent.peer_id,
                now=now,
            )
            await publish.record(
                conn,
                urls=self.urls,
                username=self.config.node.name,
                activity=add,
                inboxes=[parent.delivery_inbox] if parent.delivery_inbox else [],
                now=to_epoch(now),
            )
            await mark_sent(conn, parent.peer_id, fingerprint, to_epoch(now))
        self.on_deliveries_queued()
        return 1


async def reporter_context(app: web.Application) -> AsyncIterator[None]:
    """The application's reporter (``cleanup_ctx``), after the delivery worker it wakes."""
    reporter = Reporter(
        db=app[DATABASE],
        config=app[CONFIG],
        urls=app[URLS],
        keyring=app[KEYRING],
        clock=app[CLOCK],
        on_deliveries_queued=app[DELIVERY_WORKER].wake,
    )
    app[BRANCH_REPORTER] = reporter
    if app[RUN_WORKERS]:
        reporter.loop.start()
    yield
    await reporter.loop.stop()
