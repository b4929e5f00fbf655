"""Sending this node's signed report to its parent, on linking and when its facts change (the reporter).

A kind of due work (``branch report``) on the application's runner (:mod:`node.core.due`:
checked every second; tests step ``run_single_cycle()``). What was last sent to each parent is
a row of ``branch_report_sent``, and its states are a small graph over that row (``SENT``)::

    unreported  (no row for this parent)         -> reported
    reported    (a row: fingerprint, sent_at)    -> reported (newer facts), unreported (forgotten)

Each check computes the node's facts (``reports.own_facts``: level, name, place, founding date,
active members, parent, when linked) and compares them with what was last sent to the current
parent. A new parent, or changed facts once ``[tree] report_interval_seconds`` since the last
report has passed, make one signed report, sent as an ``Add`` to the parent's children
collection and recorded with the new fingerprint in one transaction. So a link is reported
within a second, and however often the member count moves, a parent hears at most one report
per interval. Nothing here is kept in memory: a restarted node compares with what it stored.
A report that fails is logged and tried again after a growing pause.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from federation import jsonio
from node.branches import documents, link_store, reports
from node.branches.link_store import Link
from node.core import publish
from node.core.appkeys import CLOCK, CONFIG, DATABASE, DUE_RUNNER, KEYRING, URLS
from node.core.clock import Clock, to_epoch
from node.core.config import Config
from node.core.db import Connection, Row, Store, fetch_one
from node.core.due import DueKind, DueRunner, StateGraph
from node.core.keys import KeyRing
from node.core.urls import Urls

SENT = StateGraph(
    "a node's report to a parent",
    initial="unreported",
    transitions={"unreported": ["reported"], "reported": ["reported", "unreported"]},
    meanings={"unreported": "no branch_report_sent row", "reported": "a row with the facts' fingerprint"},
)


async def last_sent(conn: Connection, parent_id: str) -> Row | None:
    return await fetch_one(
        conn, "SELECT fingerprint, sent_at FROM branch_report_sent WHERE parent_id = ?", (parent_id,)
    )


async def mark_sent(conn: Connection, parent_id: str, fingerprint: str, now: float) -> None:
    await conn.execute(
        "INSERT INTO branch_report_sent (parent_id, fingerprint, sent_at) VALUES (?, ?, ?)"
        " ON CONFLICT (parent_id) DO UPDATE SET fingerprint = excluded.fingerprint, sent_at = excluded.sent_at",
        (parent_id, fingerprint, now),
    )


async def forget_sent(conn: Connection, parent_id: str) -> None:
    await conn.execute("DELETE FROM branch_report_sent WHERE parent_id = ?", (parent_id,))


@dataclass(frozen=True)
class DueReport:
    """A report due to the current parent: the facts, and their fingerprint."""

    parent: Link
    facts: dict[str, Any]
    fingerprint: str


class Reporter:
    def __init__(
        self,
        *,
        db: Store,
        config: Config,
        urls: Urls,
        keyring: KeyRing,
        clock: Clock,
        runner: DueRunner,
    ) -> None:
        self.db, self.config, self.urls, self.keyring, self.clock = db, config, urls, keyring, clock
        self.runner = runner
        self.interval = config.tree.report_interval_seconds
        self.kind = DueKind(
            "branch report",
            SENT,
            due=self._due,
            work=self._send,
            key=lambda due: due.parent.peer_id,
            next_due=self._next_due,
            worker="tree",
        )

    async def run_single_cycle(self) -> int:
        """Send a report if one is due; the number sent (0 or 1)."""
        return await self.runner.run([self.kind])

    async def _due(self) -> list[DueReport]:
        parent = await link_store.linked_parent(self.db.reader)
        if parent is None:
            return []
        facts = await reports.own_facts(self.db.reader, self.config, parent=parent.peer_id, linked=parent.linked_at)
        fingerprint = jsonio.dumps_str(facts)
        sent = await last_sent(self.db.reader, parent.peer_id)
        now = to_epoch(self.clock.now())
        if sent is not None and (sent["fingerprint"] == fingerprint or now - sent["sent_at"] < self.interval):
            return []
        return [DueReport(parent, facts, fingerprint)]

    async def _next_due(self) -> float | None:
        """When changed facts may go next: an interval after the last report (a new fact waits that long)."""
        parent = await link_store.linked_parent(self.db.reader)
        sent = None if parent is None else await last_sent(self.db.reader, parent.peer_id)
        return None if sent is None else float(sent["sent_at"]) + self.interval

    async def _send(self, due: DueReport) -> bool:
        now: datetime = self.clock.now()
        parent = due.parent
        report = reports.signed_report(self.urls, self.keyring[self.config.node.name], due.facts, now)
        async with self.db.transaction() as conn:
            still = await link_store.linked_parent(conn)
            if still is None or still.peer_id != parent.peer_id or not parent.collection:
                return False
            add = documents.report_delivery(
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
            await mark_sent(conn, parent.peer_id, due.fingerprint, to_epoch(now))
        return True


BRANCH_REPORTER: web.AppKey[Reporter] = web.AppKey("branch_reporter", Reporter)  # signed reports to the parent


async def reporter_context(app: web.Application) -> AsyncIterator[None]:
    """The application's reporter (``cleanup_ctx``): its kind of due work, on the application's runner."""
    reporter = Reporter(
        db=app[DATABASE],
        config=app[CONFIG],
        urls=app[URLS],
        keyring=app[KEYRING],
        clock=app[CLOCK],
        runner=app[DUE_RUNNER],
    )
    app[BRANCH_REPORTER] = reporter
    app[DUE_RUNNER].add([reporter.kind])
    yield
