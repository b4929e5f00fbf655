"""`chapterhouse migrate-store`: a SQLite node moved to PostgreSQL answers the federation as before.

A node runs on its SQLite file with every kind of content (a follower and a member on a real
remote server, posts, an Event, minutes, a poll with a vote, a deleted post, a featured post,
processed inbox items, a delivery still queued); its public answers are recorded; it stops; the
command (run as a process, as an operator would) copies the file into a fresh PostgreSQL schema;
the same node config, but on PostgreSQL, starts on the same port and must give the same
documents, sign with the same keys, send the queued delivery, and number new posts after the old.
A chapter (under an international node) whose copy of a proposal took its members' ballots,
closed and sent its signed tally serves the copy, its leaves and each voter's receipt the same
once moved.
Then the refusals: a source a running node holds, a target with rows, a source behind this
version, a value that cannot be converted (the target keeps no row), a password never printed.

These need a PostgreSQL server, so they run in the ``--store postgres`` pass (``postgres_only``), on
its server (the one ``CHAPTERHOUSE_TEST_POSTGRES`` names or the run's throwaway cluster); the
source is always a SQLite node's file. Each test has a schema of its own (``chtest_...``,
dropped at the end).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import sqlite3
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from federation.signatures import read_signature_claim, verify_claim
from node.core.clock import FrozenClock, iso
from node.core.config import StorageConfig
from node.core.db import fetch_value
from node.decisions import copy_store
from tests.support import tree
from tests.support.c2s import eventually, get_json, publish
from tests.support.decisions import MemberHost, add_members, copy_questions, final_results
from tests.support.nodes import node_config, start_node
from tests.support.polls import admin_adds_member, mastodon_vote, open_poll, run_poll_worker
from tests.support.stores import new_schema, server_url

pytestmark = pytest.mark.postgres_only

ROOT = Path(__file__).resolve().parents[2]
EVENT = {
    "type": "Event",
    "name": "Winter book fair",
    "content": "<p>Second-hand books.</p>",
    "startTime": "2026-12-05T10:00:00+01:00",
    "endTime": "2026-12-05T17:00:00+01:00",
    "location": {"type": "Place", "name": "Town hall"},
}
MINUTES = {
    "type": "Minutes",
    "name": "General meeting, November",
    "meetingDate": "2026-11-20",
    "attendees": ["Ada", "Grace"],
    "agenda": ["Book fair"],
    "decisions": [{"text": "Hold the book fair on 5 December"}],
    "content": "<p>Tea was excellent.</p>",
}


@pytest.fixture
async def postgres(tmp_path):
    """A URL naming a fresh schema on the test server (dropped afterwards)."""
    server = server_url()
    schema = new_schema("migrate")
    yield f"{server}{'&' if '?' in server else '?'}search_path={schema}"
    conn = await asyncpg.connect(server)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def chapterhouse(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "node.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
    )


async def migrate(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return await asyncio.to_thread(chapterhouse, "migrate-store", *args, env=env)


def sqlite_config(tmp_path: Path, name: str = "london"):
    config = node_config(tmp_path, name)
    return replace(config, storage=StorageConfig(database=tmp_path / f"{name}.sqlite3"))


async def target_rows(url: str) -> dict[str, int]:
    """Rows per table of the URL's schema (the ledger aside)."""
    conn = await asyncpg.connect(url)
    try:
        names = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            " AND table_name != 'schema_migrations'"
        )
        return {r["table_name"]: await conn.fetchval(f'SELECT count(*) FROM "{r["table_name"]}"') for r in names}
    finally:
        await conn.close()


async def fill(node, alice) -> dict[str, str]:
    """Every kind of content, ending with a delivery left queued; the ids to read back."""
    status, body = await alice.post(node.inbox, alice.activity("Follow", node.actor_id))
    assert status == 202, body
    await admin_adds_member(node, alice.id)
    ids = {}
    for kind, document in [
        ("note", {"type": "Note", "content": "<p>Hello, fediverse</p>"}),
        ("article", {"type": "Article", "name": "News", "content": "<p>Long news.</p>"}),
        ("event", EVENT),
        ("minutes", MINUTES),
        ("deleted", {"type": "Note", "content": "<p>Gone soon</p>"}),
    ]:
        status, result, _ = await publish(node, document)
        assert status == 201, result
        ids[kind] = result["object"]
    assert (await publish(node, {"type": "Delete", "object": ids["deleted"]}))[0] == 201
    featured = f"{node.actor_id}/featured"
    assert (await publish(node, {"type": "Add", "object": ids["note"], "target": featured}))[0] == 201
    ids["question"] = (await open_poll(node, "oneOf", ["Tuesday", "Thursday"]))["object"]
    await node.settle()
    status, body = await alice.post(node.inbox, mastodon_vote(alice.id, ids["question"], node.actor_id, "Tuesday", 1))
    assert status == 202, body
    await node.settle()
    await run_poll_worker(node)
    await node.settle()
    status, result, _ = await publish(node, {"type": "Note", "content": "<p>Queued when the node stopped</p>"})
    assert status == 201, result
    ids["queued"] = result["object"]
    return ids


async def answers(node, ids: dict[str, str]) -> dict[str, tuple[int, dict]]:
    """What the node says to anyone who asks: its actors, collections and their first pages,
    the objects (the poll with its counts, the deleted post's Tombstone), WebFinger, NodeInfo."""
    base, host = node.base_url, node.config.node.host
    urls = [node.actor_id, f"{base}/actor", *ids.values(), f"{base}/.well-known/nodeinfo"]
    for collection in ("outbox", "followers", "following", "featured", "members"):
        urls += [f"{node.actor_id}/{collection}", f"{node.actor_id}/{collection}?page=1"]
    found = {url: await get_json(url) for url in urls}
    webfinger = f"{base}/.well-known/webfinger?resource=acct:{node.config.node.name}@{host}"
    found[webfinger] = await get_json(webfinger, accept="*/*")
    for link in found[f"{base}/.well-known/nodeinfo"][1]["links"]:
        found[link["href"]] = await get_json(link["href"], accept="*/*")
    return found


async def test_a_node_moved_to_postgres_answers_as_before(tmp_path, remote_actor, postgres):
    alice = await remote_actor("alice")
    config = sqlite_config(tmp_path)
    node = await start_node(config, start_workers=False)
    try:
        ids = await fill(node, alice)
        before = await answers(node, ids)
        highest = await fetch_value(node.db.reader, "SELECT max(seq) FROM objects")
    finally:
        await node.stop()
    assert before[ids["deleted"]][0] == 410 and before[ids["note"]][0] == 200
    assert before[node.actor_id][1]["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert before[ids["question"]][1]["oneOf"][0]["replies"]["totalItems"] == 1  # alice's vote, counted
    for collection in ("followers", "members", "featured"):
        assert before[f"{node.actor_id}/{collection}"][1]["totalItems"] == 1, collection
    source = config.storage.database
    digest = hashlib.sha256(source.read_bytes()).hexdigest()

    # as an operator would: the node's config names the file, DATABASE_URL the new store
    toml = tmp_path / "london.toml"
    toml.write_text((ROOT / "config.example.toml").read_text().replace("data/london.sqlite3", str(source)))
    result = await migrate("--config", str(toml), env={"DATABASE_URL": postgres})
    assert result.returncode == 0, result.stderr
    assert "objects" in result.stdout and "total" in result.stdout and "rows/s" in result.stdout
    assert hashlib.sha256(source.read_bytes()).hexdigest() == digest  # the file is left as it was

    alice.received.clear()
    moved = await start_node(replace(config, storage=StorageConfig(url=postgres)), start_workers=False)
    try:
        after = await answers(moved, ids)
        assert after.keys() == before.keys()
        for url, answer in before.items():
            assert after[url] == answer, url
        await moved.settle()  # the delivery queued on SQLite goes out from PostgreSQL, with the same key
        create = next(r for r in alice.received if r.activity["type"] == "Create")
        assert create.activity["object"]["id"] == ids["queued"]
        claim = read_signature_claim("POST", create.path, create.headers, create.body, now=datetime.now(UTC))
        verify_claim(claim, before[node.actor_id][1]["publicKey"]["publicKeyPem"])

        status, result_, _ = await publish(moved, {"type": "Note", "content": "<p>First on PostgreSQL</p>"})
        assert status == 201, result_
        seq = await fetch_value(moved.db.reader, "SELECT seq FROM objects WHERE id = ?", (result_["object"],))
        assert seq > highest
        _, page = await get_json(f"{moved.outbox}?page=1")
        assert page["orderedItems"][0]["object"]["id"] == result_["object"]
    finally:
        await moved.stop()


async def decided_chapter(make_node, tmp_path, clock: FrozenClock, host: MemberHost):
    """A chapter on its SQLite file under an international node (on the pass's store), with 3 members, 2 of
    whom voted on a proposal that closed and was decided: (the running chapter, its config, the copy's id)."""
    config = replace(tree.tree_config(tmp_path, "a", "chapter"), storage=StorageConfig(database=tmp_path / "a.sqlite3"))
    world_config = tree.tree_config(
        tmp_path, "world", "international", accept_children_from=(tree.host_of(config.node),)
    )
    world = await make_node(config=world_config, clock=clock)
    chapter = await start_node(config, clock=clock)
    try:
        return chapter, config, await _decide(world, chapter, clock, host)
    except BaseException:
        await chapter.stop()
        raise


async def _decide(world, chapter, clock: FrozenClock, host: MemberHost) -> str:
    """Link, issue, vote, close, wait for the outcome at the chapter: the copy's id."""
    await add_members(chapter, host, "a", 3)
    assert (await tree.link(chapter, world))[0] == 201
    await tree.wait_linked(chapter, world)

    async def reported():
        return [c for c in (await tree.tree_of(world))["children"] if (c.get("report") or {}).get("memberCount") == 3]

    await eventually(reported, timeout=20)
    end = iso(clock.now() + timedelta(minutes=5))
    body = {"type": "Question", "content": "<p>Adopt?</p>", "oneOf": ["agree", "disagree"], "endTime": end}
    status, answer, _ = await publish(world, {**body, "decision": {}})
    assert status == 201, answer
    proposal_id = answer["object"]
    question = (await copy_questions(chapter, proposal_id))[proposal_id]
    for name, choice in (("a0", "agree"), ("a1", "disagree")):
        assert await host.vote(chapter, name, question, choice) == 202
    await chapter.settle()
    clock.advance(minutes=5, seconds=1)
    assert (await final_results(world, proposal_id))["voters"] == 2

    async def told():
        return await fetch_value(
            chapter.db.reader, "SELECT outcome FROM decision_proposals WHERE id = ?", (proposal_id,)
        )

    await eventually(told, timeout=20)
    await eventually(lambda: _quiet(chapter), timeout=20)
    return (await copy_store.copy_of(chapter.db.reader, proposal_id))["copy_id"]


async def _quiet(node) -> bool:
    queued = "SELECT (SELECT count(*) FROM inbox_items WHERE state = 'queued') + (SELECT count(*) FROM deliveries"
    return await fetch_value(node.db.reader, queued + " WHERE state = 'queued')") == 0


async def test_a_chapter_moved_to_postgres_serves_its_decision_as_before(make_node, tmp_path, postgres):
    """The copy of a decided proposal (closed, with its counts), its leaves and a member's receipt: the same."""
    clock, host = FrozenClock(), await MemberHost().start()
    try:
        chapter, config, copy_id = await decided_chapter(make_node, tmp_path, clock, host)
        try:
            notes = [str(a.get("object", {}).get("content", "")) for a in host.received if a.get("type") == "Create"]
            receipts = {m for n in notes for m in re.findall(re.escape(copy_id) + r"/receipts/[0-9a-f]+", n)}
            assert len(receipts) == 2, notes  # one per voter
            urls = [copy_id, f"{copy_id}/leaves", *sorted(receipts)]
            before = {url: await get_json(url, accept="application/json") for url in urls}
        finally:
            await chapter.stop()
        assert {status for status, _ in before.values()} == {200}, before
        assert before[copy_id][1]["closed"] and before[f"{copy_id}/leaves"][1]["totalItems"] == 2
        result = await migrate("--from", str(config.storage.database), "--to", postgres)
        assert result.returncode == 0, result.stderr
        moved = await start_node(replace(config, storage=StorageConfig(url=postgres)), clock=clock, start_workers=False)
        try:
            after = {url: await get_json(url, accept="application/json") for url in urls}
        finally:
            await moved.stop()
        for url, answer in before.items():
            assert after[url] == answer, url
    finally:
        await host.stop()


async def test_refuses_while_a_node_holds_the_source(tmp_path, postgres):
    config = sqlite_config(tmp_path)
    node = await start_node(config, start_workers=False)
    try:
        result = await migrate("--from", str(config.storage.database), "--to", postgres)
    finally:
        await node.stop()
    assert result.returncode == 2
    assert "in use by a running node: stop it" in result.stderr, result.stderr
    assert await target_rows(postgres) == {}  # not even built


async def test_refuses_a_target_that_holds_rows(tmp_path, postgres):
    config = sqlite_config(tmp_path)
    await (await start_node(config, start_workers=False)).stop()
    await (await start_node(replace(config, storage=StorageConfig(url=postgres)), start_workers=False)).stop()
    result = await migrate("--from", str(config.storage.database), "--to", postgres)
    assert result.returncode == 2
    assert "already holds rows in" in result.stderr and "actor_keys" in result.stderr, result.stderr
    assert f'DROP SCHEMA "{postgres.rsplit("=", 1)[1]}" CASCADE' in result.stderr


async def test_a_failed_copy_leaves_the_target_without_rows_and_can_be_run_again(tmp_path, postgres):
    config = sqlite_config(tmp_path)
    node = await start_node(config, start_workers=False)
    try:
        status, result, _ = await publish(node, {"type": "Note", "content": "<p>A date gone wrong</p>"})
        assert status == 201, result
    finally:
        await node.stop()
    source = config.storage.database
    with sqlite3.connect(source) as conn:
        seq, author = conn.execute("SELECT seq, author FROM objects WHERE id = ?", (result["object"],)).fetchone()
        # a REAL column keeps a text that is no number as text; a TEXT column keeps bytes as a blob
        conn.execute("UPDATE objects SET published = 'soon', author = CAST(author AS BLOB) WHERE seq = ?", (seq,))
    failed = await migrate("--from", str(source), "--to", postgres)
    assert failed.returncode == 2
    refusal = f"table objects, column published, row seq = {seq}: 'soon' cannot be stored as double precision"
    assert refusal in failed.stderr and "Nothing was copied" in failed.stderr, failed.stderr
    rows = await target_rows(postgres)
    assert "actor_keys" in rows and set(rows.values()) == {0}  # copied before objects, and rolled back

    with sqlite3.connect(source) as conn:
        conn.execute("UPDATE objects SET published = 1767225600.5 WHERE seq = ?", (seq,))
    done = await migrate("--from", str(source), "--to", postgres)
    assert done.returncode == 0, done.stderr
    conn = await asyncpg.connect(postgres)
    try:  # the blob went across as the text it holds
        assert await conn.fetchval("SELECT author FROM objects WHERE seq = $1", seq) == author
        assert await conn.fetchval("SELECT published FROM objects WHERE seq = $1", seq) == 1767225600.5
    finally:
        await conn.close()


async def test_refuses_a_source_that_lacks_a_migration_of_this_version(tmp_path, postgres):
    config = sqlite_config(tmp_path)
    await (await start_node(config, start_workers=False)).stop()
    with sqlite3.connect(config.storage.database) as conn:
        conn.execute("DELETE FROM schema_migrations WHERE rowid = (SELECT max(rowid) FROM schema_migrations)")
    result = await migrate("--from", str(config.storage.database), "--to", postgres)
    assert result.returncode == 2
    assert "start the node once on this version" in result.stderr, result.stderr


async def test_the_password_is_never_printed(tmp_path, postgres):
    config = sqlite_config(tmp_path)
    await (await start_node(config, start_workers=False)).stop()
    closed = "postgresql://someone:hunter2-secret@127.0.0.1:1/nowhere"  # nothing listens on port 1
    result = await migrate("--from", str(config.storage.database), "--to", closed)
    assert result.returncode == 2
    assert "cannot open the target postgresql://someone:***@127.0.0.1:1/nowhere" in result.stderr, result.stderr
    assert "hunter2" not in result.stderr + result.stdout
    assert urlsplit(postgres).password is None or urlsplit(postgres).password not in result.stderr
