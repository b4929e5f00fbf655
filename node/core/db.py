"""The stores: one SQLite file (the default, embedded), or PostgreSQL (:mod:`node.core.postgres`).

Both offer the same small surface, :class:`Store`: ``open``/``close``, ``reader`` (a
:class:`Connection` for reads outside a transaction), ``transaction()`` (a write transaction
yielding a :class:`Connection`) and ``write_statement``; :func:`open_store` picks one from the
config. Rooms' store functions take a :class:`Connection` and work unchanged on either: their
SQL is written once, in what both engines accept, with ``?`` or ``:name`` parameters (the
PostgreSQL side numbers them). Where the SQL must differ, :func:`dialects` puts the two texts
side by side in one value, which SQLite reads as the plain string it is and PostgreSQL reads
through its ``postgres`` attribute.

The SQLite store: one file in WAL mode, one writer, one reader.

All writes go through :meth:`Database.transaction`, which serialises writers on an asyncio
lock and wraps the block in ``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on any error),
so a handler's reads and writes see one consistent state and a crash leaves either all or
nothing. Reads that need no transaction use :attr:`Database.reader`, a second connection
that sees the last committed state (WAL readers never block the writer).

Durability: WAL with ``synchronous=NORMAL`` survives a killed process (``kill -9``): a
committed transaction is in the WAL file before COMMIT returns. Only a power loss can lose
the last transactions; set ``synchronous_full=True`` where that matters more than speed.

Timestamps are stored as Unix epoch seconds (REAL) so that comparisons are plain numbers
in SQLite and PostgreSQL alike. The SQL itself lives beside the module that owns each
table, as small functions taking a connection; schema changes are migrations numbered per
room in each room's ``schema.py``, applied once each by :mod:`node.core.migrations` (which
records them in its ledger) from the registry's list.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import aiosqlite

from node.core import migrations as schema
from node.core.config import StorageConfig
from node.core.migrations import Migration

log = logging.getLogger("chapterhouse.db")

#: A row of a result: by column name or position (``sqlite3.Row`` or ``asyncpg.Record``).
Row = Any
Params = Sequence[Any] | dict[str, Any]

SQLITE = "sqlite"
POSTGRES = "postgres"


class Sql(str):
    """One statement in two dialects: the SQLite text (this string) and ``postgres``."""

    postgres: str

    def __new__(cls, sqlite: str, postgres: str) -> Sql:
        text = super().__new__(cls, sqlite)
        text.postgres = postgres
        return text


def dialects(*, sqlite: str, postgres: str) -> Sql:
    """The same statement where the engines differ, written side by side: ``dialects(sqlite=...,
    postgres=...)``, passed to ``execute`` and the fetch helpers like any other SQL string."""
    return Sql(sqlite, postgres)


class Cursor(Protocol):
    rowcount: int

    async def fetchone(self) -> Row | None: ...

    async def fetchall(self) -> Sequence[Row]: ...


class Connection(Protocol):
    """What the rooms' store functions use of a connection (aiosqlite's, or the PostgreSQL one)."""

    def execute(self, sql: str, parameters: Params = ...) -> Any: ...

    def executemany(self, sql: str, parameters: Iterable[Params]) -> Awaitable[Any]: ...

    def execute_fetchall(self, sql: str, parameters: Params = ...) -> Awaitable[Iterable[Row]]: ...


class Store(Protocol):
    """A node's database, SQLite or PostgreSQL."""

    dialect: str
    #: After ``open``: no other process of the node had this store open (leases left are dead ones').
    first_process: bool
    #: After ``open``: the (room, number) of the migrations it applied.
    applied: list[tuple[str, int]]

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    @property
    def reader(self) -> Connection: ...

    def transaction(self) -> AbstractAsyncContextManager[Connection]: ...

    async def write_statement(self, sql: str, params: Params = ()) -> int: ...

    async def notify(self, channel: str) -> None: ...

    async def listen(self, channel: str, callback: Callable[[], None]) -> None: ...

    def exclusive(self, name: str) -> AbstractAsyncContextManager[bool]:
        """``async with store.exclusive(name) as granted``: True while no other process of the node
        holds ``name`` (work that must happen once runs only then); False: skip it this time."""
        ...


def make_store(storage: StorageConfig, migrations: Iterable[Migration]) -> Store:
    """The store the config names: PostgreSQL when it has a URL, else the SQLite file."""
    if storage.url is not None:
        from node.core.postgres import PostgresDatabase

        return PostgresDatabase(storage.url, migrations=migrations, pool_size=storage.pool_size)
    return Database(storage.sqlite_file, migrations=migrations)


class DatabaseInUse(RuntimeError):
    """Another node process holds this database."""


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


def hold_exclusive_lock(database: Path):
    """An open file holding an exclusive lock that says "a node uses this database".

    The OS releases it when the process ends, even by ``kill -9``; ``restore`` takes it too.
    """
    handle = open(lock_path(database), "a+")  # noqa: SIM115 - held open for the process's life: the lock
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise DatabaseInUse(f"{database} is in use by another node process; stop it first") from None
    return handle


class Database:
    """The SQLite store."""

    dialect = SQLITE
    first_process = True  # the file's lock (hold_exclusive_lock) lets no other process open it

    def __init__(self, path: Path, *, migrations: Iterable[Migration] = (), synchronous_full: bool = False) -> None:
        self.path = path
        self._migrations = list(migrations)
        self._lock = None
        self._synchronous = "FULL" if synchronous_full else "NORMAL"
        self._write_lock = asyncio.Lock()
        self.applied: list[tuple[str, int]] = []
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = hold_exclusive_lock(self.path)
        try:
            self._writer = await self._connect()
            self.applied = await schema.migrate(self, self._migrations)
            self._reader = await self._connect()
            await self._reader.execute("PRAGMA query_only=ON")
        except BaseException:
            # a failed migration (or an unreadable file) leaves no connection thread behind and
            # lets go of the lock: the process can end, and a corrected start can open it again
            await self.close()
            raise

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute(f"PRAGMA synchronous={self._synchronous}")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA busy_timeout=10000")
        return conn

    async def close(self) -> None:
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    @property
    def reader(self) -> aiosqlite.Connection:  # a Connection
        if self._reader is None:
            raise RuntimeError("database is not open")
        return self._reader

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction; committed on success, rolled back on any exception."""
        if self._writer is None:
            raise RuntimeError("database is not open")
        async with self._write_lock:
            conn = self._writer
            await _begin(conn)
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            else:
                await conn.execute("COMMIT")

    async def write_statement(self, sql: str, params: Params = ()) -> int:
        """One write statement as its own transaction (SQLite runs a lone statement atomically),
        serialised with :meth:`transaction`: one trip to the database thread instead of three
        (BEGIN, the statement, COMMIT). Returns the number of rows changed."""
        if self._writer is None:
            raise RuntimeError("database is not open")
        async with self._write_lock:
            cursor = await self._writer.execute(sql, params)
            return cursor.rowcount

    async def notify(self, channel: str) -> None:
        """Nothing to wake: one process serves a SQLite file, and it wakes its own workers."""

    async def listen(self, channel: str, callback: Callable[[], None]) -> None:
        """Nothing to hear (see :meth:`notify`)."""

    @asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[bool]:
        """Always granted: the file's lock (:func:`hold_exclusive_lock`) already makes this process the only one."""
        yield True


async def _begin(conn: aiosqlite.Connection) -> None:
    """``BEGIN IMMEDIATE``; if a task cancelled while its ``BEGIN`` was on the connection's thread
    left a transaction open (the statement runs there even when its awaiter is gone, after the
    lock is let go), that abandoned transaction is rolled back first: it never committed, and its
    task ended with the cancellation."""
    try:
        await conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        if "within a transaction" not in str(error):
            raise
        log.warning("rolled back a transaction that a cancelled task had left open")
        await conn.execute("ROLLBACK")
        await conn.execute("BEGIN IMMEDIATE")


# Statement and fetch run as ONE call on the connection's thread: no statement stays open
# across an await, so coroutines sharing the reader never hold each other in an old snapshot.


async def fetch_one(conn: Connection, sql: str, params: Params = ()) -> Row | None:
    for row in await conn.execute_fetchall(sql, params):
        return row
    return None


async def fetch_all(conn: Connection, sql: str, params: Params = ()) -> list[Row]:
    return list(await conn.execute_fetchall(sql, params))


async def fetch_value(conn: Connection, sql: str, params: Params = ()):
    row = await fetch_one(conn, sql, params)
    return None if row is None else row[0]
