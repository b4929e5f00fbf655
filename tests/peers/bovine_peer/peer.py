"""A small, independent ActivityPub peer driven by the ``bovine`` library.

This script runs in its OWN virtual environment (see requirements.txt next to it and
tests/peers/bovine.py), never in the project's venv, and imports nothing from the
project.  Everything ActivityPub-ish is done with bovine's own code:

* actor document:      bovine.activitystreams.Actor(...).build()
* key pair:            bovine.crypto.generate_rsa_public_private_key()
* WebFinger answer:    bovine.utils.webfinger_response_json()
* WebFinger lookup:    bovine.clients.lookup_uri_with_webfinger()
* outgoing requests:   bovine.BovineActor -> SignedHttpClient (draft-cavage
                       HTTP signatures, rsa-sha256, Digest header)
* activities:          bovine.activitystreams.activity_factory.ActivityFactory
* inbox verification:  bovine.crypto.build_validate_http_signature_raw()
                       (bovine's SignatureChecker: digest, date window, draft-cavage
                       and RFC 9421 signatures), with a key retriever that
                       dereferences the keyId with a bovine-signed GET and turns the
                       key into a bovine CryptographicIdentifier.

Usage::

    <bovine-venv>/bin/python peer.py --port 8090 --host 127.0.0.1 --name alice

HTTP surface (all on the same port):

    GET  /.well-known/webfinger?resource=acct:alice@127.0.0.1:8090
    GET  /users/alice                    actor (application/activity+json)
    POST /users/alice/inbox, POST /inbox inbox (always 202 for JSON bodies)
    GET  /users/alice/{outbox,followers,following}
    GET  /activities/<uuid>, /objects/<uuid>   things this peer has sent

    Control API for the tests (JSON in / JSON out):
    GET  /_control/ready
    POST /_control/lookup      {"account": "london@127.0.0.1:8081"}
    POST /_control/follow      {"actor_id": "..."}
    POST /_control/undo-follow {"follow_id": "..."}
    POST /_control/send        {"inbox": "...", "activity": {...}}
    POST /_control/fetch       {"url": "..."}
    GET  /_control/received
    GET  /_control/sent        outgoing deliveries (incl. automatic Accepts)
    POST /_control/config      {"auto_accept": bool}
    POST /_control/reset       forget received/sent entries
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import logging
import sys
import traceback
import uuid
from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

import bovine
from bovine import BovineActor
from bovine.activitystreams import Actor, OrderedCollection
from bovine.activitystreams.activity_factory import ActivityFactory
from bovine.clients import lookup_uri_with_webfinger
from bovine.crypto import (
    build_validate_http_signature_raw,
    generate_rsa_public_private_key,
)
from bovine.crypto.digest import validate_digest
from bovine.crypto.types import CryptographicIdentifier
from bovine.types import Visibility
from bovine.utils import parse_fediverse_handle, webfinger_response_json

log = logging.getLogger("bovine_peer")

ACTIVITY_JSON = "application/activity+json"
AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"

# Per inbox request: problems met by the key retriever, so `error` can say why
# bovine's checker returned no signer.
_verify_notes: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "verify_notes", default=None
)


class BadRequest(Exception):
    """Raised by control handlers for invalid input (answered with 400)."""


def _note(message: str) -> None:
    notes = _verify_notes.get()
    if notes is not None:
        notes.append(message)
    log.info("verify: %s", message)


def _json_response(data: Any, status: int = 200, content_type: str = "application/json"):
    return web.Response(
        text=json.dumps(data), status=status, content_type=content_type
    )


def _ap_response(data: Any, status: int = 200):
    return web.Response(
        body=json.dumps(data).encode("utf-8"),
        status=status,
        headers={"Content-Type": ACTIVITY_JSON},
    )


def _parse_json_text(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        return None


class Peer:
    def __init__(self, host: str, port: int, name: str):
        self.host = host
        self.port = port
        self.name = name
        self.netloc = f"{host}:{port}"
        self.base_url = f"http://{self.netloc}"
        self.actor_id = f"{self.base_url}/users/{name}"
        self.key_id = f"{self.actor_id}#main-key"
        self.inbox_url = f"{self.actor_id}/inbox"
        self.shared_inbox_url = f"{self.base_url}/inbox"
        self.outbox_url = f"{self.actor_id}/outbox"
        self.followers_url = f"{self.actor_id}/followers"
        self.following_url = f"{self.actor_id}/following"
        self.acct = f"acct:{name}@{self.netloc}"

        self.public_key_pem, self.private_key_pem = generate_rsa_public_private_key()
        self.actor_doc = Actor(
            id=self.actor_id,
            type="Person",
            name=name.capitalize(),
            preferred_username=name,
            inbox=self.inbox_url,
            outbox=self.outbox_url,
            followers=self.followers_url,
            following=self.following_url,
            summary=f"bovine {bovine_version()} test peer",
            url=self.actor_id,
            public_key=self.public_key_pem,
            public_key_name="main-key",
            properties={"endpoints": {"sharedInbox": self.shared_inbox_url}},
        ).build(visibility=Visibility.OWNER)
        self.activity_factory = ActivityFactory(self.actor_doc)

        self.bovine_actor: BovineActor | None = None
        self.session: aiohttp.ClientSession | None = None
        self.validator = build_validate_http_signature_raw(self._retrieve_key)

        self.auto_accept = True
        self.received: list[dict] = []  # completed entries, each with "seq"
        self._seq = 0
        self.sent: list[dict] = []
        self.follows: dict[str, dict] = {}  # follow id -> {"activity", "inbox"}
        self.followers: list[str] = []
        self.following: list[str] = []
        self.documents: dict[str, dict] = {}  # id -> doc served at that URL
        self._tasks: set[asyncio.Task] = set()

    # ------------------------------------------------------------------ setup
    async def startup(self, app: web.Application) -> None:
        timeout = aiohttp.ClientTimeout(total=20)
        self.session = aiohttp.ClientSession(timeout=timeout)
        self.bovine_actor = BovineActor(
            actor_id=self.actor_id,
            public_key_url=self.key_id,
            secret=self.private_key_pem,
        )
        await self.bovine_actor.init(session=self.session)

    async def cleanup(self, app: web.Application) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self.session is not None:
            await self.session.close()

    def new_id(self, kind: str = "activities") -> str:
        return f"{self.base_url}/{kind}/{uuid.uuid4()}"

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _remember(self, activity: dict) -> None:
        """Serve what we send (and embedded objects) at their ids, if ours."""
        act_id = activity.get("id")
        if isinstance(act_id, str) and act_id.startswith(self.base_url + "/"):
            self.documents[act_id] = activity
        obj = activity.get("object")
        if isinstance(obj, dict):
            obj_id = obj.get("id")
            if isinstance(obj_id, str) and obj_id.startswith(self.base_url + "/"):
                self.documents.setdefault(obj_id, obj)

    # ------------------------------------------------------------ bovine I/O
    async def signed_get(self, url: str, max_redirects: int = 3):
        """bovine-signed GET. Returns (status, text, final_url)."""
        assert self.bovine_actor is not None and self.bovine_actor.client is not None
        current = url
        for _ in range(max_redirects + 1):
            response = await self.bovine_actor.client.get(current)
            try:
                text = await response.text()
                status = response.status
                location = response.headers.get("Location")
            finally:
                response.release()
            if 300 <= status < 400 and location:
                current = str(URL(current).join(URL(location)))
                continue
            return status, text, current
        return status, text, current

    async def signed_post(self, url: str, activity: dict):
        """bovine-signed POST of an activity. Returns (status, text)."""
        assert self.bovine_actor is not None and self.bovine_actor.client is not None
        response = await self.bovine_actor.client.post(url, json.dumps(activity))
        try:
            text = await response.text()
            return response.status, text
        finally:
            response.release()

    async def deliver(self, inbox: str, activity: dict, reason: str) -> dict:
        self._remember(activity)
        entry: dict[str, Any] = {
            "reason": reason,
            "inbox": inbox,
            "activity": activity,
            "status": None,
            "body": None,
            "error": None,
        }
        try:
            entry["status"], entry["body"] = await self.signed_post(inbox, activity)
        except Exception as exc:  # network failures are reported, not raised
            entry["error"] = f"{type(exc).__name__}: {exc}"
            log.warning("delivery to %s failed: %s", inbox, entry["error"])
        self.sent.append(entry)
        log.info(
            "sent %s %s to %s -> %s",
            activity.get("type"),
            activity.get("id"),
            inbox,
            entry["status"] if entry["error"] is None else entry["error"],
        )
        return entry

    async def fetch_actor(self, actor_id: str) -> dict:
        status, text, _ = await self.signed_get(actor_id)
        if status != 200:
            raise LookupError(f"GET {actor_id} answered {status}")
        doc = _parse_json_text(text)
        if not isinstance(doc, dict):
            raise LookupError(f"GET {actor_id} did not return a JSON object")
        return doc

    @staticmethod
    def inbox_of(actor: dict) -> str:
        inbox = actor.get("inbox")
        if isinstance(inbox, dict):
            inbox = inbox.get("id")
        if not isinstance(inbox, str):
            raise LookupError(f"actor {actor.get('id')} has no inbox")
        return inbox

    # ------------------------------------------------- signature verification
    async def _retrieve_key(self, key_id: str) -> CryptographicIdentifier | None:
        """Key retriever handed to bovine's SignatureChecker.

        Dereferences key_id with a bovine-signed GET and returns the matching key
        as a bovine CryptographicIdentifier (publicKey/publicKeyPem, or a FEP-521a
        Multikey). Returns None (=> bovine reports the signature invalid) if the
        key cannot be found or is inconsistent.
        """
        try:
            status, text, _ = await self.signed_get(key_id)
        except Exception as exc:
            _note(f"fetching key {key_id} failed: {type(exc).__name__}: {exc}")
            return None
        if status != 200:
            _note(f"fetching key {key_id} answered HTTP {status}")
            return None
        doc = _parse_json_text(text)
        if not isinstance(doc, dict):
            _note(f"key document {key_id} is not a JSON object")
            return None
        try:
            identifier = self._identifier_from_document(doc, key_id)
        except Exception as exc:
            _note(f"cannot use key {key_id}: {type(exc).__name__}: {exc}")
            return None
        if identifier is not None:
            _note(f"retrieved key {key_id} (controller {identifier.controller})")
        return identifier

    @staticmethod
    def _identifier_from_document(doc: dict, key_id: str) -> CryptographicIdentifier | None:
        def as_list(value):
            if value is None:
                return []
            return value if isinstance(value, list) else [value]

        # The key itself (e.g. a separate key URL serving {id, owner, publicKeyPem}).
        if "publicKeyPem" in doc:
            if doc.get("id") not in (None, key_id):
                _note(f"key document id {doc.get('id')} != keyId {key_id}")
                return None
            return CryptographicIdentifier.from_public_key(doc)
        if doc.get("type") == "Multikey":
            return CryptographicIdentifier.from_multikey(doc)

        # An actor document carrying its keys.
        actor_id = doc.get("id")
        for key in as_list(doc.get("publicKey")):
            if isinstance(key, dict) and key.get("id") == key_id:
                if key.get("owner") != actor_id:
                    _note(f"publicKey owner {key.get('owner')} != actor id {actor_id}")
                    return None
                return CryptographicIdentifier.from_public_key(key)
        for prop in ("assertionMethod", "verificationMethod", "authentication"):
            for key in as_list(doc.get(prop)):
                if isinstance(key, dict) and key.get("id") == key_id:
                    if key.get("controller") != actor_id:
                        _note(f"Multikey controller {key.get('controller')} != actor id {actor_id}")
                        return None
                    return CryptographicIdentifier.from_multikey(key)
        _note(f"no key with id {key_id} in document {actor_id}")
        return None

    async def verify(self, request: web.Request, body: bytes):
        """Run bovine's checker. Returns (signer or None, error or None)."""
        notes: list[str] = []
        token = _verify_notes.set(notes)
        try:
            if "signature" not in request.headers:
                return None, "no Signature header"

            async def get_body() -> bytes:
                return body

            try:
                signer = await self.validator(
                    request.method, str(request.url), request.headers, get_body
                )
            except Exception as exc:
                log.warning("bovine checker raised: %s", traceback.format_exc())
                return None, f"bovine checker raised {type(exc).__name__}: {exc}"
            if signer:
                return signer, None
            # Explanations only; the verdict above is bovine's.
            if request.method == "POST" and not validate_digest(request.headers, body):
                notes.insert(0, "Digest/Content-Digest header missing or not matching the body")
            elif any(n.startswith("retrieved key") for n in notes):
                notes.append("signature did not verify with that key")
            reason = "; ".join(notes) if notes else "bovine signature checker rejected the request (see peer log)"
            return None, reason
        finally:
            _verify_notes.reset(token)

    # --------------------------------------------------------------- public
    async def handle_webfinger(self, request: web.Request) -> web.Response:
        resource = request.query.get("resource", "")
        if resource not in (self.acct, self.actor_id, self.acct.removeprefix("acct:")):
            return _json_response({"error": f"unknown resource {resource!r}"}, 404)
        data = webfinger_response_json(self.acct, self.actor_id)
        data["aliases"] = [self.actor_id]
        return _json_response(data, content_type="application/jrd+json")

    async def handle_actor(self, request: web.Request) -> web.Response:
        return _ap_response(self.actor_doc)

    async def handle_collection(self, request: web.Request) -> web.Response:
        which = request.match_info["collection"]
        items = {
            "followers": self.followers,
            "following": self.following,
            "outbox": [],
        }.get(which)
        if items is None:
            return _json_response({"error": "not found"}, 404)
        url = f"{self.actor_id}/{which}"
        return _ap_response(OrderedCollection(url, items=list(items), count=len(items)).build())

    async def handle_document(self, request: web.Request) -> web.Response:
        url = f"{self.base_url}{request.path}"
        doc = self.documents.get(url)
        if doc is None:
            return _json_response({"error": "not found"}, 404)
        return _ap_response(doc)

    async def handle_inbox(self, request: web.Request) -> web.Response:
        self._seq += 1
        seq = self._seq
        body = await request.read()
        activity = _parse_json_text(body.decode("utf-8", errors="replace"))
        signer, error = await self.verify(request, body)
        entry = {
            "seq": seq,
            "path": request.path,
            "verified": signer is not None,
            "signer": signer,
            "error": error,
            "activity": activity if isinstance(activity, dict) else None,
            "headers": {k.lower(): v for k, v in request.headers.items()},
        }
        if not isinstance(activity, dict):
            entry["error"] = (error + "; " if error else "") + "body is not a JSON object"
            entry["raw_body"] = body[:4096].decode("utf-8", errors="replace")
        self.received.append(entry)
        self.received.sort(key=lambda e: e["seq"])
        log.info(
            "inbox: %s %s from signer=%s verified=%s error=%s",
            entry["activity"] and entry["activity"].get("type"),
            entry["activity"] and entry["activity"].get("id"),
            signer,
            entry["verified"],
            entry["error"],
        )
        if not isinstance(activity, dict):
            return _json_response({"error": "body must be a JSON object"}, 400)
        if signer is not None:
            try:
                self._react(activity, signer)
            except Exception:
                log.warning("reacting to activity failed: %s", traceback.format_exc())
        return web.Response(status=202)

    def _react(self, activity: dict, signer: str) -> None:
        """Minimal server behaviour: accept follows, honour Undo(Follow), note Accepts."""
        kind = activity.get("type")
        obj = activity.get("object")
        obj_id = obj.get("id") if isinstance(obj, dict) else obj
        actor = activity.get("actor")
        actor = actor.get("id") if isinstance(actor, dict) else actor
        if actor != signer:
            log.info("not reacting: actor %s != signer %s", actor, signer)
            return
        if kind == "Follow" and obj_id == self.actor_id and self.auto_accept:
            self._spawn(self._accept_follow(activity))
        elif kind == "Undo" and isinstance(obj, dict) and obj.get("type") == "Follow":
            if actor in self.followers:
                self.followers.remove(actor)
        elif kind == "Accept":
            for follow_id, record in self.follows.items():
                if obj_id == follow_id:
                    target = record["activity"].get("object")
                    if target not in self.following:
                        self.following.append(target)

    async def _accept_follow(self, follow: dict) -> None:
        follower = follow.get("actor")
        follower = follower.get("id") if isinstance(follower, dict) else follower
        try:
            inbox = self.inbox_of(await self.fetch_actor(follower))
        except Exception as exc:
            log.warning("cannot accept follow from %s: %s", follower, exc)
            self.sent.append(
                {"reason": "auto-accept", "inbox": None, "activity": None,
                 "status": None, "body": None, "error": str(exc)}
            )
            return
        accept = self.activity_factory.accept(
            follow, include_activity=True, id=self.new_id()
        ).build()
        entry = await self.deliver(inbox, accept, "auto-accept")
        if entry["status"] is not None and entry["status"] < 300 and follower not in self.followers:
            self.followers.append(follower)

    # -------------------------------------------------------------- control
    @staticmethod
    async def _body(request: web.Request) -> dict:
        try:
            data = await request.json()
        except Exception:
            raise BadRequest("request body must be JSON")
        if not isinstance(data, dict):
            raise BadRequest("request body must be a JSON object")
        return data

    @staticmethod
    def _str_field(data: dict, name: str) -> str:
        value = data.get(name)
        if not isinstance(value, str) or not value:
            raise BadRequest(f"field {name!r} (non-empty string) is required")
        return value

    async def c_ready(self, request: web.Request) -> web.Response:
        return _json_response({"actor": self.actor_id, "bovine": bovine_version()})

    async def c_lookup(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        account = self._str_field(data, "account")
        scheme = data.get("scheme", "http")
        if scheme not in ("http", "https"):
            raise BadRequest("scheme must be http or https")
        _, domain = parse_fediverse_handle(account)
        if not domain:
            raise BadRequest(f"account {account!r} is not of the form user@domain")
        uri = "acct:" + account.lstrip("@").removeprefix("acct:")
        # bovine assumes https unless the domain argument carries a scheme; give it
        # one so the WebFinger URL becomes http://<domain>/.well-known/webfinger.
        try:
            actor_id, _ = await lookup_uri_with_webfinger(
                self.session, uri, domain=f"{scheme}://{domain}"
            )
        except Exception as exc:
            return _json_response({"error": f"webfinger failed: {type(exc).__name__}: {exc}"}, 502)
        if not actor_id:
            return _json_response({"error": f"webfinger found no actor for {uri}"}, 404)
        try:
            status, text, _ = await self.signed_get(actor_id)
        except Exception as exc:
            return _json_response(
                {"actor_id": actor_id, "error": f"actor fetch failed: {type(exc).__name__}: {exc}"}, 502
            )
        doc = _parse_json_text(text)
        if status != 200 or not isinstance(doc, dict):
            return _json_response(
                {"actor_id": actor_id, "status": status, "error": "actor fetch failed", "body": text[:2000]},
                502,
            )
        return _json_response({"actor_id": actor_id, "actor": doc, "status": status})

    async def c_follow(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        target = self._str_field(data, "actor_id")
        try:
            inbox = data.get("inbox") or self.inbox_of(await self.fetch_actor(target))
        except Exception as exc:
            return _json_response({"error": f"cannot resolve inbox: {exc}"}, 502)
        follow = self.activity_factory.follow(target, id=self.new_id()).build()
        self.follows[follow["id"]] = {"activity": follow, "inbox": inbox}
        entry = await self.deliver(inbox, follow, "follow")
        return _json_response(
            {"follow_id": follow["id"], "status": entry["status"], "body": entry["body"],
             "error": entry["error"], "activity": follow}
        )

    async def c_undo_follow(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        follow_id = self._str_field(data, "follow_id")
        record = self.follows.get(follow_id)
        if record is None:
            return _json_response({"error": f"unknown follow {follow_id}"}, 404)
        undo = self.activity_factory.undo(
            record["activity"], include_activity=True, id=self.new_id()
        ).build()
        entry = await self.deliver(record["inbox"], undo, "undo-follow")
        target = record["activity"].get("object")
        if target in self.following:
            self.following.remove(target)
        return _json_response(
            {"id": undo["id"], "status": entry["status"], "body": entry["body"],
             "error": entry["error"], "activity": undo}
        )

    async def c_send(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        inbox = self._str_field(data, "inbox")
        activity = data.get("activity")
        if not isinstance(activity, dict):
            raise BadRequest("field 'activity' (JSON object) is required")
        activity = dict(activity)
        activity.setdefault("@context", "https://www.w3.org/ns/activitystreams")
        activity.setdefault("actor", self.actor_id)
        activity.setdefault("id", self.new_id())
        entry = await self.deliver(inbox, activity, "send")
        return _json_response(
            {"status": entry["status"], "body": entry["body"], "id": activity["id"],
             "error": entry["error"], "activity": activity}
        )

    async def c_fetch(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        url = self._str_field(data, "url")
        try:
            status, text, final_url = await self.signed_get(url)
        except Exception as exc:
            return _json_response({"status": None, "document": None,
                                   "error": f"{type(exc).__name__}: {exc}"})
        return _json_response(
            {"status": status, "document": _parse_json_text(text), "body": text[:20000],
             "url": final_url, "error": None}
        )

    async def c_received(self, request: web.Request) -> web.Response:
        return _json_response(self.received)

    async def c_sent(self, request: web.Request) -> web.Response:
        return _json_response(self.sent)

    async def c_config(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        if "auto_accept" in data:
            self.auto_accept = bool(data["auto_accept"])
        return _json_response({"auto_accept": self.auto_accept})

    async def c_reset(self, request: web.Request) -> web.Response:
        self.received.clear()
        self.sent.clear()
        return _json_response({"ok": True})


def bovine_version() -> str:
    try:
        from importlib.metadata import version

        return version("bovine")
    except Exception:
        return "unknown"


@web.middleware
async def error_middleware(request: web.Request, handler):
    try:
        return await handler(request)
    except BadRequest as exc:
        log.info("bad request to %s: %s", request.path, exc)
        return _json_response({"error": str(exc)}, 400)
    except web.HTTPException:
        raise
    except Exception as exc:
        log.error("error handling %s %s:\n%s", request.method, request.path, traceback.format_exc())
        return _json_response({"error": f"{type(exc).__name__}: {exc}"}, 500)


def build_app(peer: Peer) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=4 * 1024 * 1024)
    app.on_startup.append(peer.startup)
    app.on_cleanup.append(peer.cleanup)
    users = f"/users/{peer.name}"
    app.router.add_get("/.well-known/webfinger", peer.handle_webfinger)
    app.router.add_get(users, peer.handle_actor)
    app.router.add_post(users + "/inbox", peer.handle_inbox)
    app.router.add_post("/inbox", peer.handle_inbox)
    app.router.add_get(users + "/{collection}", peer.handle_collection)
    app.router.add_get("/activities/{id}", peer.handle_document)
    app.router.add_get("/objects/{id}", peer.handle_document)
    app.router.add_get("/_control/ready", peer.c_ready)
    app.router.add_post("/_control/lookup", peer.c_lookup)
    app.router.add_post("/_control/follow", peer.c_follow)
    app.router.add_post("/_control/undo-follow", peer.c_undo_follow)
    app.router.add_post("/_control/send", peer.c_send)
    app.router.add_post("/_control/fetch", peer.c_fetch)
    app.router.add_get("/_control/received", peer.c_received)
    app.router.add_get("/_control/sent", peer.c_sent)
    app.router.add_post("/_control/config", peer.c_config)
    app.router.add_post("/_control/reset", peer.c_reset)
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="bovine-driven ActivityPub test peer")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", default="alice")
    parser.add_argument("--no-auto-accept", action="store_true",
                        help="do not answer verified Follows with an Accept")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=getattr(logging, args.log_level.upper(), logging.INFO),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    peer = Peer(args.host, args.port, args.name)
    peer.auto_accept = not args.no_auto_accept
    log.info("bovine %s peer %s starting on %s", bovine_version(), peer.actor_id, peer.base_url)
    web.run_app(build_app(peer), host=args.host, port=args.port, print=None,
                access_log=logging.getLogger("bovine_peer.access"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
