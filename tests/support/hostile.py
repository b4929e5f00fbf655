"""A scripted hostile Group: a real server on loopback with its own keys, that lies as a peer would.

:class:`HostileGroup` is one aiohttp server on 127.0.0.1 (its own port) hosting one Group
actor (a ``chapter`` or a ``region``) and any number of invented ones (:meth:`persona`), each
with its own Ed25519 key published as a FEP-521a Multikey in ``assertionMethod`` exactly as
our nodes publish theirs, and one RSA-2048 key (HTTP signatures) they share. It records
every POST to its inboxes (:attr:`received`) and every GET (:attr:`fetched`), serves any JSON
document at any path (:meth:`serve`), signs any document with any key (:meth:`sign`), and
POSTs signed activities to any inbox (:meth:`post`). It links below a region as our nodes do
(:meth:`join`: a signed ``Join`` of the region's actor; the region accepts it automatically
when its ``[tree] accept_children_from`` lists this host), sends signed ``BranchReport`` s
(:meth:`report`), and plays a parent too (:meth:`accept_child`, :meth:`proposal`).

A hostile member needs nothing more than :class:`tests.support.decisions.MemberHost`, which
signs as any of its members.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from federation.multikey import multikey_document
from federation.proofs import add_proof
from federation.signatures import sign_request
from node.branches import documents as branch_documents
from node.branches.reports import report_time
from node.core import vocabulary
from node.core.actors import ACTOR_CONTEXT
from node.core.clock import iso
from node.decisions import documents as decision_documents
from node.decisions import leaves, proposal, rolls
from tests.support import keypool
from tests.support.ports import free_port
from tests.support.remote_actor import public_pem

AS_JSON = "application/activity+json"


@dataclass
class Persona:
    """One actor of the hostile server: its level, the parent its actor shows, its own Ed25519 key."""

    name: str
    level: str | None
    parent: str | None = None
    ed25519: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    kind: str = "Group"


class HostileGroup:
    def __init__(self, name: str = "mallory", level: str | None = "chapter", *, port: int | None = None) -> None:
        self.port = port or free_port()
        self.name = name
        self.rsa = keypool.rsa_key()
        self.personas: dict[str, Persona] = {name: Persona(name, level)}
        self.received: list[dict] = []
        self.fetched: list[str] = []
        self.served: dict[str, Any] = {}
        self._runner: web.AppRunner | None = None

    # --- addresses ------------------------------------------------------------------------

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def actor_id(self, name: str | None = None) -> str:
        return f"{self.base}/users/{name or self.name}"

    def inbox(self, name: str | None = None) -> str:
        return f"{self.actor_id(name)}/inbox"

    def key_id(self, name: str | None = None) -> str:
        return f"{self.actor_id(name)}#ed25519-key"

    def new_id(self, what: str = "activities") -> str:
        return f"{self.base}/{what}/{uuid.uuid4()}"

    def persona(self, name: str, level: str | None = "chapter", *, parent: str | None = None) -> str:
        """An actor of this host's own invention (a chapter no one runs); its id."""
        self.personas[name] = Persona(name, level, parent)
        return self.actor_id(name)

    def set_parent(self, parent: str | None, name: str | None = None) -> None:
        self.personas[name or self.name].parent = parent

    # --- the server -----------------------------------------------------------------------

    async def start(self) -> HostileGroup:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_get("/users/{name}", self._actor)
        app.router.add_post("/users/{name}/inbox", self._inbox)
        app.router.add_post("/inbox", self._inbox)
        app.router.add_get("/{tail:.*}", self._any)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def actor_document(self, name: str) -> dict:
        persona = self.personas[name]
        actor = self.actor_id(name)
        document = {
            "@context": ACTOR_CONTEXT,
            "id": actor,
            "type": persona.kind,
            "preferredUsername": name,
            "name": f"Hostile {name}",
            "inbox": f"{actor}/inbox",
            "outbox": f"{actor}/outbox",
            "followers": f"{actor}/followers",
            "children": f"{actor}/children",
            "endpoints": {"sharedInbox": f"{self.base}/inbox"},
            "publicKey": {"id": f"{actor}#main-key", "owner": actor, "publicKeyPem": public_pem(self.rsa)},
            "assertionMethod": [
                multikey_document(key_id=self.key_id(name), controller=actor, public_key=persona.ed25519.public_key())
            ],
        }
        if persona.level is not None:
            document["level"] = persona.level
        if persona.parent is not None:
            document["parent"] = persona.parent
        return document

    async def _actor(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.fetched.append(request.path)
        if name not in self.personas:
            return web.json_response({"error": "no such actor"}, status=404)
        return web.json_response(self.actor_document(name), content_type=AS_JSON)

    async def _inbox(self, request: web.Request) -> web.Response:
        self.received.append(json.loads(await request.read()))
        return web.json_response({}, status=202)

    async def _any(self, request: web.Request) -> web.Response:
        self.fetched.append(request.path)
        document = self.served.get(request.path)
        if document is None:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response(document, content_type=AS_JSON)

    def serve(self, path: str, document: Any) -> str:
        """Serve ``document`` at ``path`` (from ``/``); its URL."""
        self.served[path] = document
        return f"{self.base}{path}"

    def serve_leaves(self, made: list[dict], path: str | None = None) -> str:
        path = path or f"/leaves/{uuid.uuid4()}"
        url = f"{self.base}{path}"
        page = {"id": url, "type": "OrderedCollection", "totalItems": len(made), "orderedItems": made}
        return self.serve(path, page)

    # --- signing and sending --------------------------------------------------------------

    def sign(
        self,
        document: dict,
        *,
        name: str | None = None,
        key: Ed25519PrivateKey | None = None,
        method: str | None = None,
    ) -> dict:
        """``document`` with a FEP-8b32 proof: by default this actor's own key under its own key id;
        ``key`` and ``method`` sign with any key under any key id (a forgery)."""
        persona = self.personas[name or self.name]
        return add_proof(
            document,
            private_key=key or persona.ed25519,
            verification_method=method or self.key_id(persona.name),
            created=datetime.now(UTC),
        )

    def activity(self, kind: str, *, to: str, name: str | None = None, **fields: Any) -> dict:
        return {
            "@context": vocabulary.signed_context(),
            "id": self.new_id(),
            "type": kind,
            "actor": self.actor_id(name),
            "to": [to],
            "published": iso(datetime.now(UTC)),
            **fields,
        }

    async def post(self, url: str, activity: dict, *, name: str | None = None) -> tuple[int, Any]:
        """POST ``activity`` to ``url``, HTTP-signed as ``name`` (this actor by default)."""
        body = json.dumps(activity).encode()
        headers = sign_request(
            "POST",
            url,
            body,
            key_id=f"{self.actor_id(name)}#main-key",
            private_key=self.rsa,
            now=datetime.now(UTC),
            headers={"Content-Type": AS_JSON},
        )
        async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as response:
            return response.status, await response.json(content_type=None)

    async def send(self, node, kind: str, *, name: str | None = None, **fields: Any) -> tuple[int, dict]:
        """An activity of ``kind`` from this actor to ``node`` (a RunningNode), POSTed to its inbox:
        (the HTTP status, the activity sent)."""
        activity = self.activity(kind, to=node.actor_id, name=name, **fields)
        status, _ = await self.post(node.inbox, activity, name=name)
        return status, activity

    async def add(self, node, document: dict, *, name: str | None = None, target: str | None = None):
        """``Add`` of a decision document (a roll, a tally, an aggregate, ...) to ``node``."""
        return await self.send(node, "Add", name=name, object=document, target=target or document.get("proposal"))

    def of_type(self, kind: str, object_type: str | None = None) -> list[dict]:
        """What this server received of ``kind`` (with an embedded object of ``object_type``)."""
        found = []
        for activity in self.received:
            if activity.get("type") != kind:
                continue
            embedded = activity.get("object")
            if object_type is None or (isinstance(embedded, dict) and embedded.get("type") == object_type):
                found.append(activity)
        return found

    # --- the tree -------------------------------------------------------------------------

    async def join(self, region, *, within: float = 15.0) -> None:
        """Ask ``region`` to be our parent, as a node does (a signed Join), and wait for its Accept."""
        join = self.activity("Join", to=region.actor_id, object=region.actor_id)
        status, body = await self.post(region.inbox, join)
        assert status in (200, 202), (status, body)

        async def accepted() -> bool:
            return any(
                a.get("type") == "Accept" and isinstance(a.get("object"), dict) and a["object"].get("id") == join["id"]
                for a in self.received
            )

        await _eventually(accepted, within)
        self.set_parent(region.actor_id)

    def report_document(self, member_count: Any, *, name: str | None = None, parent: str | None = "-") -> dict:
        persona = self.personas[name or self.name]
        facts = {
            "level": persona.level,
            "name": f"Hostile {persona.name}",
            "memberCount": member_count,
            "parent": persona.parent if parent == "-" else parent,
            "linked": report_time(datetime.now(UTC)),
        }
        report = branch_documents.branch_report(
            actor=self.actor_id(persona.name), facts=facts, published=report_time(datetime.now(UTC))
        )
        return self.sign(report, name=persona.name)

    async def report(self, region, member_count: Any, *, name: str | None = None) -> tuple[int, Any]:
        """A signed BranchReport (ours, or one of an invented node's) added to ``region``'s children."""
        report = self.report_document(member_count, name=name)
        target = f"{region.actor_id}/children"
        return await self.send(region, "Add", object=report, target=target)

    async def accept_child(self, child, *, within: float = 15.0) -> None:
        """As a parent: wait for ``child``'s link request, and accept it."""

        async def asked():
            for a in self.received:
                if a.get("type") == "Join" and a.get("actor") == child.actor_id:
                    return a
            return None

        join = await _eventually(asked, within)
        status, body = await self.send(child, "Accept", object=join)
        assert status in (200, 202), (status, body)

    def proposal(
        self,
        *,
        end_time: datetime,
        questions: int = 1,
        options: list[Any] | None = None,
        decision: dict | None = None,
        survey: bool | None = None,
    ) -> dict:
        """A proposal issued (and signed) by this actor, shaped as our composer shapes one."""
        options = options if options is not None else ["agree", "disagree"]
        proposal_id = self.new_id("objects")
        policy = proposal.parse_policy(dict(decision or {}), end_time)

        def question(qid: str, number: int) -> dict:
            return {
                "id": qid,
                "type": "Question",
                "attributedTo": self.actor_id(),
                "content": f"<p>Question {number}</p>",
                "oneOf": [
                    {"type": "Note", "name": n, "replies": {"type": "Collection", "totalItems": 0}} for n in options
                ],
                "endTime": iso(end_time),
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
            }

        if questions == 1 and not survey:
            document = question(proposal_id, 1)
        else:
            document = {
                "id": proposal_id,
                "type": "Survey",
                "attributedTo": self.actor_id(),
                "name": "A hostile survey",
                "content": "<p>Questions.</p>",
                "endTime": iso(end_time),
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "orderedItems": [question(self.new_id("objects"), n) for n in range(questions)],
            }
        document["@context"] = vocabulary.signed_context()
        document["decision"] = policy
        return document

    # --- decision documents ---------------------------------------------------------------

    def decision(self, kind: str, proposal_id: str, *, name: str | None = None, **fields: Any) -> dict:
        """An unsigned decision document of ``proposal_id`` by this actor (or ``name``)."""
        return decision_documents.decision_document(
            kind, actor=self.actor_id(name), proposal=proposal_id, published=iso(datetime.now(UTC)), **fields
        )

    def roll(self, proposal_id: str, entries: list[tuple[str, int]], *, name: str | None = None) -> dict:
        """A signed roll of (commitment, day) entries."""
        entries = sorted(entries)
        unsigned = self.decision(
            "DecisionRoll",
            proposal_id,
            name=name,
            rollSize=len(entries),
            commitments=[list(e) for e in entries],
            rollHash=rolls.roll_hash(entries),
        )
        return self.sign(unsigned, name=name)

    def honest_tally(
        self,
        prop: dict,
        answers: list[dict[str, list[str]]],
        *,
        roll_size: int,
        name: str | None = None,
        exclusions: int = 0,
        excluded: int = 0,
        leaves_url: str | None = None,
    ) -> tuple[dict, list[dict]]:
        """(the unsigned tally fields, the leaves) an honest chapter would send for ``answers`` (one
        mapping of question id to choices per voter): the figures read off the leaves."""
        chapter = self.actor_id(name)
        made = leaves.canonical_order([leaves.leaf(prop["id"], chapter, uuid.uuid4().hex, given) for given in answers])
        counted = leaves.recount(proposal.ballots_of(prop), made)
        url = leaves_url or self.serve_leaves(made)
        fields = {
            "questions": [{"id": q, "counts": c.counts, "voters": c.voters} for q, c in counted.questions.items()],
            "voters": counted.voters,
            "rollSize": roll_size,
            "exclusions": exclusions,
            "excludedMembers": excluded,
            "merkleRoot": leaves.merkle_root(made),
            "leaves": url,
        }
        return fields, made

    def tally(self, proposal_id: str, fields: dict, *, name: str | None = None) -> dict:
        return self.sign(self.decision("DecisionTally", proposal_id, name=name, **fields), name=name)


def random_entries(count: int, day: int = 20_000) -> list[tuple[str, int]]:
    """``count`` roll entries of commitments no one can point at (members the chapter invented)."""
    return [(uuid.uuid4().hex + uuid.uuid4().hex, day) for _ in range(count)]


def end_in(clock, minutes: int = 5) -> datetime:
    return clock.now() + timedelta(minutes=minutes)


async def _eventually(check, within: float, interval: float = 0.05):
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within}s (last: {result!r})")
        await asyncio.sleep(interval)
