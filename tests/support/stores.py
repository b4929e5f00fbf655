"""Which store the tests' nodes use: SQLite files (the default), or PostgreSQL (``pytest --store postgres``).

On PostgreSQL every node gets its own schema (``chtest_<pid>_<n>``) on the server that
``CHAPTERHOUSE_TEST_POSTGRES`` names, or on a throwaway cluster of the run's own
(:mod:`tests.support.pg_cluster`); the run drops its schemas when it ends, and a later run
drops those a run left behind when it was killed.

Making a schema's tables is PostgreSQL's slowest step of a node's start (a quarter of a second
of catalog work, against milliseconds on SQLite, and the suite starts well over a thousand
nodes). So a node's schema is used again by later tests: when a test ends (its nodes stopped),
:func:`recycle` empties every table of the schemas it used but the migrations' ledger, and
restarts their row numbers, and the next nodes take them; they start as on a fresh schema, the
ledger saying every migration is applied. A test that needs a schema never used
(``migrate-store``'s target) asks :func:`new_schema`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import os
import re
import sqlite3
from pathlib import Path

import asyncpg

from node.core.config import StorageConfig
from node.core.postgres import numbered

PREFIX = "chtest_"
TEST_POOL_SIZE = 2


class _Chosen:
    kind = "sqlite"
    server: str | None = None  # the PostgreSQL server's URL (no search_path)


CHOSEN = _Chosen()
_numbers = itertools.count(1)


def use_postgres(server: str) -> None:
    CHOSEN.kind, CHOSEN.server = "postgres", server


def on_postgres() -> bool:
    return CHOSEN.kind == "postgres"


def new_schema(name: str = "") -> str:
    label = re.sub(r"[^a-z0-9_]", "_", name.lower())[:20]
    return f"{PREFIX}{os.getpid()}_{next(_numbers)}_{label}".rstrip("_")


def server_url() -> str:
    """The PostgreSQL pass's server (for the ``postgres_only`` tests, which make their own schemas)."""
    if CHOSEN.server is None:
        raise RuntimeError("no PostgreSQL server: this test is postgres_only, run it with pytest --store postgres")
    return CHOSEN.server


def postgres_url(schema: str) -> str:
    assert CHOSEN.server is not None
    joiner = "&" if "?" in CHOSEN.server else "?"
    return f"{CHOSEN.server}{joiner}search_path={schema}"


_emptied: list[str] = []  # schemas whose tables are empty, for the next nodes
_in_use: list[str] = []  # schemas handed out during the current test


def node_schema(name: str) -> str:
    """A schema for one node of this test: an emptied one, else a new one."""
    schema = _emptied.pop() if _emptied else new_schema(name)
    _in_use.append(schema)
    return schema


def storage_for(path: Path, name: str) -> StorageConfig:
    """A node's store: the SQLite file at ``path``, or on PostgreSQL a schema of its own."""
    if on_postgres():
        # a test runs up to a dozen nodes at once, each with its writer, readers, listener and locker:
        # two readers each keep a seven-node tree well inside the server's max_connections
        return StorageConfig(url=postgres_url(node_schema(name)), pool_size=TEST_POOL_SIZE)
    return StorageConfig(database=path)


def database_address(path: Path, name: str) -> str:
    """The same, as ``[storage] database`` of a config file (for nodes run as processes)."""
    if on_postgres():
        return postgres_url(node_schema(name))
    return str(path)


def recycle() -> None:
    """After a test (its nodes stopped): empty the schemas it used, for the next tests' nodes."""
    if not _in_use:
        return
    used = list(_in_use)
    _in_use.clear()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # callable from inside a running event loop
        pool.submit(asyncio.run, _empty(used)).result()
    _emptied.extend(used)


async def _empty(schemas: list[str]) -> None:
    assert CHOSEN.server is not None
    conn = await asyncpg.connect(CHOSEN.server)
    try:
        for schema in schemas:
            tables = await conn.fetch(
                "SELECT c.relname, a.attname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attidentity <> ''"
                " WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname <> 'schema_migrations'",
                schema,
            )
            statements = [f'DELETE FROM "{schema}"."{table}"' for table, _ in tables] + [
                f'ALTER TABLE "{schema}"."{table}" ALTER COLUMN "{column}" RESTART'
                for table, column in tables
                if column is not None
            ]
            if statements:
                await conn.execute("; ".join(statements))
    finally:
        await conn.close()


def query(address: str | Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Read a node's store as an operator would, outside the node: its SQLite file read-only, or
    its PostgreSQL schema (SQL with ``?`` parameters either way). For tests' synchronous checks."""
    address = str(address)
    if not address.startswith(("postgresql://", "postgres://")):
        conn = sqlite3.connect(f"file:{address}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # callable from inside a running event loop
        return pool.submit(asyncio.run, _pg_query(address, sql, params)).result()


async def _pg_query(url: str, sql: str, params: tuple) -> list[tuple]:
    conn = await asyncpg.connect(url)
    try:
        text, _ = numbered(sql) if params else (sql, None)
        return [tuple(row) for row in await conn.fetch(text, *params)]
    finally:
        await conn.close()
