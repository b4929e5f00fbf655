"""Where the node may connect: never to private, loopback or link-local addresses by default.

The check happens at resolution: :class:`GuardedResolver` resolves a host once, refuses it if
any address is not public, and aiohttp then connects to exactly the addresses it checked, so
a DNS answer that changes between check and connect (rebinding) cannot slip through. URLs
with literal IP hosts never reach a resolver, so :func:`check_url` covers them, along with
the scheme. Redirects are followed by the client by hand, each hop checked again.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver


class BlockedAddress(Exception):
    """The node refuses to connect there; the message says why and which setting allows it."""


_HINT = "set [federation] allow_private_addresses = true only for tests and local demos"


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse non-http(s) URLs and literal non-public IP hosts."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise BlockedAddress(f"{url!r} is not an http(s) URL")
    if not parts.hostname:
        raise BlockedAddress(f"{url!r} has no host")
    if allow_private:
        return
    try:
        public = is_public_address(parts.hostname)
    except ValueError:
        if parts.hostname.lower() in ("localhost",) or parts.hostname.lower().endswith(".localhost"):
            raise BlockedAddress(f"{parts.hostname} is a loopback name; {_HINT}") from None
        return  # a name: the resolver checks what it resolves to
    if not public:
        raise BlockedAddress(f"{parts.hostname} is not a public address; {_HINT}")


class GuardedResolver(AbstractResolver):
    """Resolves once and refuses names that resolve to any non-public address."""

    def __init__(self, *, allow_private: bool) -> None:
        self._inner = ThreadedResolver()
        self._allow_private = allow_private

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if not self._allow_private:
            for result in results:
                if not is_public_address(result["host"]):
                    raise BlockedAddress(f"{host} resolves to {result['host']}, which is not public; {_HINT}")
        return results

    async def close(self) -> None:
        await self._inner.close()
