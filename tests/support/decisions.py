"""Decision tests: a tree of real nodes on loopback, members on one small server, ballots as Mastodon sends them.

:class:`MemberHost` is one aiohttp server on one port hosting many member actors (each its own
actor document and key id, sharing one RSA key pair and one Ed25519 key, which costs nothing to
check and keeps a test of 180 members fast); :meth:`MemberHost.vote` signs a Mastodon-shaped
ballot from one of them. :func:`build_tree` starts an international node, two regions and the
chapters under them (members added first, so each node's first signed report carries its count),
all on one shared :class:`node.core.clock.FrozenClock` so a test moves time for the whole tree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from federation.signatures import sign_request
from node.core.clock import FrozenClock, to_epoch
from node.decisions import copy_store
from node.membership import members
from tests.support import keypool
from tests.support.c2s import eventually, get_json
from tests.support.nodes import free_port, with_federation
from tests.support.polls import mastodon_vote
from tests.support.remote_actor import public_pem
from tests.support.tree import host_of, link, tree_config, tree_of, wait_linked

AS = "https://www.w3.org/ns/activitystreams"


@dataclass
class MemberHost:
    port: int = field(default_factory=free_port)
    key: rsa.RSAPrivateKey = field(default_factory=keypool.rsa_key)
    received: list[dict] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _numbers: dict[str, int] = field(default_factory=dict)

    def id(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/users/{name}"

    async def start(self) -> MemberHost:
        app = web.Application()
        app.router.add_get("/users/{name}", self._actor)
        app.router.add_post("/users/{name}/inbox", self._inbox)
        app.router.add_post("/inbox", self._inbox)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _actor(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        actor = self.id(name)
        document = {
            "@context": [AS, "https://w3id.org/security/v1"],
            "id": actor,
            "type": "Person",
            "preferredUsername": name,
            "inbox": f"{actor}/inbox",
            "outbox": f"{actor}/outbox",
            "endpoints": {"sharedInbox": f"http://127.0.0.1:{self.port}/inbox"},
            "publicKey": {"id": f"{actor}#main-key", "owner": actor, "publicKeyPem": public_pem(self.key)},
        }
        return web.json_response(document, content_type="application/activity+json")

    async def _inbox(self, request: web.Request) -> web.Response:
        self.received.append(json.loads(await request.read()))
        return web.json_response({}, status=202)

    async def post(self, name: str, url: str, activity: dict, *, key: rsa.RSAPrivateKey | None = None) -> int:
        """POST ``activity`` signed under ``name``'s key id (with ``key`` instead of theirs, a forgery)."""
        body = json.dumps(activity).encode()
        headers = sign_request(
            "POST",
            url,
            body,
            key_id=f"{self.id(name)}#main-key",
            private_key=key or self.key,
            now=datetime.now(UTC),
            headers={"Content-Type": "application/activity+json"},
        )
        async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as response:
            return response.status

    async def vote(self, node, name: str, question_id: str, option: str) -> int:
        number = self._numbers[name] = self._numbers.get(name, 0) + 1
        activity = mastodon_vote(self.id(name), question_id, node.actor_id, option, number)
        activity["id"] = f"{activity['id']}-{question_id.rsplit('/', 1)[-1]}"
        activity["object"]["id"] = f"{activity['object']['id']}-{question_id.rsplit('/', 1)[-1]}"
        return await self.post(name, node.inbox, activity)


async def add_members(node, host: MemberHost, prefix: str, count: int, *, since: float | None = None) -> list[str]:
    ids = [host.id(f"{prefix}{n}") for n in range(count)]
    now = since if since is not None else to_epoch(datetime.now(UTC))
    async with node.db.transaction() as conn:
        for actor_id in ids:
            await members.upsert_member(conn, chapter=node.config.node.name, actor_id=actor_id, state="active", now=now)
    return ids


async def build_tree(
    make_node,
    tmp_path,
    clock: FrozenClock,
    host: MemberHost,
    sizes: dict[str, int],
    under=None,
    *,
    later=(),
    extra=None,
):
    """world <- r1 <- (chapters of ``under['r1']``), r2 <- (``under['r2']``); each chapter's members added first.

    Chapters named in ``later`` are started and accepted by their region but not linked: the test links them.
    ``extra`` maps a chapter to more members' actor ids (on other servers: bovine peers), also added first."""
    extra = extra or {}
    under = under or {"r1": ["a", "b"], "r2": ["c"]}
    configs = {name: tree_config(tmp_path, name, "chapter") for names in under.values() for name in names}
    for region, chapters in under.items():
        hosts = tuple(host_of(configs[c].node) for c in chapters)
        configs[region] = tree_config(tmp_path, region, "region", accept_children_from=hosts)
    world_hosts = tuple(host_of(configs[r].node) for r in under)
    configs["world"] = tree_config(tmp_path, "world", "international", accept_children_from=world_hosts)
    many = {"key_fetch_per_host_burst": 1000, "key_fetch_per_host_per_minute": 100000.0}  # 180 members, one host
    nodes = {name: await make_node(config=with_federation(c, **many), clock=clock) for name, c in configs.items()}
    for name, count in sizes.items():
        await add_members(nodes[name], host, name, count)
    for name, ids in extra.items():
        async with nodes[name].db.transaction() as conn:
            for actor_id in ids:
                await members.upsert_member(
                    conn, chapter=name, actor_id=actor_id, state="active", now=to_epoch(clock.now())
                )
    for region, chapters in under.items():
        assert (await link(nodes[region], nodes["world"]))[0] == 201
        await wait_linked(nodes[region], nodes["world"])
        for chapter in (c for c in chapters if c not in later):
            assert (await link(nodes[chapter], nodes[region]))[0] == 201
            await wait_linked(nodes[chapter], nodes[region])

    async def reported():
        tree = await tree_of(nodes["world"])
        counts = {}
        stack = [tree]
        while stack:
            entry = stack.pop()
            counts[entry["id"]] = (entry.get("report") or {}).get("memberCount")
            stack.extend(entry["children"])
        expected = {n: c + len(extra.get(n, ())) for n, c in sizes.items() if n not in later}
        return all(counts.get(nodes[n].actor_id) == c for n, c in expected.items())

    await eventually(reported, timeout=20)
    return nodes


async def copy_questions(node, proposal_id: str, *, within: float = 15.0) -> dict[str, str]:
    """The chapter's copied question ids by the proposal's question ids, once it has copied it."""

    async def copied():
        return await copy_store.copy_of(node.db.reader, proposal_id)

    copy = await eventually(copied, timeout=within)
    mapping = json.loads(copy["questions"])
    return {theirs: ours for ours, theirs in mapping.items()}


async def results(node, proposal_id: str) -> dict:
    status, body = await get_json(f"{proposal_id}/results", accept="application/json")
    assert status == 200, body
    return body


async def final_results(node, proposal_id: str, *, within: float = 30.0) -> dict:
    async def final():
        body = await results(node, proposal_id)
        return body if body["status"] == "final" else None

    return await eventually(final, timeout=within)
