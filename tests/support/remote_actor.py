"""A scriptable remote actor: a real aiohttp server on loopback with its own key and inbox.

It serves its actor document (with ``publicKey``) and records what reaches its inbox, so a
test can send exactly the requests it wants (well signed, or forged in one precise way) and
see what the node sends back. It signs with draft-cavage via the independent ``httpsig``
package by default, so the node's verifier is checked against another implementation.
"""

from __future__ import annotations

import errno
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from federation.multikey import multikey_document
from federation.proofs import add_proof
from federation.signatures import sign_request
from tests.support import keypool
from tests.support.nodes import SHUTDOWN_SECONDS, free_port

AS = "https://www.w3.org/ns/activitystreams"


def new_rsa_key() -> rsa.RSAPrivateKey:
    return keypool.rsa_key()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes

    @property
    def activity(self) -> dict:
        return json.loads(self.body)


@dataclass
class RemoteActor:
    name: str = "alice"
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"  # "localhost" gives a second host name on the same machine
    key: rsa.RSAPrivateKey = field(default_factory=new_rsa_key)
    ed25519_key: ed25519.Ed25519PrivateKey = field(default_factory=ed25519.Ed25519PrivateKey.generate)
    inbox_status: int = 202
    received: list[Received] = field(default_factory=list)
    documents: dict[str, dict] = field(default_factory=dict)
    gone: bool = False
    inbox_headers: dict = field(default_factory=dict)  # extra response headers (Retry-After, ...)
    inbox_policy: object = None  # optional callable(headers) -> status, to answer per request
    _runner: web.AppRunner | None = None
    _started_before: bool = False  # a restart keeps its port: ids already went out with it

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def id(self) -> str:
        return f"{self.base}/users/{self.name}"

    @property
    def key_id(self) -> str:
        return f"{self.id}#main-key"

    @property
    def inbox(self) -> str:
        return f"{self.id}/inbox"

    @property
    def shared_inbox(self) -> str:
        return f"{self.base}/inbox"

    def document(self) -> dict:
        return {
            "@context": [AS, "https://w3id.org/security/v1"],
            "id": self.id,
            "type": "Person",
            "preferredUsername": self.name,
            "inbox": self.inbox,
            "outbox": f"{self.id}/outbox",
            "followers": f"{self.id}/followers",
            "endpoints": {"sharedInbox": self.shared_inbox},
            "publicKey": {"id": self.key_id, "owner": self.id, "publicKeyPem": public_pem(self.key)},
            "assertionMethod": [
                multikey_document(
                    key_id=self.proof_key_id, controller=self.id, public_key=self.ed25519_key.public_key()
                )
            ],
        }

    @property
    def proof_key_id(self) -> str:
        return f"{self.id}#ed25519-key"

    def with_proof(self, document: dict) -> dict:
        """The document signed by this actor (FEP-8b32, eddsa-jcs-2022)."""
        return add_proof(
            document, private_key=self.ed25519_key, verification_method=self.proof_key_id, created=datetime.now(UTC)
        )

    def new_id(self, kind: str = "activities") -> str:
        return f"{self.base}/{kind}/{uuid.uuid4()}"

    async def start(self) -> RemoteActor:
        app = web.Application()
        app.router.add_get("/users/{name}", self._actor)
        app.router.add_post("/users/{name}/inbox", self._inbox)
        app.router.add_post("/inbox", self._inbox)
        app.router.add_get("/{kind}/{id}", self._document)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_SECONDS)
        await self._runner.setup()
        for attempt in range(5):
            try:
                await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
                break
            except OSError as error:  # the free port was taken meanwhile (an outgoing connection)
                if error.errno != errno.EADDRINUSE or self._started_before or attempt == 4:
                    await self._runner.cleanup()
                    raise
                self.port = free_port()
        self._started_before = True
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    async def _actor(self, request: web.Request) -> web.Response:
        if self.gone:
            return web.json_response({"error": "gone"}, status=410)
        if request.match_info["name"] != self.name:
            return web.json_response({"error": "no such actor"}, status=404)
        return web.json_response(self.document(), content_type="application/activity+json")

    async def _inbox(self, request: web.Request) -> web.Response:
        self.received.append(Received(request.path, dict(request.headers), await request.read()))
        status = self.inbox_policy(request.headers) if callable(self.inbox_policy) else self.inbox_status
        return web.json_response({}, status=status, headers=self.inbox_headers)

    async def _document(self, request: web.Request) -> web.Response:
        document = self.documents.get(f"{self.base}{request.path}")
        if document is None:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response(document, content_type="application/activity+json")

    def activity(self, kind: str, obj, **extra) -> dict:
        return {"@context": AS, "id": self.new_id(), "type": kind, "actor": self.id, "object": obj, **extra}

    def signed_headers(
        self,
        url: str,
        body: bytes,
        *,
        key_id: str | None = None,
        key=None,
        now: datetime | None = None,
        scheme: str = "cavage",
    ) -> dict[str, str]:
        return sign_request(
            "POST",
            url,
            body,
            key_id=key_id or self.key_id,
            private_key=key or self.key,
            scheme=scheme,
            now=now or datetime.now(UTC),
            headers={"Content-Type": "application/activity+json"},
        )

    def httpsig_headers(self, url: str, body: bytes) -> dict[str, str]:
        """Signed by the independent ``httpsig`` package, as Mastodon signs."""
        import base64
        import hashlib
        from urllib.parse import urlsplit

        import httpsig

        parts = urlsplit(url)
        headers = {
            "Host": parts.netloc,
            "Date": format_datetime(datetime.now(UTC), usegmt=True),
            "Digest": "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode(),
            "Content-Type": "application/activity+json",
        }
        signer = httpsig.HeaderSigner(
            self.key_id,
            private_pem(self.key),
            algorithm="rsa-sha256",
            headers=["(request-target)", "host", "date", "digest"],
        )
        return signer.sign(headers, method="POST", path=parts.path)

    async def post(
        self, url: str, activity: dict | bytes, *, headers: dict | None = None, signed_by: str = "cavage"
    ) -> tuple[int, dict]:
        body = activity if isinstance(activity, bytes) else json.dumps(activity).encode()
        if headers is None:
            headers = (
                self.httpsig_headers(url, body)
                if signed_by == "httpsig"
                else self.signed_headers(url, body, scheme=signed_by)
            )
        async with aiohttp.ClientSession() as session:
            async with session.post(url, data=body, headers=headers) as response:
                try:
                    payload = await response.json(content_type=None)
                except (json.JSONDecodeError, aiohttp.ContentTypeError):
                    payload = {"raw": await response.text()}
                return response.status, payload
