"""Moving a node from its SQLite file to PostgreSQL: ``chapterhouse migrate-store``.

``chapterhouse migrate-store --from data/world.sqlite3 --to postgresql://user@host/db`` copies
everything the node keeps (keys, followers, members, posts, polls, decisions, its inbox and
delivery queues) from the SQLite store (:class:`node.core.db.Database`) into an empty
PostgreSQL store (:class:`node.core.postgres.PostgresDatabase`); started on the copy, the node
answers the federation exactly as before: the same ids, the same keys, the same queues.
:func:`migrate_store` does it in these steps, and any refusal or failure leaves the target
without a row:

1. **The source is held and only read.** The copy takes the SQLite file's exclusive lock
   (:func:`node.core.db.hold_exclusive_lock`) for its whole length, so it refuses while a node
   runs on the file, and no node can start on it meanwhile. The file is opened read-only and read
   in one transaction (one snapshot); it is never written, so it stays the node's way back.
2. **The source must be of this version.** Its ledger (``schema_migrations``) must record every
   migration the code has and no other. A file from an older version is not migrated here (that
   would write it): the message says to start the node once on this version (which migrates the
   file), stop it, and run the copy again; a file from a newer version needs that version's copy.
3. **The target is built, then must be empty.** Opening :class:`~node.core.postgres.PostgresDatabase`
   creates the URL's ``search_path`` schema if needed and runs every migration there. The copy
   then runs in ONE PostgreSQL transaction that first locks every table of the schema (a node
   started on the target meanwhile waits for the commit) and refuses if any holds a row, naming
   them and how to start over (drop the schema).
4. **Every table, column by name.** The tables are those of the SQLite file (``sqlite_master``,
   without the ledger, which the target has its own of, and SQLite's ``sqlite_*``), parents
   before children where a foreign key links them; each column goes to the target's column of
   that name (a source column the target lacks is refused). SQLite types loosely, so a value
   not of the target column's type (``information_schema.columns``: BIGINT, DOUBLE PRECISION,
   TEXT, ...) is converted: ``3.0`` in an integer column becomes ``3``, a number in a text
   column its text. One scan of each table in SQLite (``typeof``) finds the columns that hold
   such values, and only those are converted row by row in Python. A value that cannot be
   converted (``"soon"`` in a timestamp, a NUL in a text) is refused with its table, column and
   row (by primary key), and nothing is kept.
5. **COPY, streamed.** Each table goes in one binary ``COPY`` fed by an iterator over the
   source's rows, read 1,000 at a time, so memory stays bounded whatever the tables hold.
   Measured on 100,000 inbox-item rows (12 columns, 800-byte bodies) on a shared 2-core
   machine: ``executemany`` in batches of 1,000 made ~55,000 rows/s, ``INSERT ... SELECT FROM
   jsonb_to_recordset`` ~38,000, ``COPY`` per batch of 1,000 ~77,000 and one streamed ``COPY``
   per table ~110,000; the whole command (migrations, type scan, copy, counts) ~50,000-70,000.
6. **Sequences, then counts.** Each identity column (the ``seq`` of objects, inbox items,
   deliveries, ...) has its sequence set to the highest value copied, so the next row numbers
   after the old ones; every table's row count is compared with the source's before the commit.

The URL's password is never printed: messages name the target by :func:`node.core.postgres.redacted`.
"""

from __future__ import annotations

import math
import os
import sqlite3
import time
import tomllib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from node.core.config import load_config, parse_config
from node.core.db import DatabaseInUse, hold_exclusive_lock
from node.core.migrations import Migration
from node.core.postgres import PostgresDatabase, is_postgres_url, redacted, search_path

READ_ROWS = 1000  # rows read from SQLite at a time (COPY streams them on)
LEDGER = "schema_migrations"


class StoreMigrationError(Exception):
    """The copy cannot be done, or failed and kept nothing; the message says why and what to do."""


@dataclass(frozen=True)
class Copied:
    """What a copy moved: rows per table (in copy order), and how long it took."""

    rows: dict[str, int]
    seconds: float

    @property
    def total(self) -> int:
        return sum(self.rows.values())

    def summary(self) -> list[str]:
        """The table of tables and rows, and the total with its speed."""
        width = max([len(name) for name in self.rows] + [len("table")])
        lines = [f"{'table':<{width}}  {'rows':>10}"]
        lines += [f"{name:<{width}}  {count:>10,}" for name, count in self.rows.items()]
        rate = self.total / self.seconds if self.seconds > 0 else 0.0
        lines.append(f"{'total':<{width}}  {self.total:>10,}  in {self.seconds:.1f} s ({rate:,.0f} rows/s)")
        return lines


def endpoints(
    source: Path | None, target: str | None, config: Path | None, environ: Mapping[str, str] = os.environ
) -> tuple[Path, str]:
    """The SQLite file and the PostgreSQL URL of a ``migrate-store`` command line: ``--from``, else
    the config's SQLite file; ``--to``, else ``DATABASE_URL``, else the config's PostgreSQL address."""
    stored_file, stored_url = _config_storage(config) if config is not None else (None, None)
    source = source or stored_file
    if source is None:
        raise StoreMigrationError(
            "name the SQLite file to copy: --from PATH"
            + (
                f" ({config} names no SQLite file in [storage] database)"
                if config is not None
                else ", or --config PATH"
            )
        )
    target = target or environ.get("DATABASE_URL") or stored_url
    if target is None:
        raise StoreMigrationError(
            "name the PostgreSQL store to fill: --to postgresql://user@host/db (with ?search_path=<schema>"
            " for a schema of its own), or set DATABASE_URL"
        )
    if not is_postgres_url(target):
        raise StoreMigrationError(
            f"{redacted(target)} (--to, or DATABASE_URL) is not a PostgreSQL address: give postgresql://user@host/db"
        )
    return source, target


def _config_storage(path: Path) -> tuple[Path | None, str | None]:
    """The config file's own ``[storage] database``, as a file or a URL (``DATABASE_URL`` set for the
    target must not hide the file the node ran on)."""
    load_config(path)  # every check and message of a config, once
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    storage = parse_config(raw, relative_to=path.resolve().parent, environ={}).storage
    return storage.database, storage.url


async def migrate_store(source: Path, target: str, migrations: Iterable[Migration]) -> Copied:
    """Copy the stopped node's SQLite file ``source`` into the empty PostgreSQL store ``target``."""
    migrations = list(migrations)
    lock = _hold(source)
    try:
        started = time.monotonic()
        with _read_only(source) as sqlite:
            _check_ledger(sqlite, source, migrations)
            tables = _source_tables(sqlite)
            await _build_target(target, migrations)
            rows = await _copy_all(sqlite, tables, target)
        return Copied(rows, time.monotonic() - started)
    except (sqlite3.Error, asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
        raise StoreMigrationError(
            f"copying {source} to {redacted(target)} failed ({type(error).__name__}: {error}); the target kept"
            " nothing: check the file and the server, then run migrate-store again"
        ) from None
    finally:
        lock.close()


def _hold(source: Path):
    """The source's exclusive lock (as a running node holds it): no node runs on it during the copy."""
    if not source.is_file():
        raise StoreMigrationError(f"no SQLite database at {source}; check --from (or [storage] database)")
    try:
        return hold_exclusive_lock(source)
    except DatabaseInUse:
        raise StoreMigrationError(
            f"{source} is in use by a running node: stop it (chapterhouse serve), then run migrate-store"
            " again; the node must not write while its file is copied"
        ) from None


@contextmanager
def _read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """The file opened read-only, in one read transaction: every table read from one snapshot."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
        conn.execute("BEGIN")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the snapshot starts here
    except sqlite3.DatabaseError as error:
        raise StoreMigrationError(f"{path} is not a usable SQLite database: {error}") from None
    try:
        yield conn
    finally:
        conn.close()


def _check_ledger(sqlite: sqlite3.Connection, source: Path, migrations: list[Migration]) -> None:
    """Refuse a file whose ledger is not exactly this version's migrations."""
    start_once = (
        "start the node once on this version (chapterhouse serve migrates its file), stop it, then run"
        " migrate-store again"
    )
    if not sqlite.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (LEDGER,)).fetchone():
        raise StoreMigrationError(f"{source} has no migrations ledger (an older Chapterhouse wrote it): {start_once}")
    recorded = {(room, number) for room, number in sqlite.execute(f"SELECT room, number FROM {LEDGER}")}
    missing = [m for m in migrations if m.key not in recorded]
    if missing:
        first = missing[0]
        raise StoreMigrationError(
            f"{source} lacks {len(missing)} migration(s) of this version (first: {first.room} {first.number},"
            f" {first.name}): {start_once}"
        )
    unknown = sorted(recorded - {m.key for m in migrations})
    if unknown:
        raise StoreMigrationError(
            f"{source} records migrations this version does not have ({', '.join(f'{r} {n}' for r, n in unknown[:3])}):"
            " a newer Chapterhouse wrote it; run migrate-store from that version"
        )


@dataclass(frozen=True)
class Table:
    """A source table: its columns, and the columns that name a row (its primary key) in messages."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]


def _source_tables(sqlite: sqlite3.Connection) -> list[Table]:
    names = [
        name
        for (name,) in sqlite.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
            " AND name != ? ORDER BY name",
            (LEDGER,),
        )
    ]
    tables = {}
    for name in names:
        info = sqlite.execute(f"PRAGMA table_info({_quoted(name)})").fetchall()  # cid, name, type, notnull, default, pk
        key = tuple(column for _, column, *_, pk in sorted(info, key=lambda c: c[5]) if pk)
        tables[name] = Table(name, tuple(column[1] for column in info), key)
    parents = {
        name: {row[2] for row in sqlite.execute(f"PRAGMA foreign_key_list({_quoted(name)})")} - {name} for name in names
    }
    return [tables[name] for name in _parents_first(names, parents)]


def _parents_first(names: list[str], parents: dict[str, set[str]]) -> list[str]:
    """The tables with each one after those its foreign keys point to (alphabetical otherwise)."""
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in ordered or name in visiting or name not in parents:
            return
        visiting.add(name)
        for parent in sorted(parents[name]):
            visit(parent)
        ordered.append(name)

    for name in names:
        visit(name)
    return ordered


async def _build_target(url: str, migrations: list[Migration]) -> None:
    """The target's schema and tables: opening the store runs every migration on it."""
    store = PostgresDatabase(url, migrations=migrations, pool_size=1)
    try:
        await store.open()
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        raise StoreMigrationError(
            f"cannot open the target {redacted(url)}: {error}; check the address, that the server runs, and"
            " that its user may create a schema and tables there"
        ) from None
    await store.close()


async def _copy_all(sqlite: sqlite3.Connection, tables: list[Table], url: str) -> dict[str, int]:
    """Every table in one transaction: all of it is committed, or none."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            columns = await _target_columns(conn)
            await _refuse_rows(conn, sorted(columns), url)
            plans = [_plan(sqlite, table, columns) for table in tables]
            copied = {plan.table.name: await _copy_table(sqlite, conn, plan) for plan in plans}
            await _advance_identities(conn, plans)
            await _verify_counts(sqlite, conn, copied, url)
        return copied
    finally:
        await conn.close()


@dataclass(frozen=True)
class TargetColumn:
    type: str  # information_schema's data_type: bigint, double precision, text, ...
    identity: bool  # an identity (or serial) column, whose sequence follows the copied values


async def _target_columns(conn: asyncpg.Connection) -> dict[str, dict[str, TargetColumn]]:
    """Every table of the target's schema (but the ledger), column name -> type."""
    rows = await conn.fetch(
        "SELECT c.table_name, c.column_name, c.data_type,"
        " c.is_identity = 'YES' OR coalesce(c.column_default, '') LIKE 'nextval(%' AS identity"
        " FROM information_schema.columns c JOIN information_schema.tables t"
        " ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
        " WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.table_name != $1"
        " ORDER BY c.table_name, c.ordinal_position",
        LEDGER,
    )
    tables: dict[str, dict[str, TargetColumn]] = {}
    for row in rows:
        tables.setdefault(row["table_name"], {})[row["column_name"]] = TargetColumn(row["data_type"], row["identity"])
    return tables


async def _refuse_rows(conn: asyncpg.Connection, names: list[str], url: str) -> None:
    """Lock every target table for the copy's transaction; refuse if any holds a row."""
    if not names:
        raise StoreMigrationError(f"the target {redacted(url)} has no tables after its migrations; check its schema")
    await conn.execute(f"LOCK TABLE {', '.join(_quoted(n) for n in names)} IN ACCESS EXCLUSIVE MODE")
    held = [name for name in names if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {_quoted(name)})")]
    if held:
        schema = search_path(url)
        again = (
            f'drop its schema (DROP SCHEMA "{schema}" CASCADE) and run migrate-store again'
            if schema
            else "drop the database (or name a new schema with ?search_path=<name>) and run migrate-store again"
        )
        raise StoreMigrationError(
            f"the target {redacted(url)} already holds rows in {', '.join(held)}; migrate-store fills an empty"
            f" store only. To start over, {again}"
        )


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


Convert = Callable[[Any], Any]


@dataclass(frozen=True)
class Plan:
    """How one table goes across: its columns' target types, and which columns hold a value to convert."""

    table: Table
    types: tuple[str, ...]
    identities: tuple[str, ...]
    converting: tuple[tuple[int, Convert], ...]  # (column's index, conversion), for the columns that need it

    def record(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        if not self.converting:
            return row  # every value already of its target's type: sent as SQLite gave it
        values = list(row)
        for index, convert in self.converting:
            try:
                values[index] = convert(values[index])
            except (TypeError, ValueError, OverflowError) as error:
                raise self.refusal(row, index, error) from None
        return tuple(values)

    def refusal(self, row: tuple[Any, ...], index: int, error: Exception) -> StoreMigrationError:
        values = dict(zip(self.table.columns, row, strict=True))
        where = ", ".join(f"{k} = {values[k]!r}" for k in self.table.key) or "(no primary key)"
        return StoreMigrationError(
            f"table {self.table.name}, column {self.table.columns[index]}, row {where}: {_shown(row[index])} cannot"
            f" be stored as {self.types[index]} on PostgreSQL ({error}); correct or delete that row in the SQLite"
            " file (with the node stopped) and run migrate-store again. Nothing was copied"
        )


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _plan(sqlite: sqlite3.Connection, table: Table, targets: dict[str, dict[str, TargetColumn]]) -> Plan:
    target = targets.get(table.name)
    if target is None:
        raise StoreMigrationError(
            f"table {table.name} of the SQLite file has no table on the target: no migration of this version"
            " makes it; drop it from the SQLite file if it is not the node's, or run this version's node once"
        )
    lacking = [column for column in table.columns if column not in target]
    if lacking:
        raise StoreMigrationError(
            f"table {table.name} of the SQLite file has columns the target lacks ({', '.join(lacking)}): the"
            " migrations on the two stores differ; report it (this is a Chapterhouse bug)"
        )
    types = tuple(target[column].type for column in table.columns)
    unknown = [f"{column} ({kind})" for column, kind in zip(table.columns, types, strict=True) if kind not in CONVERT]
    if unknown:
        raise StoreMigrationError(f"table {table.name}: migrate-store cannot fill columns of type {', '.join(unknown)}")
    return Plan(
        table=table,
        types=types,
        identities=tuple(column for column in table.columns if target[column].identity),
        converting=tuple((index, CONVERT[types[index]]) for index in _to_convert(sqlite, table, types)),
    )


# The SQLite storage classes (``typeof``) a target type takes as they are; any other value of the
# column makes it a column converted row by row. (A text with a NUL, which PostgreSQL refuses, is
# looked for only when the COPY fails on one: :func:`_nul_in`.)
_AS_THEY_ARE = {
    "bigint": ("integer",),
    "double precision": ("real", "integer"),
    "text": ("text",),
    "character varying": ("text",),
    "json": ("text",),
    "jsonb": ("text",),
    "bytea": ("blob",),
}


def _to_convert(sqlite: sqlite3.Connection, table: Table, types: tuple[str, ...]) -> list[int]:
    """The columns holding some value not already of its target's type (one scan of the table, in SQLite)."""
    checks = []
    for column, kind in zip(table.columns, types, strict=True):
        taken = _AS_THEY_ARE.get(kind)
        if taken is None:
            checks.append("max(1)")  # always converted (a boolean, a 4-byte integer's range)
            continue
        checks.append(f"max(typeof({_quoted(column)}) NOT IN ('null', {', '.join(repr(t) for t in taken)}))")
    row = sqlite.execute(f"SELECT {', '.join(checks)} FROM {_quoted(table.name)}").fetchone()
    return [index for index, dirty in enumerate(row) if dirty]


def _integer(bits: int) -> Convert:
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1

    def convert(value: Any) -> int | None:
        if value is None:
            return None
        if type(value) is not int:
            if isinstance(value, bytes):
                raise TypeError("bytes are no integer")
            number = float(value) if isinstance(value, str) and not value.strip().lstrip("+-").isdigit() else value
            if isinstance(number, float) and not number.is_integer():
                raise ValueError(f"{value!r} is no whole number")
            value = int(number)
        if not low <= value <= high:
            raise OverflowError(f"{value} is out of range")
        return value

    return convert


def _float(value: Any) -> float | None:
    if value is None or type(value) is float:
        return value
    if isinstance(value, bytes):
        raise TypeError("bytes are no number")
    number = float(value)  # an int, or a numeric text; "soon" raises ValueError
    if math.isnan(number):
        raise ValueError("NaN is no time or amount")
    return number


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if type(value) is not str:
        value = value.decode("utf-8") if isinstance(value, bytes) else str(value)
    if "\x00" in value:
        raise ValueError("PostgreSQL text cannot hold a NUL character")
    return value


def _bytes(value: Any) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


def _boolean(value: Any) -> bool | None:
    if value is None:
        return None
    if value in (0, 1, "0", "1"):
        return bool(int(value))
    raise ValueError(f"{value!r} is no boolean")


CONVERT: dict[str, Convert] = {
    "bigint": _integer(64),
    "integer": _integer(32),
    "smallint": _integer(16),
    "double precision": _float,
    "real": _float,
    "text": _text,
    "character varying": _text,
    "json": _text,
    "jsonb": _text,
    "bytea": _bytes,
    "boolean": _boolean,
}


async def _copy_table(sqlite: sqlite3.Connection, conn: asyncpg.Connection, plan: Plan) -> int:
    """One table in one streamed COPY; the number of rows sent."""
    columns = plan.table.columns
    cursor = sqlite.execute(f"SELECT {', '.join(_quoted(c) for c in columns)} FROM {_quoted(plan.table.name)}")
    sent = 0

    async def records() -> AsyncIterator[tuple[Any, ...]]:
        nonlocal sent
        while batch := cursor.fetchmany(READ_ROWS):
            for row in batch:
                yield plan.record(row)
            sent += len(batch)

    try:
        await conn.copy_records_to_table(plan.table.name, records=records(), columns=list(columns))
    except asyncpg.CharacterNotInRepertoireError as error:
        raise _nul_in(sqlite, plan) or StoreMigrationError(f"copying table {plan.table.name} failed: {error}") from None
    except asyncpg.PostgresError as error:
        detail = f" ({error.detail})" if getattr(error, "detail", None) else ""
        raise StoreMigrationError(
            f"copying table {plan.table.name} failed: {error}{detail}; nothing was copied. Correct that row in"
            " the SQLite file (with the node stopped) and run migrate-store again"
        ) from None
    return sent


def _nul_in(sqlite: sqlite3.Connection, plan: Plan) -> StoreMigrationError | None:
    """The first text of the table holding a NUL character, which PostgreSQL's text cannot."""
    for index, kind in enumerate(plan.types):
        if _AS_THEY_ARE.get(kind) != ("text",):
            continue
        column = _quoted(plan.table.columns[index])
        columns = ", ".join(_quoted(c) for c in plan.table.columns)
        row = sqlite.execute(
            f"SELECT {columns} FROM {_quoted(plan.table.name)} WHERE instr({column}, char(0)) > 0 LIMIT 1"
        ).fetchone()
        if row is not None:
            return plan.refusal(row, index, ValueError("PostgreSQL text cannot hold a NUL character"))
    return None


async def _advance_identities(conn: asyncpg.Connection, plans: list[Plan]) -> None:
    """Each identity column's sequence set to its highest copied value: new rows number after the old."""
    for plan in plans:
        for column in plan.identities:
            highest = await conn.fetchval(f"SELECT max({_quoted(column)}) FROM {_quoted(plan.table.name)}")
            if highest is not None:
                await conn.execute(
                    "SELECT setval(pg_get_serial_sequence($1, $2), $3)", _quoted(plan.table.name), column, highest
                )


async def _verify_counts(
    sqlite: sqlite3.Connection, conn: asyncpg.Connection, copied: dict[str, int], url: str
) -> None:
    """Each table's rows counted on both sides (the source in the copy's snapshot) before the commit."""
    for name, sent in copied.items():
        source = sqlite.execute(f"SELECT count(*) FROM {_quoted(name)}").fetchone()[0]
        target = await conn.fetchval(f"SELECT count(*) FROM {_quoted(name)}")
        if not source == sent == target:
            raise StoreMigrationError(
                f"table {name}: {source} rows in the SQLite file, {sent} sent, {target} in {redacted(url)};"
                " nothing was kept. Run migrate-store again, and report it if it happens again"
            )
