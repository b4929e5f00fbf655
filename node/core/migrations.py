"""Numbered schema migrations, gathered from every room and applied in order on start.

Each room keeps its tables' DDL in its own ``schema.py`` (``node.core.schema`` for the shared
ground, ``node.membership.schema``, ``node.polls.schema``, ...) as :class:`Migration` entries,
and registers them with the application's registry; :func:`migrate` applies those whose
number is above the file's ``user_version``, one transaction per number, and records it. A
number may hold parts from several rooms (applied in registration order); numbers are global
so that a database upgraded room by room can never be applied out of order.

A migration is never edited once released: add a new one. Each table's queries live beside
the module that owns it (named in the comment above each table), so that a second store
(PostgreSQL for a large international node) can slot in behind the same functions. The DDL
sticks to what both engines accept: epoch REAL timestamps, TEXT JSON, partial indexes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby

import aiosqlite


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    sql: str


def in_order(migrations: Iterable[Migration]) -> list[tuple[int, list[Migration]]]:
    """The migrations grouped by number, lowest first (a stable sort keeps registration order)."""
    ordered = sorted(migrations, key=lambda migration: migration.number)
    return [(number, list(group)) for number, group in groupby(ordered, key=lambda migration: migration.number)]


async def migrate(conn: aiosqlite.Connection, migrations: Iterable[Migration]) -> int:
    """Apply pending migrations, each number in its own transaction; return the schema version."""
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    version = row[0] if row else 0
    for number, parts in in_order(migrations):
        if number <= version:
            continue
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for part in parts:
                for statement in _statements(part.sql):
                    await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version={number}")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")
        version = number
    return version


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (no semicolons inside our DDL strings)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
