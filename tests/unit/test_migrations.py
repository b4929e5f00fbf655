"""The migrations' ledger: numbered per room, each (room, number) applied once, rooms added to
an existing database get their migrations, and a database from before the ledger (only
``PRAGMA user_version``) is upgraded without applying anything twice."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import replace
from itertools import groupby

import aiosqlite
import pytest

from node.core.migrations import Migration, OnSqliteConnection, in_order, migrate, recorded
from node.web.app import all_migrations, build_registry

ROOMS_OF_EVERY_NODE = {"core", "web", "membership", "moderation"}


def _tables(path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


async def _old_runner(conn: aiosqlite.Connection, migrations: list[Migration]) -> None:
    """What ``migrate`` did before the ledger: global numbers above ``user_version``, in order."""
    version = (await (await conn.execute("PRAGMA user_version")).fetchone())[0]
    for migration in sorted(migrations, key=lambda m: m.number):
        if migration.number > version:
            await conn.executescript(migration.sql)
    top = max(m.number for m in migrations)
    await conn.execute(f"PRAGMA user_version={max(version, top)}")


def test_each_room_registers_its_own_migrations_numbered_within_the_room():
    ordered = in_order(all_migrations())
    for room, group in groupby(ordered, key=lambda m: m.room):
        numbers = [m.number for m in group]
        assert numbers == sorted(set(numbers)), f"{room}: {numbers}"
    # each migration's SQL names the room's folder that owns the table: the room registered it
    assert all(m.sql.split("-- ", 1)[1].split("/")[1] == m.room for m in ordered)
    assert {"core", "web", "membership", "polls", "content", "moderation", "branches", "decisions"} <= {
        m.room for m in ordered
    }


def test_a_migration_without_a_room_or_with_a_repeated_number_is_refused():
    with pytest.raises(ValueError, match="has no room: register it"):
        in_order([Migration(1, "loose", "CREATE TABLE loose (id INTEGER)")])
    twice = [Migration(3, "a", "SELECT 1", room="x"), Migration(3, "b", "SELECT 1", room="x")]
    with pytest.raises(ValueError, match="room 'x' has two migrations numbered 3"):
        in_order(twice)
    # two rooms may share a number (web and content both have an 11)
    assert len(in_order([*twice[:1], replace(twice[1], room="y")])) == 2


async def test_a_database_gets_every_rooms_tables_and_each_migration_once(tmp_path):
    path = tmp_path / "house.sqlite3"
    everything = all_migrations()
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        assert await migrate(OnSqliteConnection(conn), everything) == [m.key for m in in_order(everything)]
        later = Migration(1, "a later room's first", "CREATE TABLE later (id INTEGER PRIMARY KEY)", room="later")
        assert await migrate(OnSqliteConnection(conn), [*everything, later]) == [("later", 1)]
        assert await migrate(OnSqliteConnection(conn), [*everything, later]) == []  # applied once
        assert sorted(await recorded(conn)) == sorted([*(m.key for m in everything), ("later", 1)])
    assert {"objects", "members", "poll_questions", "endorsements", "site_settings", "branch_links", "later"} <= (
        _tables(path)
    )


async def test_a_room_added_to_an_existing_database_gets_its_migrations(tmp_path):
    path = tmp_path / "grown.sqlite3"
    bare, full = build_registry(features=()).migrations, build_registry().migrations
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        await migrate(OnSqliteConnection(conn), bare)
        assert "poll_questions" not in _tables(path)
        added = await migrate(OnSqliteConnection(conn), full)
        # polls' 5 and content's 6 are below what the bare node already applied (web 11): they run
        assert ("polls", 5) in added and ("content", 6) in added and ("content", 11) in added
        assert {room for room, _ in added} == {"polls", "content", "branches", "decisions", "projects"}
        # a room's new migration numbered below another room's highest runs too
        newer = Migration(2, "core: a later change", "CREATE TABLE core_later (id INTEGER)", room="core")
        assert await migrate(OnSqliteConnection(conn), [*full, newer]) == [("core", 2)]
    assert {"poll_questions", "minutes", "endorsements", "branch_links", "core_later"} <= _tables(path)


async def test_a_database_from_before_the_ledger_is_upgraded_with_nothing_applied_twice(tmp_path):
    path = tmp_path / "old.sqlite3"
    full = build_registry().migrations
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        await _old_runner(conn, full)
        # every migration creates its tables without IF NOT EXISTS: one run twice would fail here
        assert await migrate(OnSqliteConnection(conn), full) == []
        assert sorted(await recorded(conn)) == sorted(m.key for m in full)
        assert await migrate(OnSqliteConnection(conn), full) == []


async def test_a_room_the_old_runner_skipped_runs_when_the_ledger_is_made(tmp_path):
    """Before the ledger, a room registered after the database passed its numbers was skipped."""
    path = tmp_path / "skipped.sqlite3"
    bare, full = build_registry(features=()).migrations, build_registry().migrations
    # the old runner knew the migrations of the old global sequence (up to 12), none released since
    before_ledger = [m for m in full if m.number <= 12]
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        await _old_runner(conn, bare)  # user_version 11: web's 11 was the highest
        await _old_runner(conn, before_ledger)  # the old runner then ran only what was above 11
        assert "poll_questions" not in _tables(path)
        added = await migrate(OnSqliteConnection(conn), full)
        skipped = {m.key for m in full if m.room in {"polls", "content", "branches", "projects"} and m.number <= 11}
        assert set(added) == skipped | {m.key for m in full if m.number > 12}
        assert all(room not in ROOMS_OF_EVERY_NODE for room, _ in added)
        assert await migrate(OnSqliteConnection(conn), full) == []
    assert {"poll_questions", "minutes", "branch_links"} <= _tables(path)


async def test_an_edited_migration_is_named_in_a_warning_and_not_run_again(tmp_path, caplog):
    first = Migration(1, "a table", "CREATE TABLE edited (id INTEGER)", room="x")
    async with aiosqlite.connect(tmp_path / "e.sqlite3", isolation_level=None) as conn:
        await migrate(OnSqliteConnection(conn), [first])
        with caplog.at_level(logging.WARNING, logger="chapterhouse.migrations"):
            assert (
                await migrate(
                    OnSqliteConnection(conn), [replace(first, sql="CREATE TABLE edited (id INTEGER, more TEXT)")]
                )
                == []
            )
    assert "migration x 1 (a table) was edited after it was applied" in caplog.text


async def test_a_failing_migration_leaves_neither_its_tables_nor_its_ledger_row(tmp_path):
    path = tmp_path / "f.sqlite3"
    broken = Migration(1, "half", "CREATE TABLE half (id INTEGER); CREATE TABLE half (id INTEGER)", room="x")
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        with pytest.raises(sqlite3.OperationalError, match="already exists"):
            await migrate(OnSqliteConnection(conn), [broken])
        assert await recorded(conn) == []
    assert "half" not in _tables(path)
