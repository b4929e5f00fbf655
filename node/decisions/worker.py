"""The decisions worker: rolls up, exclusions down, tallies up, refusals, aggregates, the issuer's outcome.

Six kinds of due work on the application's runner (:mod:`node.core.due`; every second in
production, tests step ``run_single_cycle()`` with a frozen clock), in this order, each moving
its rows along the graphs of :mod:`node.decisions.states`:

1. ``decision roll``, a copy ``frozen`` -> ``rolled``: its signed roll is sent to our linked
   parent, so a member on two rolls is resolved while the vote is open.
2. ``decision exclusions`` (at the issuer), a proposal's exclusions ``due`` -> ``settled``: the
   shared members worked out again (``rolls.resolve``); when that changes anything, new signed
   exclusions (the next ``sequence``) go down to every linked child. (A copy whose tally went
   up and whose exclusions then change goes ``tallied`` -> ``rolled``: see ``inbound``.)
3. ``decision tally``, a copy ``rolled`` -> ``tallied`` once its ``endTime`` has passed: the
   polls room closes its questions, then the signed tally and its leaves are built from the
   stored choices and sent to our linked parent in one transaction with the state (so a crash
   never sends two).
4. ``decision refusal``, a refusal ``untold`` -> ``told``: the chapter whose roll or tally was
   refused here is sent a ``Reject`` whose ``result`` is a signed ``DecisionRefusal`` naming
   that document (its proof value) and why.
5. ``decision aggregate``, at a level between, a proposal ``open`` -> ``aggregated``: once
   every chapter of its electorate has reported or ``tallyDeadline`` has passed, its own
   signed aggregate goes to its parent.
6. ``decision outcome``, at the issuer, a proposal ``open`` -> ``decided``: once every chapter
   has reported or at ``tallyDeadline``, the outcome is computed (``deciding``), signed and
   kept, the proposal's served Question(s) updated as a chapter's at close (``closed``,
   counts, ``votersCount``) with an ``Update`` to the followers, and the outcome sent down to
   every linked child.

Every item runs in its own transaction and, on the runner, its own ``try``: one proposal that
fails (a bug, a document no check foresaw) is logged and tried again after a growing pause,
and never stops the others.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from aiohttp import web

from federation import jsonio
from node.branches import link_store
from node.core import follows, objects, publish, vocabulary
from node.core.appkeys import (
    CLOCK,
    CONFIG,
    DATABASE,
    DUE_RUNNER,
    KEYRING,
    URLS,
)
from node.core.clock import iso, to_epoch
from node.core.db import Connection, Row
from node.core.due import DueKind
from node.core.keys import ActorKeys
from node.decisions import copy_store, deciding, documents, proposal, received, rolls, sending, store, tallying
from node.decisions.states import COPY, EXCLUSIONS, PROPOSAL, REFUSAL
from node.polls.worker import POLL_WORKER

log = logging.getLogger("chapterhouse.decisions")


def _by_proposal(row: Row) -> str:
    return str(row["proposal_id"])


def _by_id(prop: store.Proposal) -> str:
    return prop.id


class DecisionWorker:
    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.db, self.urls, self.clock = app[DATABASE], app[URLS], app[CLOCK]
        self.username = app[CONFIG].node.name
        self.runner = app[DUE_RUNNER]
        self.kinds: tuple[DueKind, ...] = (
            DueKind("decision roll", COPY, lambda: copy_store.rolls_due(self.db.reader), self.send_roll, _by_proposal),
            DueKind(
                "decision exclusions",
                EXCLUSIONS,
                lambda: store.proposals_with_exclusions_due(self.db.reader, to_epoch(self.clock.now())),
                self.send_exclusions,
                _by_id,
            ),
            DueKind("decision tally", COPY, self._tallies_due, self.send_tally, _by_proposal),
            DueKind(
                "decision refusal",
                REFUSAL,
                lambda: received.refusals_due(self.db.reader),
                self.send_refusal,
                lambda row: f"{row['proposal_id']} {row['refused']}",
            ),
            DueKind(
                "decision aggregate",
                PROPOSAL,
                lambda: store.proposals_awaiting_aggregate(self.db.reader, to_epoch(self.clock.now())),
                self.send_aggregate,
                _by_id,
            ),
            DueKind(
                "decision outcome",
                PROPOSAL,
                lambda: store.proposals_awaiting_outcome(self.db.reader, to_epoch(self.clock.now())),
                self.decide,
                _by_id,
            ),
        )
        # each belongs to the decisions' worker: a process runs them when given it (node.core.processes)
        self.kinds = tuple(replace(kind, worker="decisions") for kind in self.kinds)

    @property
    def keys(self) -> ActorKeys:
        return self.app[KEYRING][self.username]

    async def run_single_cycle(self) -> int:
        """Each kind once, in order; how many items did something."""
        return await self.runner.run(self.kinds)

    async def send_roll(self, copy: Row) -> bool:
        now = self.clock.now()
        async with self.db.transaction() as conn:
            prop = await store.require_proposal(conn, copy["proposal_id"])
            roll = await tallying.signed_roll(conn, self.urls, self.keys, copy, now)
            await self._to_parent(conn, prop, roll, now)
            await copy_store.mark_roll_sent(conn, copy["proposal_id"], roll)
        return True

    async def send_exclusions(self, prop: store.Proposal) -> bool:
        """Work out the shared members again; send new exclusions when they changed, and at the close
        once more as final (chapters build their tallies on final exclusions)."""
        now = self.clock.now()
        closed = to_epoch(now) >= prop.end_time
        async with self.db.transaction() as conn:
            excluded = rolls.resolve(await received.shared_entries(conn, prop.id, prop.end_time))
            latest = await received.exclusions(conn, prop.id)
            if closed:
                await store.mark_exclusions_final(conn, prop.id)
            else:
                await store.mark_exclusions_due(conn, prop.id, False)
            unchanged = excluded == ((latest or {}).get("excluded") or {})
            if unchanged and (not closed or (latest or {}).get("final") is True):
                return False
            sequence = (latest["sequence"] if latest else 0) + 1
            unsigned = documents.decision_document(
                "DecisionExclusions",
                actor=self.urls.actor(self.username),
                proposal=prop.id,
                published=iso(now),
                sequence=sequence,
                excluded=excluded,
                final=closed,
            )
            document = tallying.sign(self.urls, self.keys, unsigned, now)
            await received.insert_exclusions(conn, prop.id, sequence, document, to_epoch(now))
            await self._to_children(conn, document, now)
        return True

    async def _tallies_due(self) -> list[Row]:
        due = await copy_store.copies_due(self.db.reader, to_epoch(self.clock.now()))
        if due and POLL_WORKER in self.app:
            await self.app[POLL_WORKER].close_due()  # the copy's questions close first, with their Updates
        return due

    async def send_tally(self, copy: Row) -> bool:
        now = self.clock.now()
        async with self.db.transaction() as conn:
            prop = await store.require_proposal(conn, copy["proposal_id"])
            tally, made = await tallying.signed_tally(conn, self.urls, self.keys, prop.document, copy, now)
            await self._to_parent(conn, prop, tally, now)
            await copy_store.mark_tally_sent(conn, prop.id, tally, made, to_epoch(now))
        return True

    async def send_refusal(self, row: Row) -> bool:
        now = self.clock.now()
        async with self.db.transaction() as conn:
            refused = jsonio.loads(row["document"])
            unsigned = documents.decision_document(
                "DecisionRefusal",
                actor=self.urls.actor(self.username),
                proposal=row["proposal_id"],
                published=iso(now),
                refused=row["refused"],
                reason=row["reason"],
            )
            refusal = tallying.sign(self.urls, self.keys, unsigned, now)
            await sending.send_refusal(
                conn, self.urls, self.username, refusal, refused, to=row["peer"], inbox=row["inbox"], now=now
            )
            await received.mark_refusal_sent(conn, row["proposal_id"], row["chapter"], row["refused"], to_epoch(now))
        return True

    async def send_aggregate(self, prop: store.Proposal) -> bool:
        now = self.clock.now()
        if to_epoch(now) < prop.tally_deadline and not await deciding.all_reported(self.db.reader, prop):
            return False
        async with self.db.transaction() as conn:
            aggregate = await deciding.signed_aggregate(conn, self.urls, self.keys, prop, now)
            await self._to_parent(conn, prop, aggregate, now)
            await store.mark_aggregate_sent(conn, prop.id, to_epoch(now))
        return True

    async def decide(self, prop: store.Proposal) -> bool:
        now = self.clock.now()
        if to_epoch(now) < prop.tally_deadline and not await deciding.all_reported(self.db.reader, prop):
            return False
        async with self.db.transaction() as conn:
            outcome = await deciding.signed_outcome(conn, self.urls, self.keys, prop, now)
            if not await store.mark_decided(conn, prop.id, outcome):
                return False
            await self._close_served(conn, prop, outcome, now)
            await self._to_children(conn, outcome, now)
        return True

    async def _to_parent(self, conn: Connection, prop: store.Proposal, document: dict[str, Any], now: datetime) -> None:
        parent = await link_store.linked_parent(conn)
        if parent is not None and parent.peer_id == prop.via:
            await sending.send_document(
                conn, self.urls, self.username, document, to=parent.peer_id, inbox=parent.delivery_inbox, now=now
            )

    async def _to_children(self, conn: Connection, document: dict[str, Any], now: datetime) -> None:
        for child in await link_store.children_in_state(conn, "linked"):
            await sending.send_document(
                conn, self.urls, self.username, document, to=child.peer_id, inbox=child.delivery_inbox, now=now
            )

    async def _close_served(
        self, conn: Connection, prop: store.Proposal, outcome: dict[str, Any], now: datetime
    ) -> None:
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


DECISION_WORKER: web.AppKey[DecisionWorker] = web.AppKey("decision_worker", DecisionWorker)  # tallies up, outcomes down


async def decision_worker_context(app: web.Application) -> AsyncIterator[None]:
    """The application's decisions worker (``cleanup_ctx``): its kinds of due work, on the application's
    runner, after the poll worker's (it asks that one to close copies)."""
    worker = DecisionWorker(app)
    app[DECISION_WORKER] = worker
    app[DUE_RUNNER].add(worker.kinds)
    yield
