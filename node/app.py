"""``make_app(config)``: the node as an aiohttp application.

Resources are opened and closed by ``cleanup_ctx`` in dependency order: the database (and
migrations) with the local keys; the admin's blocks and the inbox rate limits; a
``ClientSession`` for deliveries and one for fetches (two connection pools, so neither starves
the other) with their federation client and the remote-actor cache (its key fetches bounded
by :class:`federation.fetchgate.KeyFetchGate`); the inbox and
delivery workers and the poll worker; then the inbox intake (group commit of received
activities; it runs even when the workers are not started). Nothing happens at import time. ``start_workers=False``
lets tests step the workers one cycle at a time (``run_single_cycle``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from federation.actors import RemoteActors
from federation.client import FederationClient, make_session
from federation.fetchgate import KeyFetchGate
from inbox import views as inbox_views
from inbox import votes
from inbox.intake import InboxIntake
from inbox.ratelimit import InboxLimits
from inbox.worker import InboxWorker
from node import activitypub, admin_api, content, discovery, metrics, pages, pages_members, pages_polls
from node import web as web_pages
from node.actors import local_usernames, signer_for
from node.appkeys import (BLOCKLIST, CLOCK, CONFIG, DATABASE, DELIVERY_WORKER, FEDERATION_CLIENT, INBOX_INTAKE,
                          INBOX_LIMITS, INBOX_WORKER, KEYRING, POLL_WORKER, REMOTE_ACTORS, SIGN_IN_LIMITS, URLS)
from node.blocks import BlockList
from node.clock import Clock
from node.config import Config
from node.db import Database, fetch_value
from node.errors import error_middleware
from node.keys import load_or_create_keys
from node.poll_worker import PollWorker
from node.serving import body_deadline_middleware
from node.throttle import SignInLimits
from node.urls import INSTANCE_USERNAME, Urls
from outbox import moderation as outbox_moderation
from outbox import polls as outbox_polls
from outbox import views as outbox_views
from outbox.delivery import DeliveryWorker

log = logging.getLogger("chapterhouse")


async def _database(app: web.Application) -> AsyncIterator[None]:
    db = Database(app[CONFIG].storage.database)
    await db.open()
    app[DATABASE] = db
    app[KEYRING] = await load_or_create_keys(db, local_usernames(app[CONFIG]), app[CLOCK].now())
    yield
    await db.close()


async def _moderation(app: web.Application) -> AsyncIterator[None]:
    """The admin's blocks (in memory for every request's check), the inbox rate limits and the
    sign-in and sign-up throttles."""
    blocklist = BlockList()
    await blocklist.load(app[DATABASE])
    app[BLOCKLIST] = blocklist
    app[INBOX_LIMITS] = InboxLimits.from_config(app[CONFIG].federation)
    app[SIGN_IN_LIMITS] = SignInLimits.from_config(app[CONFIG].accounts)
    yield


def _blocked_reason(blocklist: BlockList):
    def refuse(url: str) -> str | None:
        return "the admin of this node blocked that host or actor" if blocklist.url_blocked(url) else None

    return refuse


async def _federation(app: web.Application) -> AsyncIterator[None]:
    fed = app[CONFIG].federation
    session = make_session(allow_private=fed.allow_private_addresses, allowed_networks=fed.networks,
                           user_agent=fed.user_agent, concurrency=fed.delivery_concurrency)
    fetch_session = make_session(allow_private=fed.allow_private_addresses, allowed_networks=fed.networks,
                                 user_agent=fed.user_agent, concurrency=fed.key_fetches_total)
    client = FederationClient(session, clock=app[CLOCK], allow_private=fed.allow_private_addresses,
                              allowed_networks=fed.networks, max_fetch_bytes=fed.max_fetch_bytes,
                              fetch_timeout=fed.fetch_timeout_seconds, delivery_timeout=fed.delivery_timeout_seconds,
                              refuse=_blocked_reason(app[BLOCKLIST]), fetch_session=fetch_session)
    app[FEDERATION_CLIENT] = client
    instance_signer = signer_for(app[URLS], app[KEYRING][INSTANCE_USERNAME])
    app[REMOTE_ACTORS] = RemoteActors(app[DATABASE], client, instance_signer, app[CLOCK],
                                      gate=KeyFetchGate.from_config(fed))
    yield
    await session.close()
    await fetch_session.close()


def _workers(start: bool):
    async def workers(app: web.Application) -> AsyncIterator[None]:
        delivery = DeliveryWorker(db=app[DATABASE], client=app[FEDERATION_CLIENT], keyring=app[KEYRING],
                                  urls=app[URLS], clock=app[CLOCK],
                                  concurrency=app[CONFIG].federation.delivery_concurrency)
        await delivery.load_paused_hosts()
        inbox = InboxWorker(db=app[DATABASE], config=app[CONFIG], urls=app[URLS], remote_actors=app[REMOTE_ACTORS],
                            clock=app[CLOCK], on_deliveries_queued=delivery.wake)
        app[DELIVERY_WORKER], app[INBOX_WORKER] = delivery, inbox
        await delivery.release_leases()  # this process is the only writer: any lease left is a dead one's
        await inbox.release_leases()
        if start:
            delivery.loop.start()
            inbox.loop.start()
        yield
        await inbox.loop.stop()
        await delivery.loop.stop()

    return workers


def _poll_worker(start: bool):
    """Coalesced Update(Question) and closing polls on time (node/poll_worker.py)."""
    async def poll_worker(app: web.Application) -> AsyncIterator[None]:
        worker = PollWorker(db=app[DATABASE], urls=app[URLS], remote_actors=app[REMOTE_ACTORS], clock=app[CLOCK],
                            on_deliveries_queued=app[DELIVERY_WORKER].wake,
                            interval_seconds=app[CONFIG].polls.update_interval_seconds)
        app[POLL_WORKER] = worker
        if start:
            worker.loop.start()
        yield
        await worker.loop.stop()

    return poll_worker


async def _intake(app: web.Application) -> AsyncIterator[None]:
    intake = InboxIntake(app[DATABASE], on_committed=app[INBOX_WORKER].wake, parsed=app[INBOX_WORKER].parsed)
    app[INBOX_INTAKE] = intake
    intake.start()
    yield
    await intake.stop()


async def healthz(request: web.Request) -> web.Response:
    await fetch_value(request.app[DATABASE].reader, "SELECT 1")
    return web.json_response({"status": "ok"})


def make_app(config: Config, *, clock: Clock | None = None, start_workers: bool = True) -> web.Application:
    app = web.Application(middlewares=[metrics.metrics_middleware, error_middleware, body_deadline_middleware],
                          client_max_size=config.federation.max_body_bytes)
    app[CONFIG] = config
    app[CLOCK] = clock or Clock()
    app[URLS] = Urls(config.node.base_url)
    app.cleanup_ctx.extend([_database, _moderation, _federation, _workers(start_workers), _poll_worker(start_workers), _intake])
    outbox_polls.register()  # Question and Survey in the outbox's dispatch tables
    votes.register()  # votes: replies to a Question
    outbox_moderation.register()  # Block, Undo(Block) and Flag in the outbox
    web_pages.setup(app)
    discovery.add_routes(app)
    activitypub.add_routes(app)
    inbox_views.add_routes(app)
    outbox_views.add_routes(app)
    pages.add_routes(app)
    pages_members.add_routes(app)
    pages_polls.add_routes(app)
    content.install(app)  # news, minutes, events, replies, likes and boosts (issue 3)
    admin_api.add_routes(app)
    metrics.add_routes(app)
    app.router.add_get("/healthz", healthz)
    return app
