"""Real Chapterhouse nodes on loopback ports, for tests: each with its own SQLite file."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from aiohttp import web

from node.core.appkeys import DATABASE, DELIVERY_WORKER, INBOX_WORKER
from node.core.clock import Clock
from node.core.config import AdminConfig, Config, FederationConfig, NodeConfig
from node.web.app import DEFAULT_FEATURES, make_app
from node.web.server import NodeRunner
from tests.support.ports import free_port
from tests.support.stores import storage_for

ADMIN_TOKEN = "test-admin-token-0123456789"
# How long stopping a node waits for requests still in flight before cancelling them (aiohttp's
# default is 60 s, then 60 s more after the cancel): a handler that a failed test left waiting
# must not hold the fixture's teardown for minutes with the event loop idle.
SHUTDOWN_SECONDS = 2.0


def node_config(tmp_path: Path, name: str = "london", *, port: int | None = None, **federation) -> Config:
    port = port or free_port()
    return Config(
        node=NodeConfig(
            base_url=f"http://127.0.0.1:{port}",
            listen=f"127.0.0.1:{port}",
            name=name,
            display_name=f"IOPS {name.title()}",
            summary=f"The {name} chapter.",
        ),
        storage=storage_for(tmp_path / f"{name}-{port}.sqlite3", name),
        admin=AdminConfig(token=ADMIN_TOKEN),
        federation=FederationConfig(**{"allow_private_addresses": True, **federation}),
    )


@dataclass
class RunningNode:
    config: Config
    app: web.Application
    runner: NodeRunner

    @property
    def base_url(self) -> str:
        return self.config.node.base_url

    @property
    def actor_id(self) -> str:
        return f"{self.base_url}/users/{self.config.node.name}"

    @property
    def outbox(self) -> str:
        return f"{self.actor_id}/outbox"

    @property
    def inbox(self) -> str:
        return f"{self.actor_id}/inbox"

    @property
    def db(self):
        return self.app[DATABASE]

    @property
    def inbox_worker(self):
        return self.app[INBOX_WORKER]

    @property
    def delivery_worker(self):
        return self.app[DELIVERY_WORKER]

    async def settle(self, rounds: int = 20) -> None:
        """Step both workers until neither has anything due (for nodes started without workers)."""
        for _ in range(rounds):
            done = await self.inbox_worker.run_single_cycle() + await self.delivery_worker.run_single_cycle()
            if not done:
                return

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_node(
    config: Config, *, clock: Clock | None = None, start_workers: bool = True, features=DEFAULT_FEATURES
) -> RunningNode:
    app = make_app(config, clock=clock, start_workers=start_workers, features=features)
    # as `chapterhouse serve` runs it: aiohttp's refusals in JSON
    runner = NodeRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_SECONDS)
    try:
        await runner.setup()
        await web.TCPSite(runner, config.node.listen_host, config.node.listen_port).start()
    except BaseException:
        # what started before the failure (the database's threads, sessions, workers) is closed
        await runner.cleanup()
        raise
    return RunningNode(config=config, app=app, runner=runner)


def with_federation(config: Config, **changes) -> Config:
    return replace(config, federation=replace(config.federation, **changes))
