"""The embedded store: one SQLite file in WAL mode, one writer, one reader.

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
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from node.core import migrations as schema
from node.core.migrations import Migration


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
    def __init__(self, path: Path, *, migrations: Iterable[Migration] = (), synchronous_full: bool = False) -> None:
        self.path = path
        self._migrations = list(migrations)
        self._lock = None
        self._synchronous = "FULL" if synchronous_full else "NORMAL"
        self._write_lock = asyncio.Lock()
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = hold_exclusive_lock(self.path)
        try:
            self._writer = await self._connect()
            await schema.migrate(self._writer, self._migrations)
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
    def reader(self) -> aiosqlite.Connection:
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
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            else:
                await conn.execute("COMMIT")

    async def write_statement(self, sql: str, params: tuple | dict = ()) -> int:
        """One write statement as its own transaction (SQLite runs a lone statement atomically),
        serialised with :meth:`transaction`: one trip to the database thread instead of three
        (BEGIN, the statement, COMMIT). Returns the number of rows changed."""
        if self._writer is None:
            raise RuntimeError("database is not open")
        async with self._write_lock:
            cursor = await self._writer.execute(sql, params)
            return cursor.rowcount


# Statement and fetch run as ONE call on the connection's thread: no statement stays open
# across an await, so coroutines sharing the reader never hold each other in an old snapshot.


async def fetch_one(conn: aiosqlite.Connection, sql: str, params: tuple | dict = ()) -> aiosqlite.Row | None:
    for row in await conn.execute_fetchall(sql, params):
        return row
    return None


async def fetch_all(conn: aiosqlite.Connection, sql: str, params: tuple | dict = ()) -> list[aiosqlite.Row]:
    return list(await conn.execute_fetchall(sql, params))


async def fetch_value(conn: aiosqlite.Connection, sql: str, params: tuple | dict = ()):
    row = await fetch_one(conn, sql, params)
    return None if row is None else row[0]
