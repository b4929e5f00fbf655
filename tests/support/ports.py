"""Ports for the tests' servers, chosen below the range the OS hands out to outgoing connections.

Binding port 0 and closing gives a port from the ephemeral range, the one the kernel also
draws the source ports of outgoing connections from; a test that opens many connections
between choosing a port and binding it can find it taken ("address already in use"). So a
port is drawn at random below that range (Linux: ``/proc/sys/net/ipv4/ip_local_port_range``),
checked by binding it, and never handed out twice by this process.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_GIVEN: set[int] = set()
_FLOOR = 10_000


def _ephemeral_start() -> int | None:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port free a moment ago that no outgoing connection will take meanwhile."""
    start = _ephemeral_start()
    if start is not None and start - _FLOOR > 1000:
        for _ in range(200):
            port = random.randrange(_FLOOR, start)
            if port not in _GIVEN and _bindable(host, port):
                _GIVEN.add(port)
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # elsewhere: the OS's choice
        sock.bind((host, 0))
        port = sock.getsockname()[1]
    _GIVEN.add(port)
    return port
