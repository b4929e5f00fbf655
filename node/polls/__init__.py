"""Polls and surveys: Mastodon-votable ``Question``s, a ``Survey`` of them, one counting code.

Flow: an admin or secretary publishes a Question or a Survey (``outbound``: C2S or the
pages), each Question delivered as ``Create(Question)`` attributed to the chapter (votes go
to a poll's author); members vote from Mastodon (``inbound``: a ``Create(Note)`` whose
``name`` is an option and whose ``inReplyTo`` is the Question, in Mastodon's and Takahē's
shapes) or on the poll's page (``pages``); :func:`node.polls.model.count_ballot` counts
both by the same rules (active members, first ballot, before close; refused ballots kept
with their reason); the ``worker`` sends coalesced ``Update(Question)``s with the counts and
closes each poll at its end; ``results`` builds the results documents; ``listing`` puts open
polls (with their vote buttons) and closed ones (with result bars) on the home page and ``/polls``.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from node.core.i18n import N_
from node.core.registry import Registry
from node.polls import inbound, listing, model, outbound, pages, schema, worker


def register(registry: Registry) -> None:
    registry.feature("polls", templates=Path(__file__).parent / "templates", migrations=schema.MIGRATIONS)
    inbound.register(registry)
    outbound.register(registry)
    pages.register(registry)
    registry.after_published.append(worker.wake_for_new_questions)
    registry.local_vote = model.cast_local_vote
    registry.home_parts.append(listing.home_parts)
    registry.nav_links.append((50, "/polls", N_("Polls")))
    registry.compose_links.extend([(50, "/polls/new", N_("A poll")), (60, "/surveys/new", N_("A survey"))])


def setup(app: web.Application) -> None:
    pages.add_routes(app)
    listing.add_routes(app)
    app.cleanup_ctx.append(worker.poll_worker_context)
