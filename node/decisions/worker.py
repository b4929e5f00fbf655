"""The decisions worker: rolls up, exclusions down, tallies up, refusals, aggregates, the issuer's outcome.

Each cycle (every second in production; tests step ``run_single_cycle()`` with a frozen clock):

1. ``send_rolls``: each copy whose signed roll has not gone up: signed and sent to our linked
   parent, so a member on two rolls is resolved while the vote is open.
2. ``send_exclusions`` (at the issuer): each proposal a roll arrived for: the shared members
   worked out again (``rolls.resolve``); when that changes anything, new signed exclusions
   (the next ``sequence``) go down to every linked child.
3. ``send_tallies``: each copy whose ``endTime`` has passed and whose tally is not sent (or must
   be built again: the exclusions changed): the polls room closes its questions, then the
   signed tally and its leaves are built from the stored choices and sent to our linked parent
   in one transaction with ``tally_sent_at`` (so a crash never sends two).
4. ``send_refusals``: each roll or tally refused here: the chapter is sent a ``Reject`` whose
   ``result`` is a signed ``DecisionRefusal`` naming that document (its proof value) and why.
5. ``send_aggregates``: at a level between, once every chapter of its electorate has
   reported or ``tallyDeadline`` has passed, its own signed aggregate goes to its parent.
6. ``decide``: at the issuer, once every chapter has reported or at ``tallyDeadline``, the
   outcome is computed (``deciding``), signed, the proposal's served Question(s) updated as
   a chapter's at close (``closed``, counts, ``votersCount``) with an ``Update`` to the
   followers, and the outcome sent down to every linked child.

Every item runs in its own transaction and its own ``try``: one proposal that fails (a bug, a
document no check foresaw) is logged and tried again after a growing pause, and never
stops the others.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

from federation import jsonio
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
from node.decisions import copy_store, deciding, proposal, received, rolls, sending, store, tallying

log = logging.getLogger("chapterhouse.decisions")


class DecisionWorker:
    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.db, self.urls, self.clock = app[DATABASE], app[URLS], app[CLOCK]
        self.username = app[CONFIG].node.name
        self.loop = WorkerLoop("decisions", self._loop_cycle, idle_seconds=1.0)
        self._failing: dict[tuple[str, str], tuple[int, float]] = {}  # (step, item) -> (failures, next try)

    @property
    def keys(self):
        return self.app[KEYRING][self.username]

    async def _loop_cycle(self) -> int:
        await self.run_single_cycle()
        return 0

    async def run_single_cycle(self) -> int:
        done = 0
        for step in (
            self.send_rolls,
            self.send_exclusions,
            self.send_tallies,
            self.send_refusals,
            self.send_aggregates,
            self.decide,
        ):
            done += await step()
        if done:
            self.app[DELIVERY_WORKER].wake()
        return done

    async def _each(
        self, step: str, items: Iterable[Any], key: Callable[[Any], str], work: Callable[[Any], Awaitable[bool]]
    ) -> int:
        """``work`` for each item, each on its own: a failure is logged and tried later, never blocking the rest."""
        now, done = to_epoch(self.clock.now()), 0
        for item in items:
            name = (step, key(item))
            failures, next_try = self._failing.get(name, (0, 0.0))
            if now < next_try:
                continue
            try:
                done += int(await work(item))
            except Exception:
                log.exception("decisions: %s failed for %s (tried again later; the others go on)", step, name[1])
                self._failing[name] = (failures + 1, now + min(3600.0, 2.0**failures))
            else:
                self._failing.pop(name, None)
        return done

    async def send_rolls(self) -> int:
        now = self.clock.now()

        async def send(copy) -> bool:
            async with self.db.transaction() as conn:
                prop = await store.require_proposal(conn, copy["proposal_id"])
                roll = await tallying.signed_roll(conn, self.urls, self.keys, copy, now)
                await self._to_parent(conn, prop, roll, now)
                await copy_store.mark_roll_sent(conn, copy["proposal_id"], roll)
            return True

        return await self._each("roll", await copy_store.rolls_due(self.db.reader), lambda c: c["proposal_id"], send)

    async def send_exclusions(self) -> int:
        now = self.clock.now()

        async def resolve(prop: store.Proposal) -> bool:
            async with self.db.transaction() as conn:
                excluded = rolls.resolve(await received.shared_entries(conn, prop.id))
                latest = await received.exclusions(conn, prop.id)
                await store.mark_exclusions_due(conn, prop.id, False)
                if excluded == ((latest or {}).get("excluded") or {}):
                    return False
                sequence = (latest["sequence"] if latest else 0) + 1
                unsigned = vocabulary.decision_document(
                    "DecisionExclusions",
                    actor=self.urls.actor(self.username),
                    proposal=prop.id,
                    published=iso(now),
                    sequence=sequence,
                    excluded=excluded,
                )
                document = tallying.sign(self.urls, self.keys, unsigned, now)
                await received.insert_exclusions(conn, prop.id, sequence, document, to_epoch(now))
                await self._to_children(conn, document, now)
            return True

        due = await store.proposals_with_exclusions_due(self.db.reader)
        return await self._each("exclusions", due, lambda p: p.id, resolve)

    async def send_tallies(self) -> int:
        now = self.clock.now()
        due = await copy_store.copies_due(self.db.reader, to_epoch(now))
        if due and POLL_WORKER in self.app:
            await self.app[POLL_WORKER].close_due()

        async def send(copy) -> bool:
            async with self.db.transaction() as conn:
                prop = await store.require_proposal(conn, copy["proposal_id"])
                tally, made = await tallying.signed_tally(conn, self.urls, self.keys, prop.document, copy, now)
                await self._to_parent(conn, prop, tally, now)
                await copy_store.mark_tally_sent(conn, prop.id, tally, made, to_epoch(now))
            return True

        return await self._each("tally", due, lambda c: c["proposal_id"], send)

    async def send_refusals(self) -> int:
        now = self.clock.now()

        async def tell(row) -> bool:
            async with self.db.transaction() as conn:
                refused = jsonio.loads(row["document"])
                unsigned = vocabulary.decision_document(
                    "DecisionRefusal",
                    actor=self.urls.actor(self.username),
                    proposal=row["proposal_id"],
                    published=iso(now),
                    refused=row["refused"],
                    reason=row["reason"],
                )
                refusal = tallying.sign(self.urls, self.keys, unsigned, now)
                await sending.send_refusal(
                    conn, self.urls, self.username, refusal, refused, to=row["chapter"], inbox=row["inbox"], now=now
                )
                await received.mark_refusal_sent(
                    conn, row["proposal_id"], row["chapter"], row["refused"], to_epoch(now)
                )
            return True

        due = await received.refusals_due(self.db.reader)
        return await self._each("refusal", due, lambda r: f"{r['proposal_id']} {r['refused']}", tell)

    async def send_aggregates(self) -> int:
        now = self.clock.now()

        async def send(prop: store.Proposal) -> bool:
            if to_epoch(now) < prop.tally_deadline and not await deciding.all_reported(self.db.reader, prop):
                return False
            async with self.db.transaction() as conn:
                aggregate = await deciding.signed_aggregate(conn, self.urls, self.keys, prop, now)
                await self._to_parent(conn, prop, aggregate, now)
                await store.mark_aggregate_sent(conn, prop.id, to_epoch(now))
            return True

        due = await store.proposals_awaiting_aggregate(self.db.reader, to_epoch(now))
        return await self._each("aggregate", due, lambda p: p.id, send)

    async def decide(self) -> int:
        now = self.clock.now()

        async def decide_one(prop: store.Proposal) -> bool:
            if to_epoch(now) < prop.tally_deadline and not await deciding.all_reported(self.db.reader, prop):
                return False
            async with self.db.transaction() as conn:
                outcome = await deciding.signed_outcome(conn, self.urls, self.keys, prop, now)
                if not await store.set_outcome(conn, prop.id, outcome):
                    return False
                await self._close_served(conn, prop, outcome, now)
                await self._to_children(conn, outcome, now)
            return True

        due = await store.proposals_awaiting_outcome(self.db.reader, to_epoch(now))
        return await self._each("outcome", due, lambda p: p.id, decide_one)

    async def _to_parent(self, conn, prop: store.Proposal, document: dict, now) -> None:
        parent = await links.linked_parent(conn)
        if parent is not None and parent.peer_id == prop.via:
            await sending.send_document(
                conn, self.urls, self.username, document, to=parent.peer_id, inbox=parent.delivery_inbox, now=now
            )

    async def _to_children(self, conn, document: dict, now) -> None:
        for child in await links.children_in_state(conn, "linked"):
            await sending.send_document(
                conn, self.urls, self.username, document, to=child.peer_id, inbox=child.delivery_inbox, now=now
            )

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
