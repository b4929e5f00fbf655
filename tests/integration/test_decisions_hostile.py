"""Decisions when peers lie (issue 18): each attack driven as the hostile party would, on real nodes.

The tree: ``world`` <- ``r1`` <- (``a``, ``b``, ``H``), where ``H`` is a scripted hostile Group
(:class:`tests.support.hostile.HostileGroup`: its own server, its own RSA and Ed25519 keys)
linked below ``r1`` as a chapter by its own signed Join, with its own signed report. A second
hostile server, never linked, plays the stranger; one more plays a hostile parent of a real
chapter. Members live on one :class:`tests.support.decisions.MemberHost`. Every test asserts
that the counts and outcome are the ones the honest ballots give, that nothing was written,
and that a linked peer is told why.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.core.clock import FrozenClock, iso
from node.core.db import fetch_all, fetch_one
from node.decisions import copy_store, received
from tests.support.c2s import eventually, get_json, publish
from tests.support.decisions import MemberHost, add_members, copy_questions, final_results, results
from tests.support.hostile import HostileGroup, random_entries
from tests.support.nodes import with_federation
from tests.support.tree import host_of, link, tree_config, tree_of, wait_linked

POLICY = {"passThreshold": 0.5, "turnoutQuorum": 0.2}
SIZES = {"a": 6, "b": 4}
H_MEMBERS = 4


@pytest.fixture
async def member_host():
    host = await MemberHost().start()
    yield host
    await host.stop()


@pytest.fixture
async def hostile():
    group = await HostileGroup("mallory", "chapter").start()
    yield group
    await group.stop()


@pytest.fixture
async def stranger():
    group = await HostileGroup("eve", "chapter").start()
    yield group
    await group.stop()


async def build(make_node, tmp_path, clock, host: MemberHost, hostile: HostileGroup, *, members: int = H_MEMBERS):
    """world <- r1 <- (a, b, the hostile chapter H); a and b have SIZES members, H reports ``members``."""
    configs = {name: tree_config(tmp_path, name, "chapter") for name in SIZES}
    hosts = (*(host_of(c.node) for c in configs.values()), hostile.host)
    configs["r1"] = tree_config(tmp_path, "r1", "region", accept_children_from=hosts)
    configs["world"] = tree_config(
        tmp_path, "world", "international", accept_children_from=(host_of(configs["r1"].node),)
    )
    many = {"key_fetch_per_host_burst": 1000, "key_fetch_per_host_per_minute": 100000.0}
    nodes = {name: await make_node(config=with_federation(c, **many), clock=clock) for name, c in configs.items()}
    for name, count in SIZES.items():
        await add_members(nodes[name], host, name, count)
    assert (await link(nodes["r1"], nodes["world"]))[0] == 201
    await wait_linked(nodes["r1"], nodes["world"])
    for name in SIZES:
        assert (await link(nodes[name], nodes["r1"]))[0] == 201
        await wait_linked(nodes[name], nodes["r1"])
    await hostile.join(nodes["r1"])
    assert (await hostile.report(nodes["r1"], members))[0] == 202
    expected = {nodes[n].actor_id: c for n, c in SIZES.items()} | {hostile.actor_id(): members}
    await eventually(lambda: _reported_counts(nodes["world"], expected), timeout=20)
    return nodes


async def _reported_counts(node, expected: dict[str, int]) -> bool:
    counts, stack = {}, [await tree_of(node)]
    while stack:
        entry = stack.pop()
        counts[entry["id"]] = (entry.get("report") or {}).get("memberCount")
        stack.extend(entry["children"])
    return all(counts.get(k) == v for k, v in expected.items())


async def issue(world, clock, *, decision=None, options=("agree", "disagree"), minutes=5, deadline_minutes=2) -> str:
    end = clock.now() + timedelta(minutes=minutes)
    body = {
        "type": "Question",
        "content": "<p>Adopt the charter?</p>",
        "oneOf": list(options),
        "endTime": iso(end),
        "decision": {**POLICY, "tallyDeadline": iso(end + timedelta(minutes=deadline_minutes)), **(decision or {})},
    }
    status, answer, _ = await publish(world, body)
    assert status == 201, answer
    return answer["object"]


async def offered(hostile: HostileGroup, proposal_id: str) -> dict:
    """The proposal as the hostile chapter received it (an Offer from its parent)."""

    async def found():
        for offer in hostile.of_type("Offer"):
            if isinstance(offer.get("object"), dict) and offer["object"].get("id") == proposal_id:
                return offer["object"]
        return None

    return await eventually(found, timeout=15)


async def vote(host: MemberHost, nodes, proposal_id: str, ballots: dict[str, dict[str, int]]) -> None:
    for chapter, counts in ballots.items():
        question = (await copy_questions(nodes[chapter], proposal_id))[proposal_id]
        number = 0
        for option, many in counts.items():
            for _ in range(many):
                assert await host.vote(nodes[chapter], f"{chapter}{number}", question, option) == 202
                number += 1
    for chapter in ballots:
        await nodes[chapter].settle()


async def inbox_item(node, activity_id: str, *, state: str | None = None, within: float = 15.0):
    """The node's inbox row of ``activity_id`` once processed (done or dead)."""

    async def finished():
        row = await fetch_one(node.db.reader, "SELECT * FROM inbox_items WHERE activity_id = ?", (activity_id,))
        if row is None or row["state"] == "queued":
            return None
        return row

    row = await eventually(finished, timeout=within)
    if state is not None:
        assert row["state"] == state, dict(row)
    return row


async def dead_with(node, activity_id: str, why: str) -> str:
    row = await inbox_item(node, activity_id, state="dead")
    assert why in (row["last_error"] or ""), row["last_error"]
    return row["last_error"]


async def rows(node, proposal_id: str) -> dict[str, list[tuple]]:
    """Every decision row this node keeps of ``proposal_id`` (what a hostile document must not change)."""
    found = {}
    for table in ("decision_tallies", "decision_rolls", "decision_aggregates", "decision_exclusions"):
        kept = await fetch_all(node.db.reader, f"SELECT * FROM {table} WHERE proposal_id = ?", (proposal_id,))
        found[table] = sorted(tuple(row) for row in kept)
    found["proposal"] = [
        tuple(await fetch_one(node.db.reader, "SELECT * FROM decision_proposals WHERE id = ?", (proposal_id,)))
    ]
    return found


def without_context(document):
    """``document`` without any ``@context`` (whose term definitions name every type and field)."""
    if isinstance(document, dict):
        return {k: without_context(v) for k, v in document.items() if k != "@context"}
    if isinstance(document, list):
        return [without_context(v) for v in document]
    return document


def keys_in(document) -> set[str]:
    """Every key of every object in ``document`` (outside its ``@context``)."""
    found: set[str] = set()
    stack = [without_context(document)]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found |= set(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def counts_of(final: dict, number: int = 0) -> dict[str, int]:
    return {o["name"]: o["count"] for o in final["questions"][number]["options"]}


def chapters_of(final: dict) -> dict[str, dict]:
    found, stack = {}, list(final["branches"])
    while stack:
        entry = stack.pop()
        found[entry["id"]] = entry
        stack.extend(entry["children"])
    return found


async def refused_at(node, proposal_id: str, chapter: str, why: str) -> dict:
    async def kept():
        return await received.get_tally(node.db.reader, proposal_id, chapter)

    row = await eventually(kept, timeout=15)
    assert row["status"] == "refused" and why in row["reason"], dict(row)
    return dict(row)


async def told(hostile: HostileGroup, tally: dict, why: str) -> dict:
    """The signed refusal of exactly ``tally`` the hostile chapter was sent, saying ``why``."""

    async def found():
        for reject in hostile.of_type("Reject"):
            refusal = reject.get("result")
            if isinstance(refusal, dict) and refusal.get("refused") == tally["proof"]["proofValue"]:
                return refusal
        return None

    refusal = await eventually(found, timeout=15)
    assert refusal["type"] == "DecisionRefusal" and why in refusal["reason"] and "proof" in refusal, refusal
    return refusal


async def tally_sent(node, proposal_id: str):
    copy = await copy_store.copy_of(node.db.reader, proposal_id)
    return copy if copy is not None and copy["tally"] else None


async def reported_at(node, proposal_id: str, *chapters: str) -> None:
    async def all_there():
        kept = {t["origin"]: t["status"] for t in await received.tallies(node.db.reader, proposal_id)}
        return all(kept.get(c) == "reported" for c in chapters)

    await eventually(all_there, timeout=15)


async def send_roll(hostile: HostileGroup, r1, proposal_id: str, entries) -> dict:
    status, add = await hostile.add(r1, hostile.roll(proposal_id, entries))
    assert status == 202
    await inbox_item(r1, add["id"], state="done")
    return add


# --- 2: a sibling speaks for another chapter ----------------------------------------------------


async def test_a_sibling_cannot_overwrite_or_speak_for_a_chapter(make_node, tmp_path, member_host, hostile):
    """Attack 2 (and the mutation "a tally arriving through a child it does not hang under"): H, linked
    below r1 beside a, sends an aggregate attributed to a and a tally of a signed with its own key, and
    replays a's own genuine tally before a's arrives: each is refused before anything is written, and
    a's tally, when it comes from a, is counted."""
    clock = FrozenClock()
    nodes = await build(make_node, tmp_path, clock, member_host, hostile)
    r1, a = nodes["r1"], nodes["a"]
    pid = await issue(nodes["world"], clock)
    await offered(hostile, pid)
    await send_roll(hostile, r1, pid, random_entries(H_MEMBERS))
    await vote(member_host, nodes, pid, {"a": {"agree": 2}, "b": {"disagree": 1}})
    await a.delivery_worker.loop.stop()  # a's tally waits in its outbox: H replays it first
    clock.advance(minutes=5, seconds=1)
    a_tally = json.loads((await eventually(lambda: tally_sent(a, pid), timeout=15))["tally"])
    await eventually(lambda: received.get_tally(r1.db.reader, pid, nodes["b"].actor_id), timeout=15)
    before = await rows(r1, pid)
    aggregate = hostile.sign(
        hostile.decision("DecisionAggregate", pid, result={"questions": [], "voters": 0, "chapters": []})
        | {"attributedTo": a.actor_id}
    )
    own = hostile.sign(
        hostile.decision("DecisionAggregate", pid, result={"questions": [], "voters": 9, "chapters": []})
    )
    forged_tally = hostile.sign({k: v for k, v in a_tally.items() if k != "proof"} | {"voters": 0})  # H's key, a's name
    under_a_key = hostile.sign({k: v for k, v in a_tally.items() if k != "proof"}, method=f"{a.actor_id}#ed25519-key")
    attempts = (
        (aggregate, "a level sends its own aggregate"),
        (own, "a chapter sends its tally, not an aggregate"),  # H is a chapter: it would stand in its place
        (forged_tally, f"hangs under {a.actor_id}, not {hostile.actor_id()}"),
        (under_a_key, f"hangs under {a.actor_id}, not {hostile.actor_id()}"),
        (a_tally, f"hangs under {a.actor_id}, not {hostile.actor_id()}"),  # a's own signature: still not H's to bring
    )
    for document, why in attempts:
        status, add = await hostile.add(r1, document)
        assert status == 202
        await dead_with(r1, add["id"], why)
    assert await rows(r1, pid) == before
    assert await received.get_tally(r1.db.reader, pid, a.actor_id) is None
    a.delivery_worker.loop.start()
    a.delivery_worker.wake()
    kept = await eventually(lambda: received.get_tally(r1.db.reader, pid, a.actor_id), timeout=15)
    assert kept["status"] == "reported" and kept["via_child"] == a.actor_id
    assert json.loads(kept["document"]) == a_tally
    await reported_at(nodes["world"], pid, a.actor_id, nodes["b"].actor_id)
    clock.advance(minutes=2, seconds=1)  # H never reports: decided at the tallyDeadline
    final = await final_results(nodes["world"], pid)
    assert counts_of(final) == {"agree": 2, "disagree": 1} and final["voters"] == 3
    assert chapters_of(final)[a.actor_id]["status"] == "reported"
    assert final["electorate"] == 6 + 4 + H_MEMBERS
    assert not await received.aggregates(r1.db.reader, pid)


# --- 4 and 6: a hostile chapter's own figures ------------------------------------------------


def _lie(hostile: HostileGroup, prop: dict, voters: int, **claims) -> dict:
    """H's tally of ``voters`` disagreeing leaves (served on its host), with ``claims`` changed."""
    fields, _ = hostile.honest_tally(prop, [{prop["id"]: ["disagree"]}] * voters, roll_size=H_MEMBERS)
    return fields | claims


def _question(fields: dict, **changes) -> list[dict]:
    return [{**q, **changes} for q in fields["questions"]]


async def test_a_hostile_chapters_figures_are_recounted_and_refused(
    make_node, tmp_path, member_host, hostile, stranger
):
    """Attacks 4 and 6, and the mutations "a counted tally replaced" and "leaves fetched from another host":
    H's rollSize, voters (whole and per question), counts of null, a string or a float, a roll over what its
    signed report allows, a chapter of its own invention, a second tally, leaves on another host: each is
    refused (H told why, with a signed refusal of that very tally), nothing is passed up, /results answers
    200 at every level, and every proposal is decided as the honest ballots decide it."""
    clock = FrozenClock()
    nodes = await build(make_node, tmp_path, clock, member_host, hostile)
    r1, world = nodes["r1"], nodes["world"]
    ghost = hostile.persona("ghost", "chapter", parent=hostile.actor_id())
    names = ("roll size", "voters", "question voters", "null", "string", "float", "over allowance", "invented")
    names += ("twice", "other host")
    pids = {name: await issue(world, clock) for name in names}
    props = {name: await offered(hostile, pid) for name, pid in pids.items()}
    for name, pid in pids.items():
        if name == "over allowance":
            big = hostile.roll(pid, random_entries(10))  # allowance(4) is 9
            _, add = await hostile.add(r1, big)
            await inbox_item(r1, add["id"])
            await told(hostile, big, "a roll of 10 exceeds the 4 members of the chapter's last signed report")
            assert await received.roll_of(r1.db.reader, pid, hostile.actor_id()) is None
        else:
            await send_roll(hostile, r1, pid, random_entries(H_MEMBERS))
        await vote(member_host, nodes, pid, {"a": {"agree": 2}, "b": {"disagree": 1}})
    clock.advance(minutes=5, seconds=1)
    lies = {}
    for name in ("roll size", "voters", "question voters", "null", "string", "float"):
        prop = props[name]
        fields, _ = hostile.honest_tally(prop, [{prop["id"]: ["disagree"]}] * 2, roll_size=H_MEMBERS)
        question = fields["questions"][0]
        lies[name] = {
            "roll size": (fields | {"rollSize": 100}, "the roll is 4 less 0 excluded: the tally states otherwise"),
            "voters": (fields | {"voters": 3}, "3 voters claimed, the leaves show 2"),
            "question voters": (fields | {"questions": [question | {"voters": 4}]}, "do not match the leaves (2)"),
            "null": (fields | {"questions": [question | {"counts": {"agree": None, "disagree": 2}}]}, "whole numbers"),
            "string": (fields | {"questions": [question | {"counts": {"agree": 0, "disagree": "2"}}]}, "whole numbers"),
            "float": (fields | {"questions": [question | {"counts": {"agree": 0, "disagree": 2.0}}]}, "whole numbers"),
        }[name]
    sent = {}
    for name, (fields, _) in lies.items():
        sent[name] = hostile.tally(pids[name], fields)
        assert (await hostile.add(r1, sent[name]))[0] == 202
    # a tally of a chapter H made up: its own key, its own actor on H's host, in no electorate
    prop = props["invented"]
    fields, _ = hostile.honest_tally(prop, [{prop["id"]: ["disagree"]}] * 3, roll_size=3, name="ghost")
    _, add = await hostile.add(r1, hostile.tally(pids["invented"], fields, name="ghost"))
    await dead_with(r1, add["id"], f"{ghost} is not in the electorate of this proposal here")
    # an honest tally, counted; then another one of the same chapter
    prop = props["twice"]
    first, _ = hostile.honest_tally(prop, [{prop["id"]: ["disagree"]}], roll_size=H_MEMBERS)
    first = hostile.tally(pids["twice"], first)
    assert (await hostile.add(r1, first))[0] == 202
    await reported_at(r1, pids["twice"], hostile.actor_id())
    second, _ = hostile.honest_tally(prop, [{prop["id"]: ["disagree"]}] * 4, roll_size=H_MEMBERS)
    h_row = lambda: received.get_tally(r1.db.reader, pids["twice"], hostile.actor_id())  # noqa: E731
    before_twice = dict(await h_row())
    _, add = await hostile.add(r1, hostile.tally(pids["twice"], second))
    await dead_with(r1, add["id"], "a chapter reports once")
    assert dict(await h_row()) == before_twice
    # ... nor by one that states the issuer's later (final) exclusions, which took nothing from H:
    # only a recount on exclusions that changed its roll replaces a counted tally
    final = await eventually(lambda: received.exclusions(r1.db.reader, pids["twice"]), timeout=15)
    restated, _ = hostile.honest_tally(
        prop, [{prop["id"]: ["disagree"]}] * 4, roll_size=H_MEMBERS, exclusions=final["sequence"]
    )
    _, add = await hostile.add(r1, hostile.tally(pids["twice"], restated))
    await dead_with(r1, add["id"], "a chapter reports once")
    assert dict(await h_row()) == before_twice
    kept = await received.get_tally(r1.db.reader, pids["twice"], hostile.actor_id())
    assert json.loads(kept["document"]) == first and kept["status"] == "reported"
    # leaves that would add up, served by another host than the chapter's
    prop = props["other host"]
    made_elsewhere = stranger.serve_leaves([])
    fields, made = hostile.honest_tally(prop, [{prop["id"]: ["disagree"]}] * 3, roll_size=H_MEMBERS)
    stranger.serve_leaves(made, path=made_elsewhere.split(str(stranger.port), 1)[1])
    sent["other host"] = hostile.tally(pids["other host"], fields | {"leaves": made_elsewhere})
    lies["other host"] = (None, "the tally's leaves are not on its chapter's host")
    assert (await hostile.add(r1, sent["other host"]))[0] == 202
    for name, (_, why) in lies.items():
        await refused_at(r1, pids[name], hostile.actor_id(), why)
        if name != "other host":  # see test_a_chapter_whose_leaves_are_refused_is_told_why
            await told(hostile, sent[name], why)
        assert await received.get_tally(world.db.reader, pids[name], hostile.actor_id()) is None  # not passed up
    assert not [path for path in stranger.fetched if path.startswith("/leaves/")]
    assert await received.get_tally(r1.db.reader, pids["invented"], ghost) is None
    assert await received.roll_of(r1.db.reader, pids["invented"], ghost) is None
    for node in (r1, world):
        for pid in pids.values():
            await results(node, pid)  # 200 at every level, decided or not
    await reported_at(world, pids["twice"], nodes["a"].actor_id, nodes["b"].actor_id, hostile.actor_id())
    for pid in pids.values():
        await reported_at(world, pid, nodes["a"].actor_id, nodes["b"].actor_id)
    clock.advance(minutes=2, seconds=1)
    for name, pid in pids.items():
        final = await final_results(world, pid)
        for node in (r1, nodes["a"]):
            await results(node, pid)
        if name == "twice":
            assert counts_of(final) == {"agree": 2, "disagree": 2} and final["voters"] == 4, final
        else:
            assert counts_of(final) == {"agree": 2, "disagree": 1} and final["voters"] == 3, (name, final)
            assert chapters_of(final)[hostile.actor_id()]["status"] != "reported", name
        assert final["electorate"] == 6 + 4 + H_MEMBERS, (name, final["electorate"])
        assert final["outcome"]["status"] == "passed", (name, final["outcome"])
        assert ghost not in chapters_of(final)


async def test_a_chapter_whose_leaves_are_refused_is_told_why(make_node, tmp_path, member_host, hostile, stranger):
    """A linked chapter whose tally is refused for its leaves (on another host, or a leaf that chooses an
    option the proposal does not offer) is sent a signed refusal of that tally, as for any other reason."""
    clock = FrozenClock()
    nodes = await build(make_node, tmp_path, clock, member_host, hostile)
    r1 = nodes["r1"]
    elsewhere, bad_leaf = await issue(nodes["world"], clock), await issue(nodes["world"], clock)
    for pid in (elsewhere, bad_leaf):
        await offered(hostile, pid)
        await send_roll(hostile, r1, pid, random_entries(H_MEMBERS))
    clock.advance(minutes=5, seconds=1)
    prop = await offered(hostile, elsewhere)
    fields, made = hostile.honest_tally(prop, [{elsewhere: ["disagree"]}], roll_size=H_MEMBERS)
    moved = hostile.tally(elsewhere, fields | {"leaves": stranger.serve_leaves(made)})
    prop = await offered(hostile, bad_leaf)
    fields, made = hostile.honest_tally(prop, [{bad_leaf: ["disagree"]}], roll_size=H_MEMBERS)
    made[0]["answers"][bad_leaf] = ["maybe"]
    unknown = hostile.tally(bad_leaf, fields | {"leaves": hostile.serve_leaves(made)})
    for pid, tally, why in (
        (elsewhere, moved, "not on its chapter's host"),
        (bad_leaf, unknown, "chooses an option"),
    ):
        assert (await hostile.add(r1, tally))[0] == 202
        await refused_at(r1, pid, hostile.actor_id(), why)
        await told(hostile, tally, why)


async def test_a_strangers_forged_rejects_change_no_ballot(make_node, tmp_path, member_host, hostile, stranger):
    """Attack 1: a stranger POSTs Reject{Add{DecisionTally of a}} with participation tags in its content,
    with a DecisionRefusal it signed, one claiming r1 as author, and one naming another tally, before and
    after the close: a's ballots, copy and tally, and every count above, are what the honest run gives."""
    clock = FrozenClock()
    nodes = await build(make_node, tmp_path, clock, member_host, hostile)
    a, r1 = nodes["a"], nodes["r1"]
    pid = await issue(nodes["world"], clock)
    await offered(hostile, pid)
    await send_roll(hostile, r1, pid, random_entries(H_MEMBERS))
    await vote(member_host, nodes, pid, {"a": {"agree": 3, "disagree": 1}, "b": {"disagree": 1}})
    question = (await copy_questions(a, pid))[pid]

    async def ballots():
        kept = await fetch_all(a.db.reader, "SELECT * FROM poll_ballots WHERE question_id = ?", (question,))
        return sorted(tuple(row) for row in kept)

    async def forge(refused: str) -> None:
        import hashlib

        tags = [hashlib.sha256(f"{pid}\n{member_host.id(f'a{n}')}".encode()).hexdigest() for n in range(4)]
        tally = {"type": "DecisionTally", "attributedTo": a.actor_id, "proposal": pid}
        add = {"type": "Add", "actor": a.actor_id, "object": tally}
        refusal = stranger.decision("DecisionRefusal", pid, refused=refused, reason="participation: " + " ".join(tags))
        claiming_r1 = stranger.sign(refusal | {"attributedTo": r1.actor_id})
        variants = (
            {"content": "<p>participation: " + " ".join(tags) + "</p>"},
            {"content": "refused", "result": stranger.sign(refusal)},
            {"content": "refused", "result": claiming_r1},
            {"content": "refused", "result": stranger.sign(refusal | {"refused": "z" + "1" * 80})},
        )
        for fields in variants:
            status, reject = await stranger.send(a, "Reject", object=add, **fields)
            assert status == 202
            await inbox_item(a, reject["id"])

    before = (await ballots(), dict(await copy_store.copy_of(a.db.reader, pid)))
    await forge("z" + "2" * 80)
    assert (await ballots(), dict(await copy_store.copy_of(a.db.reader, pid))) == before
    clock.advance(minutes=5, seconds=1)
    copy = await eventually(lambda: tally_sent(a, pid), timeout=15)
    signed = json.loads(copy["tally"])
    await reported_at(r1, pid, a.actor_id)
    a_at_r1 = lambda: received.get_tally(r1.db.reader, pid, a.actor_id)  # noqa: E731
    before = (await ballots(), dict(await copy_store.copy_of(a.db.reader, pid)), dict(await a_at_r1()))
    await forge(signed["proof"]["proofValue"])
    after = (await ballots(), dict(await copy_store.copy_of(a.db.reader, pid)), dict(await a_at_r1()))
    assert after == before and after[1]["rejected"] is None
    await reported_at(nodes["world"], pid, a.actor_id, nodes["b"].actor_id)
    clock.advance(minutes=2, seconds=1)
    final = await final_results(nodes["world"], pid)
    assert counts_of(final) == {"agree": 3, "disagree": 2} and final["voters"] == 5
    assert json.loads(copy["tally"]) == chapters_of(final)[a.actor_id]["tally"]


async def test_a_chapter_claiming_anothers_members_is_visible(make_node, tmp_path, member_host, hostile):
    """Attack 3: H puts two of a's members on its roll with an earlier day, and no ballots behind them.
    What the design does (``rolls.resolve``): the earliest day keeps a member, so the issuer's signed
    exclusions take them from a's roll; a leaves their counted ballots out, and tells them, each alone,
    where they count; a's tally states it (``excludedMembers``, ``exclusions``) for every level and the
    public to see on /results. Nothing is removed silently, and H can claim no more than its signed
    report allows (``rolls.allowance``: see the roll over allowance in the figures test)."""
    from node.decisions.rolls import member_commitment

    clock = FrozenClock()
    nodes = await build(make_node, tmp_path, clock, member_host, hostile)
    a, r1, world = nodes["a"], nodes["r1"], nodes["world"]
    pid = await issue(world, clock)
    await offered(hostile, pid)
    await vote(member_host, nodes, pid, {"a": {"agree": 3}, "b": {"disagree": 1}})  # a0, a1 and a2 vote
    claimed = [member_host.id("a0"), member_host.id("a1")]
    entries = [(member_commitment(pid, member), 19_000) for member in claimed] + random_entries(2)
    await send_roll(hostile, r1, pid, entries)

    async def excluded_at_a():
        rows_ = [await copy_store.roll_entry(a.db.reader, pid, m) for m in claimed]
        return all(row is not None and row["excluded"] is not None for row in rows_)

    await eventually(excluded_at_a, timeout=20)
    exclusions = await received.exclusions(world.db.reader, pid)
    assert exclusions["excluded"] == {a.actor_id: sorted(member_commitment(pid, m) for m in claimed)}

    async def both_told():
        notes = [x for x in member_host.received if x.get("type") == "Create" and "counts there" in str(x["object"])]
        return sorted(x["to"][0] for x in notes) == sorted(claimed)

    await eventually(both_told, timeout=15)  # each alone, and no one else
    clock.advance(minutes=5, seconds=1)
    made, _ = hostile.honest_tally(await offered(hostile, pid), [], roll_size=4, exclusions=1)
    assert (await hostile.add(r1, hostile.tally(pid, made)))[0] == 202
    final = await final_results(world, pid)
    a_tally = chapters_of(final)[a.actor_id]["tally"]
    assert a_tally["excludedMembers"] == 2 and a_tally["rollSize"] == 4 and a_tally["exclusions"] >= 1
    assert counts_of(final) == {"agree": 1, "disagree": 1} and final["voters"] == 2
    assert final["electorate"] == 4 + 4 + 4
    for node in (r1, world):
        assert "excludedMembers" in json.dumps(await results(node, pid))


# --- 5: a stranger's activity and the network -------------------------------------------------


async def test_a_strangers_activity_costs_no_fetch_and_no_ballot(make_node, tmp_path, member_host, hostile, stranger):
    """Attack 5: a stranger's tally (author and leaves on a server that never answers), report (author
    there), Offer (issuer there), refusal and outcome (signed there): each is refused on the sender's
    standing before any fetch (the silent server hears nothing), and a ballot accepted with 202 just
    before the close still counts."""
    from tests.support.raw_peer import RawPeer

    silent = await RawPeer(behaviour="silent").start()
    try:
        clock = FrozenClock()
        nodes = await build(make_node, tmp_path, clock, member_host, hostile)
        a, r1 = nodes["a"], nodes["r1"]
        pid = await issue(nodes["world"], clock)
        prop = await offered(hostile, pid)
        await send_roll(hostile, r1, pid, random_entries(H_MEMBERS))
        question = (await copy_questions(a, pid))[pid]
        hole = f"{silent.base}/users/hole"
        method = f"{hole}#ed25519-key"
        tally = stranger.sign(
            stranger.decision("DecisionTally", pid, voters=0, rollSize=0, leaves=f"{silent.base}/leaves")
            | {"attributedTo": hole},
            method=method,
        )
        report = stranger.report_document(3) | {"attributedTo": hole}
        report = stranger.sign({k: v for k, v in report.items() if k != "proof"}, method=method)
        issued = dict(stranger.proposal(end_time=clock.now() + timedelta(minutes=5)).items())
        issued = stranger.sign(issued | {"attributedTo": hole}, method=method)
        refusal = stranger.sign(
            stranger.decision("DecisionRefusal", pid, refused="z1", reason="no") | {"attributedTo": hole}, method=method
        )
        outcome = stranger.sign(
            stranger.decision("DecisionOutcome", pid, result={}) | {"attributedTo": hole}, method=method
        )
        sent = [
            (r1, await stranger.add(r1, tally)),
            (r1, await stranger.send(r1, "Add", object=report, target=f"{r1.actor_id}/children")),
            (a, await stranger.send(a, "Offer", object=issued)),
            (a, await stranger.send(a, "Reject", object={"type": "Add", "object": tally}, result=refusal)),
            (a, await stranger.add(a, outcome)),
        ]
        assert await member_host.vote(a, "a0", question, "agree") == 202  # on time, behind the stranger's items

        async def counted():
            row = await fetch_one(
                a.db.reader,
                "SELECT * FROM poll_ballots WHERE question_id = ? AND voter = ?",
                (question, member_host.id("a0")),
            )
            return row is not None and row["counted"] == 1

        await eventually(counted, timeout=10)  # not stalled behind them
        clock.advance(minutes=5, seconds=1)
        for node, (status, activity) in sent:
            assert status == 202
            await inbox_item(node, activity["id"], state="dead", within=30)
        assert silent.requests == [], [r.path for r in silent.requests]
        made, _ = hostile.honest_tally(prop, [], roll_size=H_MEMBERS)
        assert (await hostile.add(r1, hostile.tally(pid, made)))[0] == 202
        final = await final_results(nodes["world"], pid, within=40)
        assert counts_of(final) == {"agree": 1, "disagree": 0} and final["voters"] == 1
        assert await copy_store.copy_of(a.db.reader, issued["id"]) is None
    finally:
        await silent.stop()


# --- 7: a huge member count --------------------------------------------------------------------


async def test_a_huge_member_count_stops_no_proposal(make_node, tmp_path, member_host, hostile):
    """Attack 7: H's signed report says 2**64-1 members: every later proposal is issued and decided, the
    count never enters an electorate, and the tree and /results answer."""
    clock = FrozenClock()
    nodes = await build(make_node, tmp_path, clock, member_host, hostile)
    r1, world = nodes["r1"], nodes["world"]
    status, add = await hostile.report(r1, 2**64 - 1)
    assert status == 202
    await inbox_item(r1, add["id"])
    await asyncio.sleep(0.5)  # forwarded up, if it was kept
    await tree_of(world)
    first, second = await issue(world, clock), await issue(world, clock)
    for pid in (first, second):
        await vote(member_host, nodes, pid, {"a": {"agree": 2}, "b": {"disagree": 1}})
    clock.advance(minutes=5, seconds=1)
    for pid in (first, second):
        await reported_at(world, pid, nodes["a"].actor_id, nodes["b"].actor_id)
    clock.advance(minutes=2, seconds=1)
    for pid in (first, second):
        final = await final_results(world, pid)
        assert counts_of(final) == {"agree": 2, "disagree": 1} and final["outcome"]["status"] == "passed"
        assert final["electorate"] in (10, 10 + H_MEMBERS), final["electorate"]
        for node in (r1, nodes["a"]):
            await results(node, pid)
    await tree_of(world)
    await tree_of(r1)


# --- the policy's arithmetic, asserted by its reasons -------------------------------------------


async def test_quorums_and_block_share_are_measured_as_the_policy_says(make_node, tmp_path, member_host, hostile):
    """Mutations: the turnout quorum measured on the electorate (not on the voters), the chapter quorum
    counting only the chapters that reported, the block share over all weighted ballots (not agree +
    disagree only): each asserted by its reason's figures. And an unknown option without content on a
    copy is not counted."""
    from tests.support.polls import mastodon_vote

    clock = FrozenClock()
    nodes = await build(make_node, tmp_path, clock, member_host, hostile)
    world, r1, a = nodes["world"], nodes["r1"], nodes["a"]
    four = ("agree", "abstain", "disagree", "block")
    turnout = await issue(world, clock, decision={"turnoutQuorum": 0.5})
    chapters = await issue(world, clock, decision={"chapterQuorum": 0.9})
    block = await issue(world, clock, options=four, decision={"blockShare": 0.1})
    for pid in (turnout, chapters):
        await offered(hostile, pid)
        await send_roll(hostile, r1, pid, random_entries(H_MEMBERS))
        await vote(member_host, nodes, pid, {"a": {"agree": 2}, "b": {"disagree": 1}})
    await offered(hostile, block)
    await send_roll(hostile, r1, block, random_entries(H_MEMBERS))
    await vote(member_host, nodes, block, {"a": {"agree": 4, "abstain": 1, "block": 1}, "b": {"disagree": 4}})
    question = (await copy_questions(a, turnout))[turnout]
    unknown = mastodon_vote(member_host.id("a5"), question, a.actor_id, "maybe", 77)
    assert await member_host.post("a5", a.inbox, unknown) == 202
    await a.settle()
    kept = await fetch_all(
        a.db.reader, "SELECT * FROM poll_ballots WHERE voter = ? AND question_id = ?", (member_host.id("a5"), question)
    )
    assert not [dict(row) for row in kept if row["counted"]], [dict(row) for row in kept]
    clock.advance(minutes=5, seconds=1)
    for pid in (turnout, block):
        made, _ = hostile.honest_tally(await offered(hostile, pid), [], roll_size=H_MEMBERS)
        assert (await hostile.add(r1, hostile.tally(pid, made)))[0] == 202
    final = await final_results(world, turnout)
    assert counts_of(final) == {"agree": 2, "disagree": 1} and final["voters"] == 3
    assert final["outcome"]["reason"] == "turnout quorum missed: 3 of 14 is under 50%", final["outcome"]
    final = await final_results(world, block)
    assert final["outcome"]["status"] == "blocked"
    assert final["outcome"]["reason"] == "10.0% blocked, at or over 10%", final["outcome"]
    await reported_at(world, chapters, a.actor_id, nodes["b"].actor_id)
    clock.advance(minutes=2, seconds=1)
    final = await final_results(world, chapters)
    assert final["outcome"]["reason"] == "chapter quorum missed: 2 of 3 is under 90%", final["outcome"]


# --- a hostile parent: 8, 9, the Offer's proof, its refusals, what it sees ------------------------


@pytest.fixture
async def overlord():
    group = await HostileGroup("overlord", "region").start()
    yield group
    await group.stop()


async def below(make_node, tmp_path, clock, host: MemberHost, parent: HostileGroup, members: int = 4):
    """A real chapter x with ``members`` members, linked below the hostile region ``parent`` (its Join,
    the parent's Accept)."""
    x = await make_node(config=tree_config(tmp_path, "x", "chapter"), clock=clock)
    await add_members(x, host, "x", members)
    status, body, _ = await publish(x, {"type": "Join", "object": parent.actor_id()})
    assert status == 201, body
    await parent.accept_child(x)

    async def linked():
        return (await get_json(x.actor_id))[1].get("parent") == parent.actor_id()

    await eventually(linked, timeout=15)
    return x


async def creates(node) -> int:
    row = await fetch_one(
        node.db.reader, "SELECT COUNT(*) AS n FROM objects WHERE kind = 'activity' AND type = 'Create'", ()
    )
    return row["n"]


async def closed_by(parent: HostileGroup, x, proposal_id: str) -> None:
    """The issuer's part at the close: its final exclusions (none here), on which a chapter builds its tally."""
    final = parent.sign(parent.decision("DecisionExclusions", proposal_id, sequence=1, excluded={}, final=True))
    status, add = await parent.add(x, final)
    assert status == 202, add
    await inbox_item(x, add["id"], state="done")


async def offer(parent: HostileGroup, x, document: dict) -> dict:
    status, activity = await parent.send(x, "Offer", object=document)
    assert status in (202, 413), status
    return activity if status == 202 else {}


def _compact(document: dict) -> dict:
    """A survey with its questions cut to what a proposal needs (4,000 of them fit under 1 MiB)."""
    items = [
        {
            "id": q["id"],
            "type": "Question",
            "content": "<p>Q</p>",
            "oneOf": [{"type": "Note", "name": "a"}, {"type": "Note", "name": "b"}],
        }
        for q in document["orderedItems"]
    ]
    return {k: v for k, v in document.items() if k != "proof"} | {"orderedItems": items}


async def test_a_hostile_parents_proposals_meet_the_composers_rules(make_node, tmp_path, member_host, overlord):
    """Attacks 8 and 9, and the mutation "a proposal Offer accepted without a valid proof": from a hostile
    parent, a proposal whose option names are arrays, one of 4,000 questions, one of 51, one with no
    proof, a proof with a byte changed, or signed by another key under the parent's key id: each refused
    (no copy, no Create); one of 50 questions is copied with at most 51 Creates; another proposal and a
    local poll still close, and the chapter's tally goes up."""
    clock = FrozenClock()
    x = await below(make_node, tmp_path, clock, member_host, overlord)
    end = clock.now() + timedelta(minutes=5)
    status, body, _ = await publish(
        x, {"type": "Question", "content": "<p>Local?</p>", "oneOf": ["yes", "no"], "endTime": iso(end)}
    )
    assert status == 201, body
    local_poll = body["object"]
    arrays = overlord.sign(overlord.proposal(end_time=end, options=[["a", "b"], ["c"]]))
    elsewhere = overlord.proposal(end_time=end)  # another issuer's id, re-issued under the parent's name
    elsewhere["id"] = f"http://127.0.0.1:{member_host.port}/objects/theirs"
    for question in elsewhere.get("orderedItems", []):
        question["id"] = f"{elsewhere['id']}-{question['id'].rsplit('/', 1)[-1]}"
    elsewhere = overlord.sign(elsewhere)
    huge = overlord.sign(_compact(overlord.proposal(end_time=end, questions=4000)))
    assert len(json.dumps(huge)) < x.config.federation.max_body_bytes
    too_many = overlord.sign(overlord.proposal(end_time=end, questions=51))
    unsigned = overlord.proposal(end_time=end)
    flipped = overlord.sign(overlord.proposal(end_time=end))
    value = flipped["proof"]["proofValue"]
    flipped["proof"]["proofValue"] = value[:-2] + ("2" if value[-2] != "2" else "3") + value[-1]
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other_key = overlord.sign(overlord.proposal(end_time=end), key=Ed25519PrivateKey.generate())
    before = await creates(x)
    refused = (
        (arrays, "composer"),
        (elsewhere, "on its issuer's host"),
        (huge, "1 to 50 questions"),
        (too_many, "1 to 50 questions"),
        (unsigned, "proof"),
        (flipped, "proof"),
        (other_key, "proof"),
    )
    for document, why in refused:
        activity = await offer(overlord, x, document)
        if activity:
            await dead_with(x, activity["id"], why)
        assert await copy_store.copy_of(x.db.reader, document["id"]) is None
    assert await creates(x) == before
    fifty = overlord.sign(overlord.proposal(end_time=end, questions=50))
    good = overlord.sign(overlord.proposal(end_time=end))
    for document in (fifty, good):
        await inbox_item(x, (await offer(overlord, x, document))["id"], state="done")
    copied = await copy_store.copy_of(x.db.reader, fifty["id"])
    assert copied is not None and len(json.loads(copied["questions"])) == 50
    assert before < await creates(x) <= before + 51 + 1  # the fifty, and the other proposal's one
    question = (await copy_questions(x, good["id"]))[good["id"]]
    assert await member_host.vote(x, "x0", question, "agree") == 202
    await x.settle()
    clock.advance(minutes=5, seconds=1)
    for document in (fifty, good):
        await closed_by(overlord, x, document["id"])

    async def tally_up():
        return [a for a in overlord.of_type("Add", "DecisionTally") if a["object"]["proposal"] == good["id"]]

    sent = (await eventually(tally_up, timeout=15))[0]["object"]
    assert sent["voters"] == 1 and sent["questions"][0]["counts"] == {"agree": 1, "disagree": 0}

    async def closed():
        return (await get_json(local_poll))[1].get("closed")

    await eventually(closed, timeout=15)
    await eventually(lambda: tally_sent(x, fifty["id"]), timeout=15)


async def test_a_hostile_parents_refusals_change_no_ballot_and_it_learns_no_voter(
    make_node, tmp_path, member_host, overlord
):
    """Attack 1 from the parent's side, and attack 10: the parent's refusal naming another tally is
    ignored; its refusal of the chapter's own tally only tells the admin (ballots, copy and tally stay);
    what the parent receives names no member; the leaves are 404 before the close and sorted by
    commitment after; the roll is never served, at the id of the Add that carried it or in the outbox."""
    clock = FrozenClock()
    x = await below(make_node, tmp_path, clock, member_host, overlord, members=5)
    end = clock.now() + timedelta(minutes=5)
    prop = overlord.sign(overlord.proposal(end_time=end))
    await inbox_item(x, (await offer(overlord, x, prop))["id"], state="done")
    question = (await copy_questions(x, prop["id"]))[prop["id"]]
    for n, choice in enumerate(("agree", "agree", "disagree")):
        assert await member_host.vote(x, f"x{n}", question, choice) == 202
    await x.settle()
    copy = await copy_store.copy_of(x.db.reader, prop["id"])
    status, body = await get_json(f"{copy['copy_id']}/leaves", accept="application/json")
    assert status == 404, body

    async def roll_up():
        return overlord.of_type("Add", "DecisionRoll")

    roll_add = (await eventually(roll_up, timeout=15))[0]
    for url in (roll_add["id"], x.outbox, f"{x.outbox}?page=1", f"{x.actor_id}/rolls"):
        status, body = await get_json(url)
        text = json.dumps(without_context(body))
        assert "DecisionRoll" not in text and "commitments" not in text and "rollHash" not in text, url
    status, _ = await get_json(roll_add["id"])
    assert status == 404
    clock.advance(minutes=5, seconds=1)
    await closed_by(overlord, x, prop["id"])

    async def tally_up():
        return overlord.of_type("Add", "DecisionTally")

    tally = (await eventually(tally_up, timeout=15))[0]["object"]
    seen = json.dumps([a for a in overlord.received if a.get("actor") == x.actor_id])
    assert f"127.0.0.1:{member_host.port}" not in seen and "participation" not in seen and "rollTags" not in seen
    status, served = await get_json(tally["leaves"], accept="application/json")
    assert status == 200 and served["totalItems"] == 3
    commitments = [leaf["commitment"] for leaf in served["orderedItems"]]
    assert commitments == sorted(commitments) and all(
        set(leaf) == {"answers", "commitment"} for leaf in served["orderedItems"]
    )

    async def ballots():
        kept = await fetch_all(x.db.reader, "SELECT * FROM poll_ballots WHERE question_id = ?", (question,))
        return sorted(tuple(row) for row in kept)

    before = (await ballots(), json.loads((await copy_store.copy_of(x.db.reader, prop["id"]))["tally"]))
    other = overlord.sign(overlord.decision("DecisionRefusal", prop["id"], refused="z" + "3" * 80, reason="no"))
    _, reject = await overlord.send(x, "Reject", object=tally, result=other, content="no")
    await dead_with(x, reject["id"], "refusal ignored")
    assert (await copy_store.copy_of(x.db.reader, prop["id"]))["rejected"] is None
    mine = overlord.sign(
        overlord.decision("DecisionRefusal", prop["id"], refused=tally["proof"]["proofValue"], reason="we say so")
    )
    _, reject = await overlord.send(x, "Reject", object=tally, result=mine, content="we say so")
    await inbox_item(x, reject["id"], state="done")
    after = await copy_store.copy_of(x.db.reader, prop["id"])
    assert "we say so" in after["rejected"]
    assert (await ballots(), json.loads(after["tally"])) == before


# --- 10: what every level above a chapter, and the public, can see ------------------------------

TALLY_FIELDS = {
    "@context",
    "type",
    "attributedTo",
    "proposal",
    "published",
    "questions",
    "voters",
    "rollSize",
    "exclusions",
    "excludedMembers",
    "merkleRoot",
    "leaves",
    "proof",
}


async def test_no_level_above_a_chapter_learns_who_voted(make_node, tmp_path, member_host, hostile):
    """Attack 10: no tally, aggregate, outcome or /results (JSON or page) at r1 or world, and nothing H
    receives from its parent, carries a member's id, a participation tag or roll, or any field per voter;
    leaves are 404 before the close and sorted by commitment after; rolls and exclusions are never served
    (the ids of the activities that carried them, the outboxes, any URL beside the proposal: nothing)."""
    from node.decisions.rolls import member_commitment

    clock = FrozenClock()
    nodes = await build(make_node, tmp_path, clock, member_host, hostile)
    a, r1, world = nodes["a"], nodes["r1"], nodes["world"]
    pid = await issue(world, clock)
    await offered(hostile, pid)
    shared = member_host.id("a5")  # on H's roll too (a day earlier), so exclusions go down the tree
    await send_roll(hostile, r1, pid, [(member_commitment(pid, shared), 19_000), *random_entries(3)])
    await vote(member_host, nodes, pid, {"a": {"agree": 2, "disagree": 1}, "b": {"disagree": 1}})
    copy = await copy_store.copy_of(a.db.reader, pid)
    for path in ("leaves", "roll", "rolls", "exclusions"):
        status, _ = await get_json(f"{copy['copy_id']}/{path}", accept="application/json")
        assert status == 404, path
    exclusions = await eventually(lambda: received.exclusions(a.db.reader, pid), timeout=20)
    assert exclusions["excluded"] == {a.actor_id: [member_commitment(pid, shared)]}
    clock.advance(minutes=5, seconds=1)
    made, _ = hostile.honest_tally(await offered(hostile, pid), [], roll_size=4, exclusions=1)
    assert (await hostile.add(r1, hostile.tally(pid, made)))[0] == 202
    final = await final_results(world, pid)
    assert counts_of(final) == {"agree": 2, "disagree": 2}
    status, served = await get_json(
        json.loads((await tally_sent(a, pid))["tally"])["leaves"], accept="application/json"
    )
    commitments = [leaf["commitment"] for leaf in served["orderedItems"]]
    assert status == 200 and commitments == sorted(commitments) and len(commitments) == 3
    members = f"127.0.0.1:{member_host.port}"
    secret = ("participation", "rollTags", "commitments", "rollHash", "receipt", "voter", "since", "joined")
    await eventually(lambda: received.aggregates(world.db.reader, pid), timeout=15)
    for node in (r1, world):
        for accept in ("application/json", "text/html"):
            async with __import__("aiohttp").ClientSession() as session:
                async with session.get(f"{pid}/results", headers={"Accept": accept}) as response:
                    assert response.status == 200
                    text = await response.text()
            assert members not in text, (node.actor_id, accept)
        body = await results(node, pid)
        assert not keys_in(body) & set(secret), (node.actor_id, keys_in(body) & set(secret))
        for branch in chapters_of(body).values():
            if branch["tally"] is not None and branch["tally"]["type"] == "DecisionTally":
                assert set(branch["tally"]) <= TALLY_FIELDS, set(branch["tally"]) - TALLY_FIELDS
        for aggregate in (await received.aggregates(node.db.reader, pid)).values():
            assert members not in json.dumps(aggregate)
            assert all(set(c) == {"id", "status"} for c in aggregate["result"]["chapters"])
        assert members not in json.dumps(body["signedOutcome"]) and not keys_in(body["signedOutcome"]) & set(secret)
    from_parent = json.dumps(without_context([x for x in hostile.received if x.get("actor") == r1.actor_id]))
    assert members not in from_parent and "participation" not in from_parent
    carried = [x for x in hostile.received if isinstance(x.get("object"), dict)]
    carried = [x for x in carried if x["object"].get("type") in ("DecisionExclusions", "DecisionRoll")]
    assert carried  # the exclusions came down to H
    for node in (a, r1, world):
        sent = await fetch_all(
            node.db.reader,
            "SELECT id FROM objects WHERE kind = 'activity' AND type = 'Add' AND (data LIKE '%\"type\":\"DecisionRoll\"%'"
            ' OR data LIKE \'%"type":"DecisionExclusions"%\')',
            (),
        )
        assert sent, node.actor_id  # the Adds that carried a roll up or exclusions down
        urls = [row["id"] for row in sent] + [x["id"] for x in carried]
        urls += [node.outbox, f"{node.outbox}?page=1", f"{pid}/rolls", f"{pid}/exclusions", f"{pid}/roll"]
        assert len(urls) > 5
        for url in urls:
            status, body = await get_json(url)
            text = json.dumps(without_context(body))
            assert "commitments" not in keys_in(body) and "DecisionExclusions" not in text, (url, status)
            if url.startswith(pid) or url in [row["id"] for row in sent]:
                assert status == 404, (url, status, body)


# --- the property: a single hostile edit in flight is refused, or changes nothing -----------------


@st.composite
def honest_runs(draw):
    """A proposal's questions, an honest chapter's voters' answers, and its roll size."""
    questions = {}
    for number in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(("oneOf", "anyOf")))
        options = [f"o{n}" for n in range(draw(st.integers(2, 4)))]
        questions[f"https://w.example/objects/q{number}"] = (kind, options)
    answers = []
    for _ in range(draw(st.integers(0, 6))):
        asked = draw(st.lists(st.sampled_from(sorted(questions)), min_size=1, unique=True))
        given_ = {}
        for qid in asked:
            kind, options = questions[qid]
            size = 1 if kind == "oneOf" else draw(st.integers(1, len(options)))
            given_[qid] = draw(st.lists(st.sampled_from(options), min_size=size, max_size=size, unique=True))
        answers.append(given_)
    return questions, answers, len(answers) + draw(st.integers(0, 3))


EDITS = ("count", "voters", "question voters", "roll size", "leaf answers", "commitment", "author", "proof byte")


def _tampered(draw, tally: dict, made: list[dict], questions: dict, edit: str) -> tuple[dict, list[dict]]:
    import copy as copying

    tally, made = copying.deepcopy(tally), copying.deepcopy(made)
    numbers = st.one_of(st.integers(-2, 12), st.none(), st.just("1"), st.just(1.0), st.just(2**64))
    if edit == "count":
        entry = draw(st.sampled_from(tally["questions"]))
        entry["counts"][draw(st.sampled_from(sorted(entry["counts"])))] = draw(numbers)
    elif edit == "voters":
        tally["voters"] = draw(numbers)
    elif edit == "question voters":
        draw(st.sampled_from(tally["questions"]))["voters"] = draw(numbers)
    elif edit == "roll size":
        tally["rollSize"] = draw(numbers)
    elif edit == "leaf answers" and made:
        leaf = draw(st.sampled_from(made))
        qid = draw(st.sampled_from(sorted(questions)))
        _, options = questions[qid]
        leaf["answers"][qid] = draw(st.lists(st.sampled_from([*options, "x"]), min_size=0, max_size=3))
    elif edit == "commitment" and made:
        leaf = draw(st.sampled_from(made))
        leaf["commitment"] = draw(
            st.sampled_from(["0" * 64, "f" * 64, leaf["commitment"][::-1], made[0]["commitment"]])
        )
    elif edit == "author":
        tally["attributedTo"] = draw(st.sampled_from(["https://other.example/users/b", "https://w.example/users/a "]))
    elif edit == "proof byte":
        value = tally["proof"]["proofValue"]
        at = 1 + draw(st.integers(0, 10_000)) % (len(value) - 1)  # the length varies with the (fresh) key
        tally["proof"]["proofValue"] = value[:at] + ("2" if value[at] != "2" else "3") + value[at + 1 :]
    return tally, made


def _as_received(tally: dict, made: list, ballots, roll_size: int, keys: dict):
    """What a level keeps of ``tally`` and its leaves (the recount, the roll it is measured against, and the
    figures the tally states, as /results serves it), or None when it is refused."""
    from federation.proofs import ProofError, verify_proof
    from node.decisions import leaves

    key = keys.get(tally.get("attributedTo"))
    if key is None:
        return None
    try:
        verify_proof(tally, key)
        counted = leaves.recount(ballots, made)
    except (ProofError, leaves.LeafError):
        return None
    if leaves.claim_problems(tally, counted) or tally.get("merkleRoot") != leaves.merkle_root(made):
        return None
    if tally.get("rollSize") != roll_size:  # checking.tally_refusal: measured against the roll kept
        return None
    return {"recount": counted.as_json(), "roll": tally["rollSize"], "stated": [tally["questions"], tally["voters"]]}


@settings(max_examples=120)
@given(run=honest_runs(), edit=st.sampled_from(EDITS), resign=st.booleans(), data=st.data())
def test_a_single_hostile_edit_is_refused_or_changes_nothing(run, edit, resign, data):
    """For random honest tallies and leaves, one hostile edit in flight (a count, a figure, a roll size, a
    leaf's answers, a commitment, the author, a proof byte), made by a level between (the proof left as
    it was) or by the chapter itself (signed again with its own key): the level receiving it refuses it,
    or keeps exactly the honest recount."""
    from datetime import UTC, datetime

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from federation.proofs import add_proof
    from node.decisions import leaves
    from node.decisions.leaves import Ballot

    questions, answers, roll_size = run
    proposal_id, chapter = "https://w.example/objects/p", "https://w.example/users/a"
    ballots = {qid: Ballot(kind, tuple(options)) for qid, (kind, options) in questions.items()}
    made = leaves.canonical_order(
        [leaves.leaf(proposal_id, chapter, f"r{n}", given_) for n, given_ in enumerate(answers)]
    )
    honest = leaves.recount(ballots, made)
    key = Ed25519PrivateKey.generate()
    unsigned = {
        "type": "DecisionTally",
        "attributedTo": chapter,
        "proposal": proposal_id,
        "questions": [{"id": q, "counts": c.counts, "voters": c.voters} for q, c in honest.questions.items()],
        "voters": honest.voters,
        "rollSize": roll_size,
        "merkleRoot": leaves.merkle_root(made),
    }
    now = datetime.now(UTC)
    tally = add_proof(unsigned, private_key=key, verification_method=f"{chapter}#ed25519-key", created=now)
    keys = {chapter: key.public_key()}
    kept_honest = _as_received(tally, made, ballots, roll_size, keys)
    assert kept_honest is not None and kept_honest["recount"] == honest.as_json()  # the honest run
    edited, served = _tampered(data.draw, tally, made, questions, edit)
    if resign and edit != "proof byte":
        body = {k: v for k, v in edited.items() if k != "proof"}
        edited = add_proof(body, private_key=key, verification_method=f"{chapter}#ed25519-key", created=now)
    kept = _as_received(edited, served, ballots, roll_size, keys)
    assert kept is None or kept == kept_honest, (edit, edited, served)


@settings(max_examples=120)
@given(
    count=st.integers(0, 6),
    edit=st.sampled_from(("size", "commitment", "day", "drop", "swap", "duplicate")),
    data=st.data(),
)
def test_a_single_edit_to_a_roll_is_refused_or_changes_nothing(count, edit, data):
    """A signed roll's entries (``rolls.entries_of``) after one edit in flight: refused, or the same."""
    from node.decisions import rolls

    members = [(f"https://m.example/users/{n}", 1_700_000_000.0 + n * 86_400) for n in range(count)]
    fields, _ = rolls.roll_fields("https://w.example/objects/p", members)
    honest = rolls.entries_of(fields)
    assert not isinstance(honest, str) and len(honest) == count
    entries = [list(e) for e in fields["commitments"]]
    if edit == "size":
        fields["rollSize"] = data.draw(st.one_of(st.integers(-1, count + 2), st.none(), st.just(str(count))))
    elif entries and edit == "commitment":
        entries[data.draw(st.integers(0, count - 1))][0] = data.draw(st.sampled_from(["0" * 64, "F" * 64, "x"]))
    elif entries and edit == "day":
        entries[data.draw(st.integers(0, count - 1))][1] = data.draw(st.sampled_from([0, 1, -1, 10**9, 1.5, "1"]))
    elif entries and edit == "drop":
        entries.pop(data.draw(st.integers(0, count - 1)))
    elif len(entries) > 1 and edit == "swap":
        entries[0], entries[1] = entries[1], entries[0]
    elif entries and edit == "duplicate":
        entries.append(entries[0])
    fields["commitments"] = entries
    found = rolls.entries_of(fields)
    assert isinstance(found, str) or found == honest, (edit, fields)


async def test_a_ballot_received_before_the_close_counts_however_late_the_inbox_reaches_it(
    make_node, tmp_path, member_host, hostile
):
    """Attack 5, the lateness: a ballot accepted with 202 before the close, reached by the inbox worker
    only after the close (the worker was busy), counts in the chapter's tally and at the top."""
    clock = FrozenClock()
    nodes = await build(make_node, tmp_path, clock, member_host, hostile)
    a, r1 = nodes["a"], nodes["r1"]
    pid = await issue(nodes["world"], clock)
    prop = await offered(hostile, pid)
    await send_roll(hostile, r1, pid, random_entries(H_MEMBERS))
    question = (await copy_questions(a, pid))[pid]
    await a.inbox_worker.loop.stop()  # as if a stranger's item held it
    try:
        assert await member_host.vote(a, "a0", question, "agree") == 202
        clock.advance(minutes=5, seconds=1)
        await asyncio.sleep(2)  # the decisions worker's cycles pass the close
    finally:
        a.inbox_worker.loop.start()
        a.inbox_worker.wake()

    async def ballot():
        return await fetch_one(
            a.db.reader,
            "SELECT * FROM poll_ballots WHERE question_id = ? AND voter = ?",
            (question, member_host.id("a0")),
        )

    row = await eventually(ballot, timeout=15)
    assert row["counted"] == 1, dict(row)  # judged by when it was received
    made, _ = hostile.honest_tally(prop, [], roll_size=H_MEMBERS)
    assert (await hostile.add(r1, hostile.tally(pid, made)))[0] == 202
    final = await final_results(nodes["world"], pid, within=40)
    assert counts_of(final) == {"agree": 1, "disagree": 0} and final["voters"] == 1


async def test_a_linked_child_is_told_why_its_document_is_refused(make_node, tmp_path, member_host, hostile):
    """A linked child whose Add of a decision document is refused on its standing is answered with a Reject."""
    clock = FrozenClock()
    nodes = await build(make_node, tmp_path, clock, member_host, hostile)
    r1, a = nodes["r1"], nodes["a"]
    pid = await issue(nodes["world"], clock)
    await offered(hostile, pid)
    aggregate = hostile.sign(
        hostile.decision("DecisionAggregate", pid, result={"questions": [], "voters": 0, "chapters": []})
        | {"attributedTo": a.actor_id}
    )
    _, add = await hostile.add(r1, aggregate)
    await dead_with(r1, add["id"], "a level sends its own aggregate")

    async def answered():
        for reject in hostile.of_type("Reject"):
            if add["id"] in json.dumps(reject.get("object")):
                return reject
        return None

    reject = await eventually(answered, timeout=8)
    assert "aggregate" in json.dumps(reject)


# --- a tally that overtook its roll ---------------------------------------------------------------


async def test_a_tally_that_overtook_its_roll_is_counted_when_the_roll_comes(make_node, tmp_path, member_host, hostile):
    """Deliveries cross: H's tally reaches r1 before its roll. The tally waits (TryLater: it is measured
    against the roll), and it is handled as soon as the roll is kept, not after its backoff: the clock
    here never moves again, so only the roll's arrival can bring it back."""
    clock = FrozenClock()
    nodes = await build(make_node, tmp_path, clock, member_host, hostile)
    r1 = nodes["r1"]
    pid = await issue(nodes["world"], clock)
    prop = await offered(hostile, pid)
    clock.advance(minutes=5, seconds=1)
    fields, _ = hostile.honest_tally(prop, [{pid: ["disagree"]}] * 2, roll_size=H_MEMBERS)
    status, tally_add = await hostile.add(r1, hostile.tally(pid, fields))
    assert status == 202

    async def waiting():
        row = await fetch_one(r1.db.reader, "SELECT * FROM inbox_items WHERE activity_id = ?", (tally_add["id"],))
        return row if row is not None and row["last_error"] else None

    row = await eventually(waiting, timeout=15)
    assert (
        row["state"] == "queued" and "no roll of" in row["last_error"] and row["next_attempt_at"] > row["received_at"]
    )
    await send_roll(hostile, r1, pid, random_entries(H_MEMBERS))
    done = await inbox_item(r1, tally_add["id"], state="done")
    assert done["state"] == "done"
    kept = await received.get_tally(r1.db.reader, pid, hostile.actor_id())
    assert kept is not None and kept["status"] == "reported"


async def test_a_tally_before_its_roll_in_the_same_batch_is_retried_at_once(make_node, tmp_path, member_host, hostile):
    """The same race inside one batch of r1's inbox worker: the tally fails (no roll yet) before the
    roll, just behind it, is kept; the tally is retried at once, not after its backoff (the clock
    never moves again)."""
    clock = FrozenClock()
    nodes = await build(make_node, tmp_path, clock, member_host, hostile)
    r1 = nodes["r1"]
    pid = await issue(nodes["world"], clock)
    prop = await offered(hostile, pid)
    clock.advance(minutes=5, seconds=1)
    fields, _ = hostile.honest_tally(prop, [{pid: ["disagree"]}] * 2, roll_size=H_MEMBERS)
    await r1.inbox_worker.loop.stop()  # both wait in the inbox: one batch takes them in arrival order
    try:
        status, tally_add = await hostile.add(r1, hostile.tally(pid, fields))
        assert status == 202
        status, _ = await hostile.add(r1, hostile.roll(pid, random_entries(H_MEMBERS)))
        assert status == 202
    finally:
        r1.inbox_worker.loop.start()
    done = await inbox_item(r1, tally_add["id"], state="done")
    assert done["attempts"] >= 2 and done["state"] == "done"  # it did wait once, in that batch
    kept = await received.get_tally(r1.db.reader, pid, hostile.actor_id())
    assert kept is not None and kept["status"] == "reported"
