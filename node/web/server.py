"""Serving the application over HTTP, with aiohttp's own refusals in the node's JSON too.

Some requests never reach the application, so neither its handlers nor its error middleware
(``node.core.errors``) can answer them: what aiohttp's HTTP parser refuses (a request line or a
header over 8190 bytes, more than 128 headers, no ``Host`` in HTTP/1.1, a bad method,
version, header line, ``Content-Length`` or chunk) is answered by its connection handler
(``web_protocol.RequestHandler.handle_error``) in text/plain, and an ``Expect`` other than
``100-continue`` is refused (417) before the middlewares run.

Every response of a connection passes through ``RequestHandler.finish_response``:
:class:`JsonRequestHandler` re-renders there any 4xx or 5xx whose body is text/plain (only
aiohttp makes those; the node's own refusals are JSON and its pages HTML) as
``{"error", "hint"}``, keeping the status and the closing of the connection.
:class:`NodeRunner` is the guarded runner (:mod:`node.web.guard`) with that handler. ``web.run_app`` always builds a
plain ``AppRunner``, so :func:`serve` does its job for ``chapterhouse serve``; the tests'
nodes run under :class:`NodeRunner` too.

``chapterhouse worker`` (PostgreSQL: several processes share the node, :mod:`node.core.processes`)
serves nothing: :func:`work` sets the application up without a site, so its cleanup contexts
run the workers, and tears it down at SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import signal

from aiohttp import web

from node.core.errors import json_error
from node.web.guard import GuardedRunner
from node.web.metrics import metrics_only_app

_HINTS = {
    400: (
        "the request could not be read as HTTP/1.1: send a valid request line, a Host header, at most 128 "
        "headers of at most 8190 bytes each, and a valid Content-Length or chunked body"
    ),
    417: "send no Expect header, or Expect: 100-continue",
}
_DEFAULT_HINT = "this node speaks HTTP/1.1; see the error for what it could not take"


def _reason_of(response: web.Response) -> str:
    """The words of aiohttp's text answer, on one line, without its repeated status."""
    text = " ".join(part.strip() for part in (response.text or "").splitlines() if part.strip())
    prefix = f"{response.status}:"
    if text.startswith(prefix):
        text = text[len(prefix) :].strip()
    return text or response.reason


def as_json_refusal(response: web.StreamResponse) -> web.StreamResponse:
    """aiohttp's text/plain 4xx or 5xx as the node's JSON refusal; anything else unchanged."""
    if response.status < 400 or not isinstance(response, web.Response) or response.content_type != "text/plain":
        return response
    refusal = json_error(response.status, _reason_of(response), _HINTS.get(response.status, _DEFAULT_HINT))
    if response.keep_alive is False:
        refusal.force_close()
    return refusal


class JsonRequestHandler(web.RequestHandler):
    """aiohttp's connection handler, whose own refusals are JSON."""

    async def finish_response(self, request, resp, start_time):
        return await super().finish_response(request, as_json_refusal(resp), start_time)


class JsonServer(web.Server):
    """The protocol factory: one :class:`JsonRequestHandler` per connection."""

    def __call__(self) -> JsonRequestHandler:
        return JsonRequestHandler(self, loop=self._loop, **self._kwargs)


class NodeRunner(GuardedRunner):
    """The node's runner: connections bounded in number and slowness (:class:`node.web.guard.GuardedRunner`),
    answering aiohttp's own refusals in JSON."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        return JsonServer(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=server._loop,
            **server._kwargs,
        )


def _until_signalled() -> asyncio.Event:
    """An event set at SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


async def serve(app: web.Application, host: str, port: int, **runner_options) -> None:
    """Run ``app`` on ``host:port`` until SIGINT or SIGTERM, then clean up (what ``web.run_app`` does)."""
    runner = NodeRunner(app, **runner_options)
    await runner.setup()
    stop = _until_signalled()
    try:
        await web.TCPSite(runner, host, port).start()
        await stop.wait()
    finally:
        await runner.cleanup()


async def work(app: web.Application, metrics_at: tuple[str, int] | None = None) -> None:
    """``chapterhouse worker``: ``app`` set up (its ``cleanup_ctx``: the database, keys, federation
    client and the workers it was given) but serving no HTTP, until SIGINT or SIGTERM; with
    ``metrics_at`` (host, port), ``/metrics`` alone answers there (:func:`node.web.metrics.metrics_only_app`)."""
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    stop = _until_signalled()
    metrics_runner: web.AppRunner | None = None
    try:
        if metrics_at is not None:
            metrics_runner = web.AppRunner(metrics_only_app(app), access_log=None)
            await metrics_runner.setup()
            await web.TCPSite(metrics_runner, *metrics_at).start()
        await stop.wait()
    finally:
        if metrics_runner is not None:
            await metrics_runner.cleanup()
        await runner.cleanup()
