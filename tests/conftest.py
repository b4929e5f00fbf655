"""Shared fixtures: real nodes on loopback, scriptable remote actors, bovine peers."""

from __future__ import annotations

import errno
import logging

import pytest
from hypothesis import HealthCheck, settings

from node.core import keys
from node.web.app import DEFAULT_FEATURES
from tests.peers.bovine import bovine_peer, bovine_python  # noqa: F401  (fixtures)
from tests.support import keypool, pg_cluster
from tests.support.nodes import node_config, start_node
from tests.support.remote_actor import RemoteActor
from tests.support.stores import on_postgres, recycle, use_postgres

# Timing never decides a test: no per-example deadline (CI has 2 busy cores).
settings.register_profile("chapterhouse", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("chapterhouse")


def pytest_addoption(parser):
    parser.addoption(
        "--store",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="the nodes' store: SQLite files, or PostgreSQL (CHAPTERHOUSE_TEST_POSTGRES, else a throwaway cluster)",
    )


def pytest_configure(config):
    config.addinivalue_line("markers", "expect_logged_errors: the test makes the node log errors on purpose")
    config.addinivalue_line("markers", "sqlite_only: the test is about the SQLite file itself (skipped on PostgreSQL)")
    config.addinivalue_line(
        "markers",
        "postgres_only: the test needs PostgreSQL itself (several processes, migrate-store): run in that pass",
    )
    if config.getoption("--store") == "postgres":
        config._chapterhouse_postgres = pg_cluster.start_for_tests()
        use_postgres(config._chapterhouse_postgres.url)


def pytest_unconfigure(config):
    server = getattr(config, "_chapterhouse_postgres", None)
    if server is not None:
        server.stop()


def pytest_collection_modifyitems(config, items):
    """Each pass skips the other store's own tests: ``sqlite_only`` in the PostgreSQL pass,
    ``postgres_only`` in the SQLite pass (they run in the PostgreSQL pass, on its server)."""
    on_postgres = config.getoption("--store") == "postgres"
    marker, reason = (
        ("sqlite_only", "about the SQLite file itself: the PostgreSQL pass has its own tests")
        if on_postgres
        else ("postgres_only", "needs PostgreSQL itself: runs in the --store postgres pass")
    )
    for item in items:
        if item.get_closest_marker(marker):
            item.add_marker(pytest.mark.skip(reason=reason))


class _ErrorRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def pooled_rsa_keys(monkeypatch):
    """The actors of this process's nodes take their RSA keys from the session's pool
    (``tests.support.keypool``: distinct within a test, made once for the whole run)."""
    keypool.POOL.new_test()
    monkeypatch.setitem(keys._GENERATORS, "rsa", keypool.rsa_key)


@pytest.fixture(autouse=True)
def recycled_schemas():
    """On PostgreSQL, the schemas a test's nodes used are emptied for later tests once it ends
    (its nodes are stopped by then: this fixture is set up first, so torn down last)."""
    yield
    if on_postgres():
        recycle()


@pytest.fixture(autouse=True)
def fail_on_logged_errors(request):
    """A node in this process that logs an error (an inbox handler crash that the worker retries, a
    500, a worker cycle that failed) fails the test, even when the effect a test checks came out
    right; a test that provokes such errors on purpose says so with ``expect_logged_errors``."""
    handler = _ErrorRecords()
    logger = logging.getLogger("chapterhouse")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
    if handler.records and request.node.get_closest_marker("expect_logged_errors") is None:
        lines = [
            f"{r.name}: {r.getMessage()}" + (f" ({r.exc_info[1]!r})" if r.exc_info else "") for r in handler.records[:5]
        ]
        pytest.fail("the node logged errors:\n" + "\n".join(lines), pytrace=False)


@pytest.fixture
async def make_node(tmp_path):
    """Start Chapterhouse nodes: ``await make_node("london", start_workers=False, **federation)``."""
    started = []

    async def factory(
        name: str = "london",
        *,
        clock=None,
        start_workers: bool = True,
        config=None,
        features=DEFAULT_FEATURES,
        **federation,
    ):
        for attempt in range(5):
            try:
                node = await start_node(
                    config or node_config(tmp_path, name, **federation),
                    clock=clock,
                    start_workers=start_workers,
                    features=features,
                )
                break
            except OSError as error:  # the free port was taken meanwhile: a fresh one (and database)
                if error.errno != errno.EADDRINUSE or config is not None or attempt == 4:
                    raise
        started.append(node)
        return node

    yield factory
    await _stop_all([node.stop for node in reversed(started)])


@pytest.fixture
async def remote_actor():
    """Start scriptable remote actors: ``alice = await remote_actor("alice")``."""
    started = []

    async def factory(name: str = "alice", *, host: str = "127.0.0.1") -> RemoteActor:
        actor = await RemoteActor(name=name, host=host).start()
        started.append(actor)
        return actor

    yield factory
    await _stop_all([actor.stop for actor in started])


async def _stop_all(stops) -> None:
    """Stop each one even when an earlier one fails (a node left running keeps its database's
    threads and worker tasks alive past the test); the first failure is raised after."""
    failures = []
    for stop in stops:
        try:
            await stop()
        except Exception as error:
            failures.append(error)
    if failures:
        raise failures[0]
