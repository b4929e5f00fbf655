"""The PostgreSQL store, for a node served by several processes (an international node).

Selected by ``[storage] database = "postgresql://user@host/db"`` or ``DATABASE_URL`` (see
:mod:`node.core.config`); it offers what the SQLite store offers (:class:`node.core.db.Store`),
so every room's store functions run on it unchanged:

- **SQL once.** Statements keep SQLite's ``?`` and ``:name`` parameters; :func:`numbered`
  turns them into PostgreSQL's ``$1, $2, ...`` (once per statement text, cached), outside
  quoted strings and ``::`` casts. A statement that must differ is a
  :func:`node.core.db.dialects` value whose ``postgres`` text is taken here.
- **One writer per process, readers from a pool.** ``transaction()`` takes the process's one
  write connection (a pool of one, so a connection lost with a restarted server is replaced),
  as the SQLite store serialises its writer: within a process, the rooms' read-then-write
  steps see no interleaving of their own. Between processes PostgreSQL's row locks,
  unique constraints and the claims' ``FOR UPDATE SKIP LOCKED`` keep work from being done
  twice. ``reader`` runs each statement on a pooled connection (``[storage] pool_size``).
- **Several nodes on one server** each keep their own schema: a ``search_path`` parameter in
  the URL (``...?search_path=london``) names it, and it is created on first start.
- **Migrations** are the rooms' own (:mod:`node.core.migrations`, types translated by
  :func:`node.core.migrations.postgres_ddl`); processes starting together take turns under an
  advisory lock, so each migration runs once.
- **Waking other processes**: :meth:`PostgresDatabase.notify` sends a ``NOTIFY`` on a channel
  (after the transaction that made work due has committed), and :meth:`PostgresDatabase.listen`
  calls back on each one, so an idle worker process starts at once instead of at its next poll.
- **Once across processes**: :meth:`PostgresDatabase.exclusive` holds a session advisory lock
  (``pg_try_advisory_lock``, numbered from the schema and a name: :func:`advisory_key`) while a
  block runs; another process asking for it is refused at once. It lives on the store's one
  side connection, the listener's, which also holds a shared lock for as long as the store is
  open, telling a starting process whether it is the node's only one (``first_process``): a
  store holds its writer, its readers and that one connection. What runs where, and
  what each process keeps to itself: :mod:`node.core.processes`.

The URL's password never reaches a log or an error message: :func:`redacted` replaces it.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import asyncpg

from node.core import migrations as schema
from node.core.db import POSTGRES, Params, Row
from node.core.migrations import Migration

log = logging.getLogger("chapterhouse.postgres")

# Any number: every Chapterhouse process migrating one schema takes this lock first.
MIGRATION_LOCK = 7_401_113


def is_postgres_url(address: str) -> bool:
    return address.startswith(("postgresql://", "postgres://"))


def redacted(url: str) -> str:
    """The URL with its password replaced by ``***`` (for logs and errors)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def search_path(url: str) -> str | None:
    """The schema a URL's ``search_path`` parameter names first, if any."""
    values = parse_qs(urlsplit(url).query).get("search_path")
    if not values:
        return None
    first = values[0].split(",")[0].strip().strip('"')
    return first or None


def advisory_key(schema: str | None, name: str) -> int:
    """The advisory lock's number for ``name`` in one node's schema (several nodes may share a server)."""
    digest = hashlib.blake2b(f"{schema or 'public'}\0{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


_PARAMETER = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|::|\?|:([A-Za-z_][A-Za-z0-9_]*)|--[^\n]*")


@functools.lru_cache(maxsize=2048)
def numbered(sql: str) -> tuple[str, tuple[str, ...] | None]:
    """A statement with SQLite's parameters (``?`` or ``:name``) in PostgreSQL's ``$n`` form, and
    the names in their order (None for ``?``): a name used twice is one parameter."""
    names: list[str] = []
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        text = match.group(0)
        if text == "?":
            count += 1
            return f"${count}"
        name = match.group(1)
        if name is None:
            return text  # a string, a quoted name, a cast or a comment
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    text = _PARAMETER.sub(replace, sql)
    if count and names:
        raise ValueError(f"a statement mixes ? and :name parameters: {sql[:80]!r}")
    return text, (tuple(names) if names else None)


def _arguments(sql: str, params: Params) -> tuple[str, Sequence[Any]]:
    text = getattr(sql, "postgres", sql)
    if not params:
        return text, ()
    text, names = numbered(text)
    if isinstance(params, dict):  # as SQLite: names the statement does not use are left out
        return text, _without_nul(tuple(params[name] for name in names or ()))
    if names is not None:
        raise TypeError("a statement with :name parameters takes a dict")
    return text, _without_nul(tuple(params))


def _without_nul(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """PostgreSQL's text cannot hold U+0000, nor its ``jsonb`` the escape ``\\u0000`` (SQLite's can:
    a URL path, a form field or a remote document may carry either). Both are replaced by U+FFFD
    (or its escape), so a lookup by such a key finds nothing, a stored text keeps a visible mark,
    and no stored document breaks a query that reads it as JSON; the server would otherwise refuse
    the statement, and the request fail."""
    if not any(isinstance(arg, str) and ("\x00" in arg or "\\u0000" in arg) for arg in args):
        return args
    return tuple(
        arg.replace("\x00", "\ufffd").replace("\\u0000", "\\ufffd") if isinstance(arg, str) else arg for arg in args
    )


_RETURNS_ROWS = re.compile(r"^\s*(SELECT|VALUES|WITH|TABLE|SHOW)\b|\bRETURNING\b", re.IGNORECASE)


def _rowcount(status: str) -> int:
    """``UPDATE 3`` -> 3, ``INSERT 0 1`` -> 1; -1 where the status carries no count."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


class Cursor:
    """What a statement gave: its rows (if it returns any) and how many rows it changed."""

    def __init__(self, rows: list[Row], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount

    async def fetchone(self) -> Row | None:
        return self.rows[0] if self.rows else None

    async def fetchall(self) -> list[Row]:
        return self.rows

    def __aiter__(self) -> AsyncIterator[Row]:
        async def rows() -> AsyncIterator[Row]:
            for row in self.rows:
                yield row

        return rows()


class _Pending:
    """``await conn.execute(...)`` and ``async with conn.execute(...) as cursor`` alike, as aiosqlite."""

    def __init__(self, run: Callable[[], Any]) -> None:
        self._run = run

    def __await__(self):
        return self._run().__await__()

    async def __aenter__(self) -> Cursor:
        return await self._run()

    async def __aexit__(self, *exc: object) -> None:
        return None


class Connection:
    """The rooms' connection surface over an asyncpg connection or pool (both have these calls)."""

    def __init__(self, target: asyncpg.Connection | asyncpg.Pool) -> None:
        self._target = target

    def execute(self, sql: str, parameters: Params = ()) -> _Pending:
        return _Pending(lambda: self._execute(sql, parameters))

    async def _execute(self, sql: str, parameters: Params) -> Cursor:
        text, args = _arguments(sql, parameters)
        if _RETURNS_ROWS.search(text):
            rows = await self._target.fetch(text, *args)
            return Cursor(rows, len(rows))
        return Cursor([], _rowcount(await self._target.execute(text, *args)))

    async def executemany(self, sql: str, parameters: Iterable[Params]) -> None:
        rows = list(parameters)
        if not rows:
            return
        text, _ = _arguments(sql, rows[0])
        await self._target.executemany(text, [_arguments(sql, row)[1] for row in rows])

    async def execute_fetchall(self, sql: str, parameters: Params = ()) -> list[Row]:
        text, args = _arguments(sql, parameters)
        return await self._target.fetch(text, *args)


class PostgresDatabase:
    """The PostgreSQL store: ``PostgresDatabase(url, migrations=...)``, then ``await open()``."""

    dialect = POSTGRES

    def __init__(self, url: str, *, migrations: Iterable[Migration] = (), pool_size: int = 8) -> None:
        self.url = url
        self.schema = search_path(url)
        self._migrations = list(migrations)
        self.applied: list[tuple[str, int]] = []
        self._pool_size = max(1, pool_size)
        self._writers: asyncpg.Pool | None = None
        self._readers: asyncpg.Pool | None = None
        self._reader: Connection | None = None
        # one more connection: it holds the advisory locks (exclusive(), first_process) and listens
        self._side: asyncpg.Connection | None = None
        self._side_busy = asyncio.Lock()  # one statement at a time on it
        self._listening: list[tuple[str, Callable[[], None]]] = []
        self._held: dict[str, asyncio.Task | None] = {}  # exclusive(): the names held, by the task holding
        self._names: dict[str, asyncio.Lock] = {}  # and this process's turns at each
        self.first_process = False  # set by open(): no other process of the node had the store open

    def __repr__(self) -> str:
        return f"PostgresDatabase({redacted(self.url)!r})"

    async def open(self) -> None:
        try:
            if self.schema:
                await self._create_schema()
            self._writers = await asyncpg.create_pool(self.url, min_size=1, max_size=1)
            await self._migrate()
            self._readers = await asyncpg.create_pool(self.url, min_size=1, max_size=self._pool_size)
            self.first_process = await self._count_in()
            self._reader = Connection(self._readers)
        except BaseException:
            await self.close()
            raise

    async def _create_schema(self) -> None:
        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
        except asyncpg.UniqueViolationError:
            pass  # another process made it at the same moment
        finally:
            await conn.close()

    async def _migrate(self) -> None:
        assert self._writers is not None
        async with self._writers.acquire() as raw:
            await raw.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
            try:
                self.applied = await schema.migrate(_OneConnection(raw), self._migrations)
            finally:
                await raw.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)

    async def close(self) -> None:
        if self._side is not None:
            await self._side.close()
            self._side = None
        for pool in (self._readers, self._writers):
            if pool is not None:
                await pool.close()
        self._readers = self._writers = None
        self._reader = None

    @property
    def reader(self) -> Connection:
        if self._reader is None:
            raise RuntimeError("database is not open")
        return self._reader

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """One write transaction; committed on success, rolled back on any exception."""
        if self._writers is None:
            raise RuntimeError("database is not open")
        async with self._writers.acquire() as raw, raw.transaction():
            yield Connection(raw)

    async def write_statement(self, sql: str, params: Params = ()) -> int:
        async with self.transaction() as conn:
            cursor = await conn.execute(sql, params)
            return cursor.rowcount

    async def notify(self, channel: str) -> None:
        """Wake the processes listening on ``channel`` (after the work's transaction committed)."""
        if self._readers is not None:
            await self._readers.execute("SELECT pg_notify($1, '')", self._channel(channel))

    async def listen(self, channel: str, callback: Callable[[], None]) -> None:
        """Call ``callback`` (on the event loop) at each notification on ``channel``."""
        async with self._side_busy:
            side = await self._side_connection()
            await side.add_listener(self._channel(channel), _calling(callback))
            self._listening.append((channel, callback))

    @asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[bool]:
        """True while this process holds the session advisory lock named ``name`` (in this schema),
        False at once when another process holds it. This process's other tasks asking for it wait
        their turn (a test's explicit cycle beside the running loop is run, not skipped, and never
        overlaps it); the holder's own work asking again is granted.

        The lock lives on the side connection, taken with ``pg_try_advisory_lock`` (never
        waiting) and let go after the block. A process that dies lets go with its connection. If
        that connection is lost while a block runs, the lock is gone with it: the block finishes,
        and another process may already have begun the same work; the rooms' rows move only along
        their graphs (``WHERE`` on the state), so what it does twice is at most one more Update."""
        task = asyncio.current_task()
        if self._held.get(name) is task:
            yield True
            return
        async with self._names.setdefault(name, asyncio.Lock()):
            key = advisory_key(self.schema, name)
            if not await self._locking("SELECT pg_try_advisory_lock($1)", key):
                yield False
                return
            self._held[name] = task
            try:
                yield True
            finally:
                del self._held[name]
                await self._locking("SELECT pg_advisory_unlock($1)", key)

    async def _count_in(self) -> bool:
        """Count this process among the node's open ones (a shared advisory lock each holds while its
        store is open); True if it was the first: no other held it (an exclusive try succeeded first)."""
        first = await self._locking("SELECT pg_try_advisory_lock($1)", self._processes_key)
        await self._locking("SELECT pg_advisory_lock_shared($1)", self._processes_key)
        if first:
            await self._locking("SELECT pg_advisory_unlock($1)", self._processes_key)
        return first

    @property
    def _processes_key(self) -> int:
        return advisory_key(self.schema, "open processes")

    async def _locking(self, sql: str, key: int) -> bool:
        """One lock statement on the side connection."""
        async with self._side_busy:
            try:
                return bool(await (await self._side_connection()).fetchval(sql, key))
            except BaseException:
                # a connection in an unknown state: end it (its locks end with it) and start afresh
                side, self._side = self._side, None
                if side is not None:
                    side.terminate()
                raise

    async def _side_connection(self) -> asyncpg.Connection:
        """The side connection (under ``_side_busy``), made at first use and again after a failure:
        then counted among the node's open processes again (:meth:`_count_in`) and listening again."""
        if self._side is None or self._side.is_closed():
            side = await asyncpg.connect(self.url)
            if self._reader is not None:
                await side.execute("SELECT pg_advisory_lock_shared($1)", self._processes_key)
            for channel, callback in self._listening:
                await side.add_listener(self._channel(channel), _calling(callback))
            self._side = side
        return self._side

    def _channel(self, channel: str) -> str:
        # one node's processes, not every node on the server: the schema is in the channel's name
        return f"chapterhouse_{self.schema or 'public'}_{channel}"[:63]


def _calling(callback: Callable[[], None]) -> Callable[..., None]:
    """asyncpg's listener signature (connection, pid, channel, payload) around a plain callback."""
    return lambda *_: callback()


class _OneConnection:
    """One raw connection as a store, for the migrations (which run before the pools exist)."""

    dialect = POSTGRES

    def __init__(self, raw: asyncpg.Connection) -> None:
        self._raw = raw
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self._lock, self._raw.transaction():
            yield Connection(self._raw)
