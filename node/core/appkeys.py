"""The shared ground's typed application keys (the pipelines', the store's, the web shell's).

A room's own keys live in the room that owns them (``node.polls.worker.POLL_WORKER``,
``node.decisions.worker.DECISION_WORKER``, ``node.branches.report_sending.BRANCH_REPORTER``,
``node.membership.sessions.VIEWER``, ``node.membership.throttle.SIGN_IN_LIMITS``): the core
names no feature.

Handlers read what they need with ``request.app[KEY]``; there is no service locator object.
Types from other packages are named only for type checkers, so importing this module
imports nothing but aiohttp.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:  # pragma: no cover
    from collections import Counter

    from federation.actors import RemoteActors
    from federation.client import FederationClient
    from federation.verification import VerifiedSigner
    from inbox.intake import InboxIntake
    from inbox.ratelimit import InboxLimits
    from inbox.worker import InboxWorker
    from node.core.clock import Clock
    from node.core.config import Config
    from node.core.db import Store
    from node.core.due import DueRunner
    from node.core.i18n import Language, Languages
    from node.core.keys import KeyRing
    from node.core.ports import Blocks, HostIsBack
    from node.core.registry import Registry
    from node.core.urls import Urls
    from node.web.guard import ConnectionGuard
    from outbox.delivery import DeliveryWorker

CONFIG: web.AppKey[Config] = web.AppKey("config")
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
URLS: web.AppKey[Urls] = web.AppKey("urls")
REGISTRY: web.AppKey[Registry] = web.AppKey("registry")  # what runs: handlers, composers, hooks
# the workers this process starts (node.core.processes); none: tests step them one cycle at a time
WORKERS: web.AppKey[frozenset[str]] = web.AppKey("workers")
DATABASE: web.AppKey[Store] = web.AppKey("database")
KEYRING: web.AppKey[KeyRing] = web.AppKey("keyring")
FEDERATION_CLIENT: web.AppKey[FederationClient] = web.AppKey("federation_client")
REMOTE_ACTORS: web.AppKey[RemoteActors] = web.AppKey("remote_actors")
INBOX_WORKER: web.AppKey[InboxWorker] = web.AppKey("inbox_worker")
INBOX_INTAKE: web.AppKey[InboxIntake] = web.AppKey("inbox_intake")
DELIVERY_WORKER: web.AppKey[DeliveryWorker] = web.AppKey("delivery_worker")
DUE_RUNNER: web.AppKey[DueRunner] = web.AppKey("due_runner")  # the rooms' kinds of due work, one loop
BLOCKLIST: web.AppKey[Blocks] = web.AppKey("blocklist")  # the moderation room's BlockList
HOST_IS_BACK: web.AppKey[HostIsBack] = web.AppKey("host_is_back")  # inbox -> the delivery worker's resume
INBOX_LIMITS: web.AppKey[InboxLimits] = web.AppKey("inbox_limits")
CONNECTION_GUARD: web.AppKey[ConnectionGuard] = web.AppKey("connection_guard")  # set by node.web.guard.GuardedRunner
LANGUAGES: web.AppKey[Languages] = web.AppKey("languages")  # the compiled catalogs (node.core.i18n)
REQUEST_TALLY: web.AppKey[Counter[tuple[str, str]]] = web.AppKey("request_tally")  # (route kind, status) -> count

# Per-request storage
SIGNER: web.RequestKey[VerifiedSigner | None] = web.RequestKey("signer")  # who signed a GET, verified once
LANGUAGE: web.RequestKey[Language] = web.RequestKey("language")  # the reader's, negotiated once
