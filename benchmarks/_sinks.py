"""Delivery sinks for the fan-out benchmark: one process, many loopback ports, each a "host".

``python -m benchmarks._sinks --hosts N --control-port P`` listens on N ports of 127.0.0.1
(each one a distinct host with a shared inbox at ``/inbox``) and on a control port:

* ``GET /ports``: the N ports, in order;
* ``POST /reset`` ``{"public_pem": ..., "sample": [ports]}``: zero the counts; on the sample
  ports, check every request's HTTP signature with that key (``federation.signatures``);
* ``GET /counts``: how many hosts got at least one POST, how many POSTs in all, and how
  many sampled signatures verified or failed (with the first few reasons).

Every POST is answered 202 at once, as a busy inbox would.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from aiohttp import web

from federation.signatures import SignatureError, load_public_key, read_signature_claim, verify_claim


class Sinks:
    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.ports: list[int] = []
        self.ready = False
        self.sample: set[int] = set()
        self.public_key = None
        self.verified = 0
        self.failed: list[str] = []

    async def inbox(self, request: web.Request) -> web.Response:
        body = await request.read()
        port = request.transport.get_extra_info("sockname")[1] if request.transport else 0
        self.counts[port] = self.counts.get(port, 0) + 1
        if port in self.sample and self.public_key is not None:
            try:
                claim = read_signature_claim(
                    request.method, request.path_qs, request.headers, body, now=datetime.now(UTC)
                )
                verify_claim(claim, self.public_key)
                self.verified += 1
            except SignatureError as error:
                self.failed.append(f"port {port}: {error}")
        return web.json_response({}, status=202)

    async def get_ports(self, request: web.Request) -> web.Response:
        if not self.ready:  # still opening the sinks: not ready yet (wait_ready tries again on a 5xx)
            return web.json_response({"error": "still opening the sink ports"}, status=503)
        return web.json_response(self.ports)

    async def reset(self, request: web.Request) -> web.Response:
        data = await request.json()
        self.counts.clear()
        self.verified = 0
        self.failed = []
        self.sample = set(data.get("sample", []))
        self.public_key = load_public_key(data["public_pem"]) if data.get("public_pem") else None
        return web.json_response({"ok": True})

    async def get_counts(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "hosts": sum(1 for n in self.counts.values() if n),
                "total": sum(self.counts.values()),
                "verified": self.verified,
                "failed": len(self.failed),
                "reasons": self.failed[:5],
            }
        )


async def serve(hosts: int, control_port: int) -> None:
    import asyncio

    sinks = Sinks()
    # The control port first: it was chosen free by the parent and released, so the OS could
    # otherwise hand it to one of the sinks below (whose 404 for /ports would look "ready").
    control = web.Application()
    control.router.add_get("/ports", sinks.get_ports)
    control.router.add_post("/reset", sinks.reset)
    control.router.add_get("/counts", sinks.get_counts)
    control_runner = web.AppRunner(control, access_log=None)
    await control_runner.setup()
    await web.TCPSite(control_runner, "127.0.0.1", control_port).start()
    inbox_app = web.Application()
    inbox_app.router.add_post("/inbox", sinks.inbox)
    inbox_runner = web.AppRunner(inbox_app, access_log=None)
    await inbox_runner.setup()
    for _ in range(hosts):
        site = web.TCPSite(inbox_runner, "127.0.0.1", 0, backlog=512)
        await site.start()
        sinks.ports.append(site._server.sockets[0].getsockname()[1])  # the port the OS chose
    sinks.ready = True
    try:
        await asyncio.Event().wait()
    finally:
        await control_runner.cleanup()
        await inbox_runner.cleanup()


def main() -> None:
    import asyncio

    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, required=True)
    parser.add_argument("--control-port", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.hosts, args.control_port))


if __name__ == "__main__":
    main()
