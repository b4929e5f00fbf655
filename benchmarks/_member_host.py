"""A large remote server for the first-contact benchmark: one loopback port, many actors.

``python -m benchmarks._member_host --port P --count N`` serves ``/users/u{i}`` for the first N
actors of the benchmark's cached key set (:func:`benchmarks._support.make_actor_set`), each its
own document and RSA key; NodeInfo answers 404 (as the issue's host did). ``GET /counts`` says
how many requests each kind of path had (actor documents, NodeInfo, deliveries to an
inbox, anything else); every POST to an inbox is answered 202.
"""

from __future__ import annotations

import argparse
from collections import Counter

from aiohttp import web

from benchmarks._support import LOOPBACK, make_actor_set


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    args = parser.parse_args()
    actors = make_actor_set(args.count, f"http://{LOOPBACK}:{args.port}")
    documents = {f"u{i}": actors.document(i) for i in range(args.count)}
    counts: Counter[str] = Counter()

    async def actor(request: web.Request) -> web.Response:
        counts["actor"] += 1
        document = documents.get(request.match_info["name"])
        if document is None:
            return web.json_response({"error": "no such actor"}, status=404)
        return web.json_response(document, content_type="application/activity+json")

    async def inbox(request: web.Request) -> web.Response:
        await request.read()
        counts["delivered"] += 1
        return web.json_response({}, status=202)

    async def other(request: web.Request) -> web.Response:
        counts["nodeinfo" if "nodeinfo" in request.path else "other"] += 1
        return web.json_response({"error": "not here"}, status=404)

    async def get_counts(request: web.Request) -> web.Response:
        return web.json_response(dict(counts))

    app = web.Application()
    app.router.add_get("/users/{name}", actor)
    app.router.add_get("/counts", get_counts)
    app.router.add_post("/inbox", inbox)
    app.router.add_post("/users/{name}/inbox", inbox)
    app.router.add_route("*", "/{tail:.*}", other)
    web.run_app(app, host=LOOPBACK, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
