"""``make_app(config)``: the node as an aiohttp application.

Resources are opened and closed by ``cleanup_ctx`` in dependency order: the database (and
migrations), the local keys, the one ``ClientSession`` with its federation client and the
remote-actor cache, then the two workers. Nothing happens at import time. ``start_workers=False``
lets tests step the workers one cycle at a time (``run_single_cycle``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from federation.actors import RemoteActors
from federation.client import FederationClient, make_session
from inbox import views as inbox_views
from inbox.worker import InboxWorker
from node import activitypub, discovery, pages, web as web_pages
from node.actors import local_usernames, signer_for
from node.appkeys import (CLOCK, CONFIG, DATABASE, DELIVERY_WORKER, FEDERATION_CLIENT, INBOX_WORKER, KEYRING,
                          REMOTE_ACTORS, URLS)
from node.clock import Clock
from node.config import Config
from node.db import Database
from node.errors import error_middleware
from node.keys import load_or_create_keys
from node.urls import INSTANCE_USERNAME, Urls
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


async def _federation(app: web.Application) -> AsyncIterator[None]:
    fed = app[CONFIG].federation
    session = make_session(allow_private=fed.allow_private_addresses, user_agent=fed.user_agent,
                           concurrency=fed.delivery_concurrency)
    client = FederationClient(session, clock=app[CLOCK], allow_private=fed.allow_private_addresses,
                              max_fetch_bytes=fed.max_fetch_bytes, fetch_timeout=fed.fetch_timeout_seconds,
                              delivery_timeout=fed.delivery_timeout_seconds)
    app[FEDERATION_CLIENT] = client
    instance_signer = signer_for(app[URLS], app[KEYRING][INSTANCE_USERNAME])
    app[REMOTE_ACTORS] = RemoteActors(app[DATABASE], client, instance_signer, app[CLOCK])
    yield
    await session.close()


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


async def healthz(request: web.Request) -> web.Response:
    await request.app[DATABASE].reader.execute("SELECT 1")
    return web.json_response({"status": "ok"})


def make_app(config: Config, *, clock: Clock | None = None, start_workers: bool = True) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=config.federation.max_body_bytes)
    app[CONFIG] = config
    app[CLOCK] = clock or Clock()
    app[URLS] = Urls(config.node.base_url)
    app.cleanup_ctx.extend([_database, _federation, _workers(start_workers)])
    web_pages.setup(app)
    discovery.add_routes(app)
    activitypub.add_routes(app)
    inbox_views.add_routes(app)
    outbox_views.add_routes(app)
    pages.add_routes(app)
    app.router.add_get("/healthz", healthz)
    return app
