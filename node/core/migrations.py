"""Schema migrations, numbered per room, recorded in a ledger and applied in order on start.

Each room keeps its tables' DDL in its own ``schema.py`` (``node.core.schema`` for the shared
ground, ``node.membership.schema``, ``node.polls.schema``, ...) as :class:`Migration` entries
and registers them with ``registry.feature(room, migrations=...)``, which stamps each with its
room. A migration is known by its (room, number): **numbers order the migrations of one room
only**, so a new migration takes the next number above its own room's highest, whatever other
rooms use (the rooms that existed before the ledger kept their numbers from the old global
sequence: gaps within a room are harmless, and two rooms may share a number).

:func:`migrate` records every applied migration in the ledger ``schema_migrations`` (room,
number, name, a SHA-256 of its SQL, applied_at), and applies what the ledger lacks: room by
room in registration order (a later room may build on an earlier one's tables), each room's
pending migrations by number, each in its own transaction together with its ledger row. So a
node that gains a room later (or a room that gains a migration numbered below another room's)
gets that room's migrations on its next start. A recorded migration whose SQL has changed is
logged as a warning, not re-run: a migration is never edited once released, add a new one.

Before the ledger, a database recorded only ``PRAGMA user_version`` (the highest global number
applied). Such a database is upgraded once, when the ledger is created: every registered
migration numbered at or below its ``user_version`` is recorded as applied, except one none of
whose tables exist (its room was registered after the database passed its number, which the
old runner skipped; tables a later migration drops are left out of that check): that one, and
every later one of its room (one that only alters a table has no table to look for), stays
pending and runs. ``user_version`` is not written since.

Each table's queries live beside the module that owns it (named in the comment above each
table), and the same migrations build the tables on SQLite and on PostgreSQL
(:mod:`node.core.postgres`). Rooms' DDL is written in SQLite's words and sticks to what both
engines accept (epoch REAL timestamps, TEXT JSON, partial indexes); :func:`postgres_ddl` turns
the few type words whose meaning differs into PostgreSQL's (``REAL`` is a 4-byte float there,
far too coarse for a timestamp; ``INTEGER`` is 4 bytes; ``AUTOINCREMENT`` is an identity
column), and a migration whose SQL cannot be said the same way carries its ``postgres`` text.
The ledger's DDL and queries are portable as they are; the one-off upgrade from
``user_version`` is SQLite's alone. On PostgreSQL, processes that start together take turns:
the store holds an advisory lock while it migrates.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from node.core.db import Connection

log = logging.getLogger("chapterhouse.migrations")

LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    room       TEXT NOT NULL,
    number     INTEGER NOT NULL,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (room, number)
)
"""

_CREATES_TABLE = re.compile(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?[\"`]?(\w+)", re.IGNORECASE)
_DROPS_TABLE = re.compile(r"DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?[\"`]?(\w+)", re.IGNORECASE)


class Migrating(Protocol):
    """What :func:`migrate` needs of a store: its dialect, and write transactions."""

    dialect: str

    def transaction(self) -> AbstractAsyncContextManager[Connection]: ...


class OnSqliteConnection:
    """One open aiosqlite connection (autocommit) as a :class:`Migrating` store, for tools and
    tests that hold a bare connection: ``await migrate(OnSqliteConnection(conn), migrations)``."""

    dialect = "sqlite"

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        await self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            await self._conn.execute("ROLLBACK")
            raise
        await self._conn.execute("COMMIT")


@dataclass(frozen=True)
class Migration:
    """One schema change of a room: ``Migration(number, name, sql)`` in the room's ``schema.py``;
    ``room`` is set by ``registry.feature`` (the feature's name) when the room registers it."""

    number: int
    name: str
    sql: str
    room: str = ""
    postgres: str | None = None  # the PostgreSQL text, where translating ``sql`` would not do

    def statements(self, dialect: str) -> list[str]:
        """The statements to run on this engine (``"sqlite"`` or ``"postgres"``)."""
        if dialect == "postgres":
            return _statements(self.postgres if self.postgres is not None else postgres_ddl(self.sql))
        return _statements(self.sql)

    @property
    def key(self) -> tuple[str, int]:
        return (self.room, self.number)

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def in_order(migrations: Iterable[Migration]) -> list[Migration]:
    """Rooms in the order they first appear (registration order), each room's migrations by number.

    Refuses a migration without a room, and two migrations with one (room, number).
    """
    rooms: dict[str, dict[int, Migration]] = {}
    for migration in migrations:
        if not migration.room:
            raise ValueError(
                f"migration {migration.number} ({migration.name!r}) has no room: register it with"
                " registry.feature(<room>, migrations=[...]) or give Migration(..., room=<room>)"
            )
        numbered = rooms.setdefault(migration.room, {})
        if migration.number in numbered:
            raise ValueError(
                f"room {migration.room!r} has two migrations numbered {migration.number}"
                f" ({numbered[migration.number].name!r} and {migration.name!r}): give the newer one the room's next number"
            )
        numbered[migration.number] = migration
    return [numbered[number] for numbered in rooms.values() for number in sorted(numbered)]


async def migrate(db: Migrating, migrations: Iterable[Migration]) -> list[tuple[str, int]]:
    """Apply what the ledger lacks, each migration in its own transaction with its ledger row;
    return the (room, number) applied now, in the order applied."""
    ordered = in_order(migrations)
    applied = await _ledger(db, ordered)
    done: list[tuple[str, int]] = []
    for migration in ordered:
        if migration.key in applied:
            if applied[migration.key] != migration.checksum:
                log.warning(
                    "migration %s %d (%s) was edited after it was applied; it is not run again."
                    " Put the change in a new migration numbered after the room's highest",
                    migration.room,
                    migration.number,
                    migration.name,
                )
            continue
        async with db.transaction() as conn:
            for statement in migration.statements(db.dialect):
                await conn.execute(statement)
            await _record(conn, migration)
        done.append(migration.key)
    return done


async def _ledger(db: Migrating, known: list[Migration]) -> dict[tuple[str, int], str]:
    """The ledger's (room, number) -> checksum; made on first use, from ``user_version`` if the
    database predates it (in the same transaction, so the upgrade happens once)."""
    async with db.transaction() as conn:
        if not await has_table(conn, "schema_migrations", db.dialect):
            await conn.execute(LEDGER)
            if db.dialect == "sqlite":
                for migration in await _implied_by_user_version(conn, known):
                    await _record(conn, migration)
        async with conn.execute("SELECT room, number, checksum FROM schema_migrations") as cursor:
            rows = await cursor.fetchall()
    return {(room, number): checksum for room, number, checksum in rows}


async def _implied_by_user_version(conn: Connection, known: list[Migration]) -> list[Migration]:
    """What a database from before the ledger has applied: the migrations numbered up to its
    ``user_version``, but for one none of whose tables exist (the old runner skipped a room
    registered after the database passed its numbers; a table a later migration drops is no sign)."""
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    version = row[0] if row else 0
    old = [migration for migration in known if migration.number <= version]
    dropped = {table.lower() for migration in old for table in _DROPS_TABLE.findall(migration.sql)}
    implied, skipped_rooms = [], set()
    for migration in sorted(old, key=lambda m: m.number):
        tables = [table for table in _CREATES_TABLE.findall(migration.sql) if table.lower() not in dropped]
        missing = bool(tables) and not any([await has_table(conn, table, "sqlite") for table in tables])
        if missing or migration.room in skipped_rooms:  # after a skipped one, its room's later ones were too
            skipped_rooms.add(migration.room)
            log.info("migration %s %d (%s) was skipped before the ledger: it runs now", *migration.key, migration.name)
        else:
            implied.append(migration)
    return implied


_HAS_TABLE = {
    "sqlite": "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
    "postgres": "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?",
}


async def has_table(conn: Connection, name: str, dialect: str) -> bool:
    async with conn.execute(_HAS_TABLE[dialect], (name,)) as cursor:
        return await cursor.fetchone() is not None


async def _record(conn: Connection, migration: Migration) -> None:
    await conn.execute(
        "INSERT INTO schema_migrations (room, number, name, checksum, applied_at) VALUES (?, ?, ?, ?, ?)",
        (migration.room, migration.number, migration.name, migration.checksum, time.time()),
    )


async def recorded(conn: Connection) -> list[tuple[str, int]]:
    """The ledger's (room, number), by room and number (for tools and tests)."""
    async with conn.execute("SELECT room, number FROM schema_migrations ORDER BY room, number") as cursor:
        return [(room, number) for room, number in await cursor.fetchall()]


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (no semicolons inside our DDL strings)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


# SQLite's type words whose PostgreSQL namesakes mean less (a 4-byte float, a 4-byte integer).
_POSTGRES_TYPES = (
    (
        re.compile(r"\bINTEGER\s+PRIMARY\s+KEY\s+AUTOINCREMENT\b", re.IGNORECASE),
        "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    ),
    (re.compile(r"\bREAL\b", re.IGNORECASE), "DOUBLE PRECISION"),
    (re.compile(r"\bINTEGER\b", re.IGNORECASE), "BIGINT"),
    (re.compile(r"\bBLOB\b", re.IGNORECASE), "BYTEA"),
)


def postgres_ddl(sql: str) -> str:
    """A migration's SQLite DDL in PostgreSQL's words: 8-byte floats and integers, identity columns."""
    for pattern, words in _POSTGRES_TYPES:
        sql = pattern.sub(words, sql)
    return sql
