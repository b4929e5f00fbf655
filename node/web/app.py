"""``make_app(config)``: the node as an aiohttp application.

Resources are opened and closed by ``cleanup_ctx`` in dependency order: the database (and
migrations) with the local keys; the admin's blocks and the inbox rate limits; a
``ClientSession`` for deliveries and one for fetches (two connection pools, so neither starves
the other) with their federation client and the remote-actor cache (its key fetches bounded
by :class:`federation.fetchgate.KeyFetchGate`); the inbox and delivery workers and the runner of
due work (:mod:`node.core.due`); then each room's own background work (the kinds of due work of
the polls, the branch tree's reporter and the decisions, added to that runner) and the inbox intake (group commit of received
activities; it runs even when the workers are not started). Nothing happens at import time. ``start_workers``
names the workers this process runs (:mod:`node.core.processes`: all of them for ``chapterhouse
serve``, some for ``chapterhouse worker --only`` on PostgreSQL); ``start_workers=False`` lets tests
step the workers one cycle at a time (``run_single_cycle``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol

from aiohttp import web

from federation.actors import RemoteActors
from federation.client import FederationClient, make_session
from federation.fetchgate import KeyFetchGate
from inbox import handlers as inbox_handlers
from inbox import views as inbox_views
from inbox.intake import InboxIntake
from inbox.ratelimit import InboxLimits
from inbox.worker import InboxWorker
from node import branches, content, decisions, membership, moderation, polls, projects
from node.core import processes, rendering, retention
from node.core import schema as core_schema
from node.core.actors import local_usernames, signer_for
from node.core.appkeys import (
    BLOCKLIST,
    CLOCK,
    CONFIG,
    DATABASE,
    DELIVERY_WORKER,
    DUE_RUNNER,
    FEDERATION_CLIENT,
    HOST_IS_BACK,
    INBOX_INTAKE,
    INBOX_LIMITS,
    INBOX_WORKER,
    KEYRING,
    REGISTRY,
    REMOTE_ACTORS,
    URLS,
    WORKERS,
)
from node.core.clock import Clock, to_epoch
from node.core.config import Config
from node.core.db import SQLITE, fetch_value, make_store
from node.core.due import DueRunner
from node.core.errors import error_middleware
from node.core.keys import load_or_create_keys
from node.core.migrations import Migration
from node.core.ports import Blocks
from node.core.processes import (
    BLOCKS_CHANNEL,
    DELIVERY_CHANNEL,
    DUE_CHANNEL,
    DUE_WORKERS,
    INBOX_CHANNEL,
    PAUSED_HOSTS_SECONDS,
    Coalesced,
    announcer,
    on_notifications,
    workers_of,
)
from node.core.registry import Registry
from node.core.remote_actors import RemoteActorStore
from node.core.urls import INSTANCE_USERNAME, Urls
from node.membership.throttle import SIGN_IN_LIMITS, SignInLimits
from node.moderation.blocks import BlockList
from node.web import activitypub, admin, discovery, metrics, pages, settings, site
from node.web.guard import body_deadline_middleware
from outbox import compose as outbox_compose
from outbox import views as outbox_views
from outbox.delivery import DeliveryWorker

WEB_TEMPLATES = Path(__file__).parent / "templates"


class Feature(Protocol):
    """A room of the house: it fills the registry, then adds its routes and background work."""

    def register(self, registry: Registry) -> None: ...

    def setup(self, app: web.Application) -> None: ...


# Rooms every node has: the pages need membership's sessions, the inbox the moderation's blocks.
REQUIRED_FEATURES: tuple[Feature, ...] = (membership, moderation)
# The rooms a node runs beyond those, in the order they register (a later one may extend an
# earlier one's tables); a test may run fewer.
DEFAULT_FEATURES: tuple[Feature, ...] = (polls, content, branches, decisions, projects)


def build_registry(features: Sequence[Feature] = DEFAULT_FEATURES) -> Registry:
    """The pipelines' own handlers and composers, then each room's, in one new registry."""
    registry = Registry()
    registry.feature("core", migrations=core_schema.MIGRATIONS)
    registry.feature("web", templates=WEB_TEMPLATES, migrations=settings.MIGRATIONS)
    admin.register_sections(registry)
    registry.profile_context.append(settings.home_context)
    inbox_handlers.register(registry)
    outbox_compose.register(registry)
    for feature in (*REQUIRED_FEATURES, *features):
        feature.register(registry)
    return registry


def all_migrations() -> list[Migration]:
    """Every migration of a node with the default features (for tools and tests that open a database)."""
    return build_registry().migrations


log = logging.getLogger("chapterhouse")


async def _database(app: web.Application) -> AsyncIterator[None]:
    db = make_store(app[CONFIG].storage, app[REGISTRY].migrations)
    opened_at = to_epoch(app[CLOCK].now())  # before it opens: the other processes' claims all come later
    await db.open()
    app[DATABASE] = db
    if db.first_process:  # no other process has the store open: any lease left is a dead one's
        await processes.release_dead_leases(db, app[CONFIG].federation, now=opened_at)
    app[KEYRING] = await load_or_create_keys(db, local_usernames(app[CONFIG]), app[CLOCK].now())
    yield
    await db.close()


async def _moderation(app: web.Application) -> AsyncIterator[None]:
    """The admin's blocks (in memory for every request's check; reloaded when another process
    changes them), the inbox rate limits and the sign-in and sign-up throttles (this process's own:
    :mod:`node.core.processes`)."""
    blocklist = BlockList()
    await blocklist.load(app[DATABASE])
    app[BLOCKLIST] = blocklist
    reload = Coalesced("reload blocks", lambda: blocklist.load(app[DATABASE]))
    await on_notifications(app[DATABASE], {BLOCKS_CHANNEL: reload})
    app[INBOX_LIMITS] = InboxLimits.from_config(app[CONFIG].federation)
    app[SIGN_IN_LIMITS] = SignInLimits.from_config(app[CONFIG].accounts)
    yield
    await reload.close()


def _blocked_reason(blocklist: Blocks) -> Callable[[str], str | None]:
    def refuse(url: str) -> str | None:
        return "the admin of this node blocked that host or actor" if blocklist.url_blocked(url) else None

    return refuse


async def _federation(app: web.Application) -> AsyncIterator[None]:
    fed = app[CONFIG].federation
    session = make_session(
        allow_private=fed.allow_private_addresses,
        allowed_networks=fed.networks,
        user_agent=fed.user_agent,
        concurrency=fed.delivery_concurrency,
    )
    fetch_session = make_session(
        allow_private=fed.allow_private_addresses,
        allowed_networks=fed.networks,
        user_agent=fed.user_agent,
        concurrency=fed.key_fetches_total,
    )
    client = FederationClient(
        session,
        clock=app[CLOCK],
        allow_private=fed.allow_private_addresses,
        allowed_networks=fed.networks,
        max_fetch_bytes=fed.max_fetch_bytes,
        fetch_timeout=fed.fetch_timeout_seconds,
        delivery_timeout=fed.delivery_timeout_seconds,
        refuse=_blocked_reason(app[BLOCKLIST]),
        fetch_session=fetch_session,
    )
    app[FEDERATION_CLIENT] = client
    instance_signer = signer_for(app[URLS], app[KEYRING][INSTANCE_USERNAME])
    gate = KeyFetchGate.from_config(fed)
    app[REMOTE_ACTORS] = RemoteActors(RemoteActorStore(app[DATABASE]), client, instance_signer, app[CLOCK], gate=gate)
    yield
    await gate.close()  # key fetches outlive the requests that asked (shielded): end them first
    await session.close()
    await fetch_session.close()


async def _workers(app: web.Application) -> AsyncIterator[None]:
    """The inbox and delivery workers and the runner of due work, made in every process (tests step
    them); the loops of this process's ``app[WORKERS]`` started, and woken by the other processes'
    notifications (PostgreSQL; :mod:`node.core.processes`)."""
    db, config, workers = app[DATABASE], app[CONFIG], app[WORKERS]
    announcers = {channel: announcer(db, channel) for channel in (INBOX_CHANNEL, DELIVERY_CHANNEL, DUE_CHANNEL)}
    delivery = DeliveryWorker(
        db=db,
        client=app[FEDERATION_CLIENT],
        keyring=app[KEYRING],
        urls=app[URLS],
        clock=app[CLOCK],
        concurrency=config.federation.delivery_concurrency,
        lease_seconds=config.federation.delivery_lease_seconds,
        announce=announcers[DELIVERY_CHANNEL],
        paused_hosts_seconds=None if db.dialect == SQLITE else PAUSED_HOSTS_SECONDS,
    )
    await delivery.load_paused_hosts()
    inbox = InboxWorker(
        db=db,
        config=config,
        urls=app[URLS],
        remote_actors=app[REMOTE_ACTORS],
        clock=app[CLOCK],
        registry=app[REGISTRY],
        on_deliveries_queued=delivery.wake,
        lease_seconds=config.federation.inbox_lease_seconds,
        announce=announcers[INBOX_CHANNEL],
    )
    app[DELIVERY_WORKER], app[INBOX_WORKER] = delivery, inbox
    app[HOST_IS_BACK] = delivery.host_is_back  # the inbox's word that a paused host is back (node.core.ports)
    app[DUE_RUNNER] = due = DueRunner(  # the rooms add their kinds
        app[CLOCK],
        on_done=delivery.wake,
        exclusive=db.exclusive,
        workers=workers & DUE_WORKERS,
        announce=announcers[DUE_CHANNEL],
    )
    loops = {INBOX_CHANNEL: inbox.loop, DELIVERY_CHANNEL: delivery.loop, DUE_CHANNEL: due.loop}
    started = {channel: loop for channel, loop in loops.items() if _runs(workers, channel)}
    for loop in started.values():
        loop.start()
    await on_notifications(db, {channel: loop.wake for channel, loop in started.items()})
    yield
    for loop in reversed(loops.values()):
        await loop.stop()
    for notify in announcers.values():
        if notify is not None:
            await notify.close()


def _runs(workers: frozenset[str], channel: str) -> bool:
    """Whether a process given ``workers`` runs the loop woken on ``channel``."""
    return bool(workers & DUE_WORKERS) if channel == DUE_CHANNEL else channel in workers


async def _intake(app: web.Application) -> AsyncIterator[None]:
    # the parsed activities are kept for this process's inbox worker; on PostgreSQL, only if it runs one
    keep_parsed = app[DATABASE].dialect == SQLITE or "inbox" in app[WORKERS]
    intake = InboxIntake(
        app[DATABASE], on_committed=app[INBOX_WORKER].wake, parsed=app[INBOX_WORKER].parsed if keep_parsed else None
    )
    app[INBOX_INTAKE] = intake
    intake.start()
    yield
    await intake.stop()


async def healthz(request: web.Request) -> web.Response:
    await fetch_value(request.app[DATABASE].reader, "SELECT 1")
    return web.json_response({"status": "ok"})


def make_app(
    config: Config,
    *,
    clock: Clock | None = None,
    start_workers: bool | Iterable[str] = True,
    features: Sequence[Feature] = DEFAULT_FEATURES,
    process_name: str | None = None,
) -> web.Application:
    """The node as an application; ``features`` lets a test run only the rooms it needs. ``start_workers``:
    the workers this process runs (names of :data:`node.core.processes.WORKER_NAMES`; True: all,
    False: none, each made but not started); ``process_name`` names it in the metrics."""
    app = web.Application(
        middlewares=[metrics.metrics_middleware, error_middleware, body_deadline_middleware],
        client_max_size=config.federation.max_body_bytes,
    )
    app[CONFIG] = config
    app[CLOCK] = clock or Clock()
    app[URLS] = Urls(config.node.base_url)
    app[REGISTRY] = build_registry(features)
    app[WORKERS] = workers = workers_of(start_workers)
    app[metrics.PROCESS_NAME] = metrics.ProcessName(
        process_name or processes.process_name("web"), processes.describe(workers)
    )
    app.cleanup_ctx.extend([_database, _moderation, _federation, _workers, _intake])
    retention.setup(app)  # processed and delivered rows past [storage] retention, pruned in the background
    rendering.setup(app)
    discovery.add_routes(app)
    activitypub.add_routes(app)
    inbox_views.add_routes(app)
    outbox_views.add_routes(app)
    pages.add_routes(app)
    site.add_routes(app)
    admin.add_routes(app)
    for feature in (*REQUIRED_FEATURES, *features):
        feature.setup(app)  # routes, and background work opened after the pipelines
    metrics.add_routes(app)
    app.router.add_get("/healthz", healthz)
    return app
