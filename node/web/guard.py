"""Serving the node: connections bounded in number and in how slowly they may talk.

aiohttp reads a request's headers with no deadline of its own, and keeps a connection open as
long as bytes trickle in; a few hundred connections sending a byte every few seconds would
hold the node's file descriptors. So:

- :class:`ConnectionGuard` wraps the server's protocol factory (:class:`GuardedRunner`, an
  ``AppRunner`` whose ``server`` is the guarded factory). Each connection must start a
  request (its headers complete) within ``header_timeout_seconds`` of opening or of the end
  of its previous request, else it is closed; this also ends idle keep-alive connections.
  Past ``max_connections``, a new connection first pushes out the longest idle one (a
  connection between requests); if every one is busy, the new one is closed at once.
- :func:`body_deadline_middleware` reads a request's body (within ``client_max_size``) before
  the handler runs, within ``body_timeout_seconds``; past it the answer is 408 (JSON) and the
  connection is closed. The handler then finds the body already read.

The guard learns that a connection started or finished a request from the middleware (the
request's transport is the connection's). ``node.web.server.NodeRunner`` (which ``chapterhouse serve``
and the tests use) is a :class:`GuardedRunner`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web

from node.core.appkeys import CONFIG, CONNECTION_GUARD
from node.core.errors import ApiError, json_error

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(eq=False)
class _Connection:
    transport: asyncio.Transport
    idle_since: float
    busy: int = 0
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)


class ConnectionGuard:
    def __init__(self, *, max_connections: int, header_timeout: float) -> None:
        self.max_connections = max_connections
        self.header_timeout = header_timeout
        self._connections: dict[asyncio.BaseTransport, _Connection] = {}

    @property
    def open_connections(self) -> int:
        return len(self._connections)

    def wrap(self, factory):
        """A protocol factory for ``loop.create_server`` around aiohttp's."""
        return lambda: _GuardedProtocol(factory(), self)

    def opened(self, transport: asyncio.Transport) -> bool:
        """Whether a new connection may stay (making room by closing the longest idle one)."""
        if len(self._connections) >= self.max_connections and not self._push_out_idle():
            transport.abort()
            return False
        connection = _Connection(transport, asyncio.get_running_loop().time())
        self._connections[transport] = connection
        self._arm(connection, self.header_timeout)
        return True

    def closed(self, transport: asyncio.BaseTransport) -> None:
        connection = self._connections.pop(transport, None)
        if connection is not None and connection.timer is not None:
            connection.timer.cancel()

    def request_started(self, transport) -> None:
        connection = self._connections.get(transport)
        if connection is not None:
            connection.busy += 1

    def request_finished(self, transport) -> None:
        connection = self._connections.get(transport)
        if connection is not None:
            connection.busy = max(0, connection.busy - 1)
            connection.idle_since = asyncio.get_running_loop().time()
            if connection.busy == 0 and connection.timer is None:
                # A timer still armed will fire, see when the connection went idle, and wait
                # the rest of the time: one timer per connection, not one per request.
                self._arm(connection, self.header_timeout)

    def _arm(self, connection: _Connection, delay: float) -> None:
        if connection.timer is not None:
            connection.timer.cancel()
        connection.timer = asyncio.get_running_loop().call_later(delay, self._check, connection)

    def _check(self, connection: _Connection) -> None:
        connection.timer = None
        if connection.busy or connection.transport.is_closing():
            return  # a request is running: request_finished arms the timer again
        left = connection.idle_since + self.header_timeout - asyncio.get_running_loop().time()
        if left > 0.001:
            self._arm(connection, left)
            return
        connection.transport.abort()  # no request within header_timeout: slow headers, or idle keep-alive

    def _push_out_idle(self) -> bool:
        idle = [c for c in self._connections.values() if not c.busy and not c.transport.is_closing()]
        if not idle:
            return False
        oldest = min(idle, key=lambda c: c.idle_since)
        self.closed(oldest.transport)
        oldest.transport.abort()
        return True


class _GuardedProtocol(asyncio.Protocol):
    """aiohttp's protocol for one connection, with the guard told when it opens and closes."""

    def __init__(self, inner: asyncio.Protocol, guard: ConnectionGuard) -> None:
        self._inner = inner
        self._guard = guard
        self._admitted = False

    def connection_made(self, transport) -> None:
        self._admitted = self._guard.opened(transport)
        if self._admitted:
            self._transport = transport
            self._inner.connection_made(transport)

    def connection_lost(self, exc) -> None:
        if self._admitted:
            self._guard.closed(self._transport)
            self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._admitted:
            self._inner.data_received(data)

    def eof_received(self):
        return self._inner.eof_received() if self._admitted else None

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


class GuardedRunner(web.AppRunner):
    """An ``AppRunner`` whose sites accept connections through a :class:`ConnectionGuard`."""

    def __init__(self, app: web.Application, **kwargs) -> None:
        server = app[CONFIG].server
        self.guard = ConnectionGuard(
            max_connections=server.max_connections, header_timeout=server.header_timeout_seconds
        )
        app[CONNECTION_GUARD] = self.guard
        super().__init__(app, **kwargs)
        self._guarded_factory = None

    @property
    def server(self):
        inner = super().server
        if inner is None:
            return None
        if self._guarded_factory is None:
            self._guarded_factory = self.guard.wrap(inner)
        return self._guarded_factory


@web.middleware
async def body_deadline_middleware(request: web.Request, handler):
    guard = request.app.get(CONNECTION_GUARD)
    if guard is not None:
        guard.request_started(request.transport)
    try:
        if request.body_exists and not _too_large_to_read(request):
            timeout = request.app[CONFIG].server.body_timeout_seconds
            try:
                if request.content.is_eof():  # the whole body is here already: nothing to wait for
                    await _read_body(request)
                else:
                    async with asyncio.timeout(timeout):
                        await _read_body(request)
            except TimeoutError:
                response = json_error(
                    408,
                    f"the request body took longer than {timeout:g} s to arrive",
                    "send the whole body at once; this node does not wait for slow uploads",
                )
                response.force_close()
                return response
        return await handler(request)
    finally:
        if guard is not None:
            guard.request_finished(request.transport)


def _too_large_to_read(request: web.Request) -> bool:
    """A declared size over the limit is left to the handler to refuse (413, with its reason)."""
    return request.content_length is not None and request.content_length > request.client_max_size


async def _read_body(request: web.Request) -> None:
    """Read (and cache) the body: ``read()`` for any body, ``post()`` for a form."""
    if request.content_type not in FORM_TYPES:
        await request.read()
        return
    try:
        await request.post()
    except ValueError as error:  # a malformed multipart body
        raise ApiError(400, f"the form could not be read: {error}", hint="send the form as a browser does") from None
