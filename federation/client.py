"""The node's one outbound HTTP client: signed, bounded, and careful where it connects.

Every fetch is a signed GET (servers in secure mode refuse unsigned ones), on a connection
pool of its own; every delivery is a signed POST, draft-cavage first and, on 401, RFC 9421 (the "double knock"); the scheme
that worked is remembered per host. Each request is bounded: a total timeout, a cap on the
body read (checked against Content-Length first and again while reading), at most
``MAX_REDIRECTS`` redirects, each hop checked by :func:`federation.addresses.check_url`.
Errors come back as :class:`FetchError` or as a :class:`PostResult`, never as a bare
exception from aiohttp (nor a ValueError from a URL that cannot be encoded or resolved).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp

from federation import jsonio
from federation.addresses import BlockedAddress, GuardedResolver, check_url
from federation.signatures import Scheme, sign_request

ACTIVITY_JSON = "application/activity+json"
LD_JSON_AS = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
ACCEPT_AP = f"{ACTIVITY_JSON}, {LD_JSON_AS}"
MAX_REDIRECTS = 3
_JSON_TYPES = ("application/activity+json", "application/ld+json", "application/json", "application/jrd+json")


@dataclass(frozen=True)
class Signer:
    key_id: str
    private_key: Any = field(repr=False)


class FetchError(Exception):
    """A remote document could not be had; ``status`` is the HTTP status when there was one."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status

    @property
    def gone(self) -> bool:
        return self.status in (404, 410)


@dataclass(frozen=True)
class PostResult:
    status: int | None  # None when no HTTP answer came back
    error: str | None = None
    retry_after: float | None = None  # seconds, from Retry-After
    permanent: bool = False  # refused before sending (blocked, or an address never allowed): retrying won't help

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def make_session(
    *, allow_private: bool, user_agent: str, concurrency: int, allowed_networks: tuple = ()
) -> aiohttp.ClientSession:
    """A session with its own connection pool (the node makes one for deliveries, one for fetches)."""
    connector = aiohttp.TCPConnector(
        resolver=GuardedResolver(allow_private=allow_private, allowed_networks=allowed_networks),
        limit=max(concurrency * 2, 16),
        ttl_dns_cache=300,
    )
    return aiohttp.ClientSession(connector=connector, headers={"User-Agent": user_agent}, auto_decompress=True)


def parse_retry_after(value: str | None, now) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
    except (TypeError, ValueError):
        return None


class FederationClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        clock,
        allow_private: bool,
        allowed_networks: tuple = (),
        max_fetch_bytes: int,
        fetch_timeout: float,
        delivery_timeout: float,
        refuse: Callable[[str], str | None] | None = None,
        fetch_session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.session = session  # deliveries (POST)
        self.fetch_session = fetch_session or session  # fetches (GET): their own pool, so neither starves the other
        self.refuse = refuse  # says why a URL must not be contacted (the admin's blocks), or None
        self.clock = clock
        self.allow_private = allow_private
        self.allowed_networks = allowed_networks
        self.max_fetch_bytes = max_fetch_bytes
        self.fetch_timeout = aiohttp.ClientTimeout(total=fetch_timeout)
        self.delivery_timeout = aiohttp.ClientTimeout(total=delivery_timeout)
        self._scheme_by_host: dict[str, Scheme] = {}

    async def get_json(
        self, url: str, *, signer: Signer | None, accept: str = ACCEPT_AP, max_bytes: int | None = None
    ) -> dict:
        """Signed GET of a JSON document; its ``id`` (if any) must be on the host that served it.
        ``max_bytes``: this document's own cap (a chapter's leaves), instead of ``max_fetch_bytes``;
        a body over the cap is a :class:`FetchError` with ``status`` 413."""
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            check = self._check(current)
            if check:
                raise FetchError(check)
            headers = {"Accept": accept}
            if signer is not None:
                # in a thread, as a delivery's: a burst of new senders' key fetches signs beside the loop
                headers = await asyncio.to_thread(
                    sign_request,
                    "GET",
                    current,
                    None,
                    key_id=signer.key_id,
                    private_key=signer.private_key,
                    now=self.clock.now(),
                    headers=headers,
                )
            try:
                async with self.fetch_session.get(
                    current, headers=headers, allow_redirects=False, timeout=self.fetch_timeout
                ) as response:
                    if response.status in (301, 302, 303, 307, 308) and "Location" in response.headers:
                        current = urljoin(current, response.headers["Location"])
                        continue
                    if response.status != 200:
                        raise FetchError(f"GET {current} answered {response.status}", status=response.status)
                    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
                    if content_type not in _JSON_TYPES:
                        raise FetchError(f"GET {current} answered {content_type or 'no content type'}, not JSON")
                    body = await self._read_capped(response, current, max_bytes or self.max_fetch_bytes)
            except (TimeoutError, aiohttp.ClientError, BlockedAddress, OSError, ValueError) as error:
                raise FetchError(f"GET {current} failed: {_describe(error)}") from None
            try:
                document = jsonio.loads(body)
            except jsonio.JsonError as error:
                raise FetchError(f"GET {current}: {error}") from None
            if not isinstance(document, dict):
                raise FetchError(f"GET {current} did not return a JSON object")
            doc_id = document.get("id")
            if isinstance(doc_id, str) and urlsplit(doc_id).netloc != urlsplit(current).netloc:
                raise FetchError(f"GET {current} returned a document whose id {doc_id} is on another host")
            return document
        raise FetchError(f"GET {url}: more than {MAX_REDIRECTS} redirects")

    async def post_signed(self, inbox: str, body: bytes, *, signer: Signer) -> PostResult:
        """Deliver one activity; cavage first, RFC 9421 on 401, remembering what the host took."""
        check = self._check(inbox)
        if check:
            return PostResult(status=None, error=check, permanent=True)
        host = urlsplit(inbox).netloc
        first: Scheme = self._scheme_by_host.get(host, "cavage")
        schemes: list[Scheme] = [first, "rfc9421" if first == "cavage" else "cavage"]
        result = PostResult(status=None, error="not attempted")
        for scheme in schemes:
            result = await self._post_once(inbox, body, signer, scheme)
            if result.status != 401:
                if result.ok:
                    self._scheme_by_host[host] = scheme
                return result
        return result

    async def _post_once(self, inbox: str, body: bytes, signer: Signer, scheme: Scheme) -> PostResult:
        # RSA signing is the costliest step of a delivery, and cryptography releases the GIL while
        # it signs: done in a thread, it runs beside the event loop (on another core) instead of in it.
        headers = await asyncio.to_thread(
            sign_request,
            "POST",
            inbox,
            body,
            key_id=signer.key_id,
            private_key=signer.private_key,
            scheme=scheme,
            now=self.clock.now(),
            headers={"Content-Type": LD_JSON_AS, "Accept": ACCEPT_AP},
        )
        try:
            async with self.session.post(
                inbox, data=body, headers=headers, allow_redirects=False, timeout=self.delivery_timeout
            ) as response:
                excerpt = (await response.content.read(512)).decode("utf-8", "replace")
                retry_after = parse_retry_after(response.headers.get("Retry-After"), self.clock.now())
                error = None if 200 <= response.status < 300 else f"{response.status}: {excerpt[:200]}"
                return PostResult(status=response.status, error=error, retry_after=retry_after)
        except (TimeoutError, aiohttp.ClientError, BlockedAddress, OSError, ValueError) as error:
            return PostResult(status=None, error=f"POST {inbox} failed: {_describe(error)}")

    def _check(self, url: str) -> str | None:
        try:
            check_url(url, allow_private=self.allow_private, allowed_networks=self.allowed_networks)
        except BlockedAddress as error:
            return str(error)
        return self.refuse(url) if self.refuse is not None else None

    async def _read_capped(self, response: aiohttp.ClientResponse, url: str, limit: int) -> bytes:
        if response.content_length is not None and response.content_length > limit:
            raise FetchError(f"GET {url} is {response.content_length} bytes, over the {limit}-byte limit", status=413)
        chunks, size = [], 0
        async for chunk in response.content.iter_chunked(65536):
            size += len(chunk)
            if size > limit:
                raise FetchError(f"GET {url} is over the {limit}-byte limit", status=413)
            chunks.append(chunk)
        return b"".join(chunks)


def _describe(error: BaseException) -> str:
    """What went wrong, in words; a ValueError (a URL yarl or IDNA cannot encode) included."""
    if isinstance(error, asyncio.TimeoutError):
        return "timed out"
    if isinstance(error, aiohttp.ClientConnectorError) and isinstance(error.os_error, BlockedAddress):
        return str(error.os_error)
    return str(error) or type(error).__name__
