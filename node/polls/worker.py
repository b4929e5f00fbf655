"""The poll worker: closing polls on time, and coalesced ``Update(Question)`` with the counts.

Two kinds of due work on the application's runner (:mod:`node.core.due`; tests step
``run_single_cycle()``, which does both now, with an injectable clock). A question's rows go
through two small graphs, over the columns that already are their state:

``QUESTION`` (``poll_questions.closed_at``)::

    open    (closed_at IS NULL)  -> closed
    closed  (closed_at set, to the endTime)  terminal

``COUNTS`` (``poll_questions.dirty``: whether the served counts went out)::

    sent     (dirty = 0)  -> changed        a ballot was counted, or the question closed
    changed  (dirty = 1)  -> sent, changed  the Update went out (changed: a ballot came meanwhile)

1. ``poll closing``, at each question's ``endTime`` (``close_due``): ``closed`` is set (to the
   ``endTime``; ``model.mark_closed`` moves only an open question), hidden results become
   visible, and the closing ``Update(Question)`` goes out at once, as Mastodon closes a poll
   at its end time. The runner wakes at the next open question's ``endTime`` (read from the
   database, so after a restart too; it waits through the clock, so a test's frozen clock
   wakes it when moved), and is woken when something is published (a new question may close
   sooner);
2. ``poll counts``, every ``[polls] update_interval_seconds`` (``send_counts``): ONE
   ``Update(Question)`` per changed question, carrying the current served document, to the
   question's audience (its followers, and whoever else it is addressed to) and to the inbox
   of every remote voter with a counted ballot. Voters' inboxes are resolved through the
   remote-actor cache before the transaction; the Update is then recorded with its delivery
   rows (:func:`node.core.publish.record`) and the question marked sent in one transaction,
   with the counts read in that same transaction. A voter whose ballot arrived while the
   inboxes were being resolved keeps the question ``changed`` for the next run.

While results are hidden and the poll is open there is nothing to show: the question is marked
sent without sending. Counts go out a whole interval apart, so however many votes arrive, a
question sends at most one counts Update per interval (and one at its close). A question whose
Update fails is logged and tried again after a growing pause; the others go on.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from aiohttp import web

from federation.actors import RemoteActors
from federation.client import FetchError
from node.core import objects, publish, vocabulary
from node.core.appkeys import (
    CLOCK,
    CONFIG,
    DATABASE,
    DUE_RUNNER,
    REGISTRY,
    REMOTE_ACTORS,
    URLS,
)
from node.core.clock import Clock, to_epoch
from node.core.db import Store
from node.core.due import DueKind, DueRunner, StateGraph
from node.core.urls import Urls
from node.polls import model as polls
from outbox import addressing
from outbox.addressing import Audience

log = logging.getLogger("chapterhouse.polls")

QUESTION = StateGraph(
    "a poll question",
    initial="open",
    transitions={"open": ["closed"], "closed": []},
    terminal=["closed"],
    meanings={"open": "closed_at IS NULL", "closed": "closed_at set, to the endTime"},
)
COUNTS = StateGraph(
    "a question's served counts",
    initial="sent",
    transitions={"sent": ["changed"], "changed": ["sent", "changed"]},
    meanings={"sent": "dirty = 0", "changed": "dirty = 1"},
)


class PollWorker:
    def __init__(
        self,
        *,
        db: Store,
        urls: Urls,
        remote_actors: RemoteActors,
        clock: Clock,
        runner: DueRunner,
        interval_seconds: float = 60.0,
        audiences: Mapping[str, Audience] | None = None,
    ) -> None:
        self.db = db
        self.audiences = audiences  # the registry's: who a members-only poll's updates go to
        self.urls = urls
        self.remote_actors = remote_actors
        self.clock = clock
        self.runner = runner
        self.closing = DueKind(
            "poll closing",
            QUESTION,
            due=lambda: polls.questions_due_to_close(self.db.reader, to_epoch(self.clock.now())),
            work=self._close_one,
            key=lambda question: question.id,
            next_due=lambda: polls.next_end_time(self.db.reader),
            worker="polls",
        )
        self.counts = DueKind(
            "poll counts",
            COUNTS,
            due=lambda: polls.dirty_questions(self.db.reader),
            work=self._send_update,
            key=lambda question: question.id,
            every=interval_seconds,
            worker="polls",
        )
        self.kinds = (self.closing, self.counts)

    def wake(self) -> None:
        """Something was published: a new question may close before the runner's next wake-up."""
        self.runner.wake()

    async def run_single_cycle(self) -> int:
        """Close what is due, then send one Update per changed question; the number of Updates sent."""
        return await self.runner.run(self.kinds)

    async def close_due(self) -> int:
        """Close every open question whose ``endTime`` has passed, each with its closing Update."""
        return await self.runner.run([self.closing])

    async def send_counts(self) -> int:
        """One Update per changed question (the coalesced counts); the number sent."""
        return await self.runner.run([self.counts])

    async def _close_one(self, question: polls.Question) -> bool:
        await self._close(question, to_epoch(self.clock.now()))
        closed = await polls.get_question(self.db.reader, question.id)
        return closed is not None and await self._send_update(closed)

    async def _close(self, question: polls.Question, now: float) -> None:
        async with self.db.transaction() as conn:
            await polls.mark_closed(conn, question.id, question.end_time)
            await polls.mark_dirty(conn, question.id)
            await polls.refresh_served(conn, question.id, now)
        log.info("poll %s closed", question.id)

    async def _voter_inboxes(self, voters: list[str]) -> list[str]:
        inboxes: dict[str, None] = {}
        for voter in voters:
            try:
                actor = await self.remote_actors.get_actor(voter)
            except FetchError as error:
                log.info("voter %s of a poll is unreachable, no Update for them: %s", voter, error.reason)
                continue
            if actor.delivery_inbox:
                inboxes.setdefault(actor.delivery_inbox, None)
        return list(inboxes)

    async def _send_update(self, question: polls.Question) -> bool:
        now = to_epoch(self.clock.now())
        stored = await objects.get(self.db.reader, question.id)
        if stored is None or stored.deleted is not None or not question.results_visible_at(now):
            async with self.db.transaction() as conn:
                await polls.mark_update_sent(conn, question.id, now)
            return False
        voters = await polls.remote_voters(self.db.reader, question.id)
        voter_inboxes = await self._voter_inboxes(voters)
        audience = {k: v for k, v in stored.data.items() if k in ("to", "cc")}
        recipients = await addressing.resolve(
            audience,
            db=self.db,
            urls=self.urls,
            username=question.chapter,
            remote_actors=self.remote_actors,
            audiences=self.audiences,
        )
        async with self.db.transaction() as conn:
            document = await polls.refresh_served(conn, question.id, now)
            if document is None:
                return False
            update = vocabulary.activity(
                "Update",
                self.urls,
                actor=self.urls.actor(question.chapter),
                now=self.clock.now(),
                object=document,
                context_value=document.get("@context"),
                **audience,
            )
            await publish.record(
                conn,
                urls=self.urls,
                username=question.chapter,
                activity=update,
                inboxes=recipients.inboxes + voter_inboxes,
                now=now,
            )
            newcomers = set(await polls.remote_voters(conn, question.id)) - set(voters)
            if newcomers:
                await polls.mark_update_sent(conn, question.id, now, still_dirty=True)
            else:
                await polls.mark_update_sent(conn, question.id, now)
        log.info(
            "poll %s: Update sent to %d inboxes (%d voters)",
            question.id,
            len(set(recipients.inboxes + voter_inboxes)),
            len(voters),
        )
        return True


POLL_WORKER: web.AppKey[PollWorker] = web.AppKey("poll_worker", PollWorker)  # the polls room's due work


async def poll_worker_context(app: web.Application) -> AsyncIterator[None]:
    """The application's poll worker (``cleanup_ctx``): its kinds of due work, on the application's runner."""
    poll_worker = PollWorker(
        db=app[DATABASE],
        urls=app[URLS],
        remote_actors=app[REMOTE_ACTORS],
        clock=app[CLOCK],
        runner=app[DUE_RUNNER],
        interval_seconds=app[CONFIG].polls.update_interval_seconds,
        audiences=app[REGISTRY].audiences,
    )
    app[POLL_WORKER] = poll_worker
    app[DUE_RUNNER].add(poll_worker.kinds)
    yield


def wake_for_new_questions(app: web.Application, activity: dict[str, Any]) -> None:
    """A question just published may close before the poll worker's next wake-up."""
    if POLL_WORKER in app:
        app[POLL_WORKER].wake()
