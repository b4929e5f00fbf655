"""Prometheus metrics at ``/metrics`` (admin token): traffic, queues, delivery outcomes, backoff.

Nothing is global: the node keeps plain tallies in memory (HTTP requests by route and
status, counted by :func:`metrics_middleware`; delivery outcomes, counted by the delivery
worker), and each scrape builds a fresh registry from them and from the queue depths read
from the database at that moment. Several nodes in one process (the tests) never mix.

- ``chapterhouse_http_requests_total{route, status}``: the inbox rate is
  ``rate(chapterhouse_http_requests_total{route="inbox", status="202"}[5m])``.
- ``chapterhouse_inbox_items{state}``, ``chapterhouse_deliveries{state}``: queue depths.
- ``chapterhouse_delivery_outcomes_total{outcome, status}``: done, retry, dead.
- ``chapterhouse_hosts_in_backoff``: hosts whose deliveries are paused.
- ``chapterhouse_process_info{process, workers}``: always 1; names the process that answered
  (``web-<pid>``, ``worker-<pid>`` or ``chapterhouse worker --name``) and the workers it runs.

Several processes (PostgreSQL, :mod:`node.core.processes`): the requests and delivery outcomes
are each process's own (scrape every process and sum), the queue depths the node's (read from
the shared database, the same in every process). A ``chapterhouse worker`` answers ``/metrics``
on ``--metrics-listen`` (:func:`metrics_only_app`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from node.core import deliveries as outbox_store
from node.core import inbox_items as inbox_store
from node.core.appkeys import CLOCK, CONFIG, DATABASE, DELIVERY_WORKER, REQUEST_TALLY
from node.core.auth import require_admin
from node.core.clock import to_epoch
from node.core.errors import error_middleware

ROUTE_KINDS = (
    ("/inbox", "inbox"),
    ("/outbox", "outbox"),
    ("/.well-known/", "discovery"),
    ("/nodeinfo/", "discovery"),
    ("/objects/", "objects"),
    ("/activities/", "objects"),
    ("/users/", "actors"),
    ("/actor", "actors"),
    ("/admin/", "admin"),
    ("/metrics", "metrics"),
    ("/healthz", "health"),
)


@dataclass(frozen=True)
class ProcessName:
    """Which process this is, for ``chapterhouse_process_info``."""

    name: str
    workers: str  # the workers it runs, as ``--workers`` names them


PROCESS_NAME: web.AppKey[ProcessName] = web.AppKey("process_name", ProcessName)


def route_kind(path: str) -> str:
    if path.endswith("/inbox") or path == "/inbox":
        return "inbox"
    if path.endswith("/outbox"):
        return "outbox"
    return next((kind for prefix, kind in ROUTE_KINDS if path.startswith(prefix)), "pages")


@web.middleware
async def metrics_middleware(request: web.Request, handler):
    try:
        response = await handler(request)  # errors became JSON responses in the inner middleware
    except web.HTTPException as raised:  # redirects travel as exceptions
        request.app[REQUEST_TALLY][(route_kind(request.path), str(raised.status))] += 1
        raise
    request.app[REQUEST_TALLY][(route_kind(request.path), str(response.status))] += 1
    return response


class _Snapshot:
    def __init__(
        self, requests: Counter, outcomes: Counter, inbox: dict, deliveries: dict, backoff: int, process: ProcessName
    ) -> None:
        self.requests, self.outcomes, self.inbox, self.deliveries, self.backoff = (
            requests,
            outcomes,
            inbox,
            deliveries,
            backoff,
        )
        self.process = process

    def collect(self):
        requests = CounterMetricFamily(
            "chapterhouse_http_requests", "HTTP requests answered", labels=["route", "status"]
        )
        for (route, status), count in sorted(self.requests.items()):
            requests.add_metric([route, status], count)
        outcomes = CounterMetricFamily(
            "chapterhouse_delivery_outcomes", "Delivery attempts by outcome", labels=["outcome", "status"]
        )
        for (outcome, status), count in sorted(self.outcomes.items()):
            outcomes.add_metric([outcome, status], count)
        inbox = GaugeMetricFamily("chapterhouse_inbox_items", "Received activities by state", labels=["state"])
        for state in ("queued", "done", "dead"):
            inbox.add_metric([state], self.inbox.get(state, 0))
        deliveries = GaugeMetricFamily("chapterhouse_deliveries", "Deliveries by state", labels=["state"])
        for state in ("queued", "done", "dead"):
            deliveries.add_metric([state], self.deliveries.get(state, 0))
        yield from (
            requests,
            outcomes,
            inbox,
            deliveries,
            GaugeMetricFamily("chapterhouse_hosts_in_backoff", "Hosts whose deliveries are paused", value=self.backoff),
        )
        info = GaugeMetricFamily(
            "chapterhouse_process_info", "The process that answered, and its workers", labels=["process", "workers"]
        )
        info.add_metric([self.process.name, self.process.workers], 1)
        yield info


async def metrics_view(request: web.Request) -> web.Response:
    require_admin(request)
    return await exposition(request.app)


async def exposition(app: web.Application) -> web.Response:
    """The node's figures as this process sees them, in Prometheus's text format."""
    db = app[DATABASE]
    now = to_epoch(app[CLOCK].now())
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        _Snapshot(
            app[REQUEST_TALLY].copy(),
            app[DELIVERY_WORKER].outcome_tally.copy(),
            await inbox_store.count_by_state(db.reader),
            await outbox_store.count_by_state(db.reader),
            len(await outbox_store.hosts_in_backoff(db.reader, now=now)),
            app[PROCESS_NAME],
        )
    )
    return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_routes(app: web.Application) -> None:
    app[REQUEST_TALLY] = Counter()
    app.router.add_get("/metrics", metrics_view)


NODE_APP: web.AppKey[web.Application] = web.AppKey("node_app", web.Application)


def metrics_only_app(node: web.Application) -> web.Application:
    """An application that answers only ``/metrics`` (the admin token, as the node's) with ``node``'s
    figures: what ``chapterhouse worker --metrics-listen`` serves, since a worker serves no pages."""
    app = web.Application(middlewares=[error_middleware])
    app[CONFIG] = node[CONFIG]  # require_admin reads the token here
    app[NODE_APP] = node

    async def view(request: web.Request) -> web.Response:
        require_admin(request)
        return await exposition(request.app[NODE_APP])

    app.router.add_get("/metrics", view)
    return app
