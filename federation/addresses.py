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


_HINT = (
    "set [federation] allow_private_addresses = true only for tests and local demos, "
    "or list a private network in allowed_networks"
)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _ip(address: str):
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip


def is_public_address(address: str) -> bool:
    ip = _ip(address)
    return ip.is_global and not ip.is_multicast


def parse_networks(values) -> tuple[Network, ...]:
    """CIDR strings ("10.1.0.0/16") into networks; ValueError names the bad one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not a network like 10.1.0.0/16") from None
    return tuple(networks)


def address_allowed(address: str, *, allow_private: bool, allowed_networks: tuple[Network, ...] = ()) -> bool:
    """Public addresses always; others only when allowed, or inside an allowed network."""
    if allow_private or is_public_address(address):
        return True
    ip = _ip(address)
    return any(ip in network for network in allowed_networks if network.version == ip.version)


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _name_problem(host: str) -> str | None:
    """Why ``host`` is not a DNS name a connection could use (empty or long labels, bad IDNA)."""
    name = host[:-1] if host.endswith(".") else host
    try:
        ascii_name = name.encode("idna").decode("ascii")
    except UnicodeError as error:
        return f"{host!r} is not a valid host name ({error})"
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or any(not 1 <= len(label) <= 63 for label in labels):
        return f"{host!r} is not a valid host name (labels are 1 to 63 characters, names at most 253)"
    return None


def host_problem(url: str) -> str | None:
    """Why the host part of ``url`` cannot be connected to, or None: user info, a bad port,
    percent-encoding, an unbracketed IPv6 address, an empty or overlong label, invalid IDNA."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as error:
        return f"{url!r} is not a valid URL ({error})"
    if not host:
        return f"{url!r} has no host"
    if "@" in parts.netloc:
        return f"{url!r} carries user info; an address names only a host and a port"
    if port == 0:
        return f"{url!r} names port 0; ports are 1 to 65535"
    if "%" in host:
        return f"{url!r} has a percent-encoded host (or an IPv6 zone)"
    if ":" in host and not parts.netloc.startswith("["):
        return f"{url!r} has an IPv6 address without brackets"
    return None if _is_ip_literal(host) else _name_problem(host)


def check_url(url: str, *, allow_private: bool, allowed_networks: tuple[Network, ...] = ()) -> None:
    """Refuse non-http(s) URLs, hosts that cannot be connected to, and literal IP hosts that are not allowed."""
    if not url.lower().startswith(("http://", "https://")):
        raise BlockedAddress(f"{url!r} is not an http(s) URL")
    problem = host_problem(url)
    if problem is not None:
        raise BlockedAddress(problem)
    hostname = urlsplit(url).hostname or ""  # host_problem refused a URL without one
    if allow_private:
        return
    try:
        allowed = address_allowed(hostname, allow_private=False, allowed_networks=allowed_networks)
    except ValueError:
        loopback_name = hostname.lower() == "localhost" or hostname.lower().endswith(".localhost")
        if loopback_name and not allowed_networks:
            raise BlockedAddress(f"{hostname} is a loopback name; {_HINT}") from None
        return  # a name: the resolver checks what it resolves to
    if not allowed:
        raise BlockedAddress(f"{hostname} is not a public address; {_HINT}")


class GuardedResolver(AbstractResolver):
    """Resolves once and refuses names that resolve to any address that is not allowed.

    aiohttp connects to exactly the addresses returned here, so the check and the
    connection see the same answer. ``inner`` is the resolver asked (tests pass their own).
    """

    def __init__(
        self, *, allow_private: bool, allowed_networks: tuple[Network, ...] = (), inner: AbstractResolver | None = None
    ) -> None:
        self._inner = inner or ThreadedResolver()
        self._allow_private = allow_private
        self._allowed_networks = allowed_networks

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            if not address_allowed(
                result["host"], allow_private=self._allow_private, allowed_networks=self._allowed_networks
            ):
                raise BlockedAddress(f"{host} resolves to {result['host']}, which is not public; {_HINT}")
        return results

    async def close(self) -> None:
        await self._inner.close()
