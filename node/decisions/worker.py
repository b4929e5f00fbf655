"""The decisions worker: a chapter's tally at ``endTime``, a level's aggregate, the issuer's outcome.

Each cycle (every second in production; tests step ``run_single_cycle()`` with a frozen clock):

1. ``send_tallies``: each copy whose ``endTime`` has passed and whose tally is not sent: the
   polls room closes its questions (``PollWorker.close_due``: ``closed``, the closing
   Update), then the signed tally is built from the stored leaves and sent to our linked
   parent in one transaction with its ``tally_sent_at`` (so a crash never sends two).
2. ``send_aggregates``: at a level between, once every chapter of its electorate has
   reported or ``tallyDeadline`` has passed, its own signed aggregate goes to its parent.
3. ``decide``: at the issuer, once every chapter has reported or at ``tallyDeadline``, the
   outcome is computed (``deciding``), signed, the proposal's served Question(s) updated as
   a chapter's at close (``closed``, counts, ``votersCount``) with an ``Update`` to the
   followers, and the outcome sent down to every linked child.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from node.branches import links
from node.core import follows, objects, publish, vocabulary
from node.core.appkeys import (
    CLOCK,
    CONFIG,
    DATABASE,
    DECISION_WORKER,
    DELIVERY_WORKER,
    KEYRING,
    POLL_WORKER,
    RUN_WORKERS,
    URLS,
)
from node.core.background import WorkerLoop
from node.core.clock import iso, to_epoch
from node.decisions import deciding, proposal, sending, store, tallying


class DecisionWorker:
    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.db, self.urls, self.clock = app[DATABASE], app[URLS], app[CLOCK]
        self.username = app[CONFIG].node.name
        self.loop = WorkerLoop("decisions", self._loop_cycle, idle_seconds=1.0)

    @property
    def keys(self):
        return self.app[KEYRING][self.username]

    async def _loop_cycle(self) -> int:
        await self.run_single_cycle()
        return 0

    async def run_single_cycle(self) -> int:
        done = await self.send_tallies() + await self.send_aggregates() + await self.decide()
        if done:
            self.app[DELIVERY_WORKER].wake()
        return done

    async def send_tallies(self) -> int:
        now = self.clock.now()
        due = await store.copies_due(self.db.reader, to_epoch(now))
        if due and POLL_WORKER in self.app:
            await self.app[POLL_WORKER].close_due()
        for copy in due:
            async with self.db.transaction() as conn:
                prop = await store.get_proposal(conn, copy["proposal_id"])
                tally = await tallying.signed_tally(conn, self.urls, self.keys, prop.document, copy, now)
                parent = await links.linked_parent(conn)
                if parent is not None and parent.peer_id == prop.via:
                    await sending.send_document(
                        conn, self.urls, self.username, tally, to=parent.peer_id, inbox=parent.delivery_inbox, now=now
                    )
                await store.mark_tally_sent(conn, prop.id, tally, to_epoch(now))
        return len(due)

    async def send_aggregates(self) -> int:
        now = self.clock.now()
        sent = 0
        for prop in await store.proposals_awaiting_aggregate(self.db.reader, to_epoch(now)):
            if to_epoch(now) < prop.tally_deadline and not await deciding.all_reported(self.db.reader, prop):
                continue
            async with self.db.transaction() as conn:
                aggregate = await deciding.signed_aggregate(conn, self.urls, self.keys, prop, now)
                parent = await links.linked_parent(conn)
                if parent is not None and parent.peer_id == prop.via:
                    await sending.send_document(
                        conn,
                        self.urls,
                        self.username,
                        aggregate,
                        to=parent.peer_id,
                        inbox=parent.delivery_inbox,
                        now=now,
                    )
                await store.mark_aggregate_sent(conn, prop.id, to_epoch(now))
            sent += 1
        return sent

    async def decide(self) -> int:
        now = self.clock.now()
        decided = 0
        for prop in await store.proposals_awaiting_outcome(self.db.reader, to_epoch(now)):
            if to_epoch(now) < prop.tally_deadline and not await deciding.all_reported(self.db.reader, prop):
                continue
            async with self.db.transaction() as conn:
                outcome = await deciding.signed_outcome(conn, self.urls, self.keys, prop, now)
                if not await store.set_outcome(conn, prop.id, outcome):
                    continue
                await self._close_served(conn, prop, outcome, now)
                for child in await links.children_in_state(conn, "linked"):
                    await sending.send_document(
                        conn, self.urls, self.username, outcome, to=child.peer_id, inbox=child.delivery_inbox, now=now
                    )
            decided += 1
        return decided

    async def _close_served(self, conn, prop: store.Proposal, outcome: dict, now) -> None:
        """The proposal as served: closed, with the aggregate counts; an Update to the followers."""
        stored = await objects.get(conn, prop.id)
        if stored is None or stored.deleted is not None:
            return
        by_id = {q["id"]: q for q in outcome["result"]["questions"]}
        closed = iso(now)
        document = {k: v for k, v in stored.data.items() if k != "proof"}
        if document.get("type") == "Survey":
            document["orderedItems"] = [
                deciding.closed_question(q, by_id, closed) for q in proposal.questions_of(document)
            ]
            document["votersCount"] = outcome["result"]["voters"]
            document["closed"] = closed
        else:
            document = deciding.closed_question(document, by_id, closed)
        await objects.replace_data(conn, prop.id, document, updated=to_epoch(now))
        addressing = {k: v for k, v in document.items() if k in ("to", "cc")}
        update = vocabulary.activity(
            "Update",
            self.urls,
            actor=self.urls.actor(self.username),
            now=now,
            object=document,
            context_value=document.get("@context"),
            **addressing,
        )
        inboxes = await follows.follower_inboxes(conn, self.username)
        await publish.record(
            conn, urls=self.urls, username=self.username, activity=update, inboxes=inboxes, now=to_epoch(now)
        )


async def decision_worker_context(app: web.Application) -> AsyncIterator[None]:
    """The application's decisions worker (``cleanup_ctx``), after the poll worker it asks to close copies."""
    worker = DecisionWorker(app)
    app[DECISION_WORKER] = worker
    if app[RUN_WORKERS]:
        worker.loop.start()
    yield
    await worker.loop.stop()
