"""A remote server that serves documents from a folder: ``python -m benchmarks._documents_host --port P --root DIR``.

Every GET of a path answers the file ``DIR/<path>.json`` (``application/activity+json``), read
when asked (so the benchmark may write documents after the server started), or 404; every POST
is answered 202 at once and counted. ``GET /counts`` (a path no document takes) says how many
GETs were served and how many POSTs came. The tally benchmark (:mod:`benchmarks.bench_postgres`)
plays a region and its 1,000 chapters with it: their actors, and each chapter's leaves.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from aiohttp import web

from benchmarks._support import LOOPBACK


def make_app(root: Path) -> web.Application:
    counts: Counter[str] = Counter()

    async def document(request: web.Request) -> web.Response:
        path = (root / request.path.strip("/")).with_suffix(".json")
        if root not in path.resolve().parents or not path.is_file():
            counts["missing"] += 1
            return web.json_response({"error": "not found"}, status=404)
        counts["served"] += 1
        return web.Response(body=path.read_bytes(), content_type="application/activity+json")

    async def posted(request: web.Request) -> web.Response:
        await request.read()
        counts["posted"] += 1
        return web.json_response({}, status=202)

    async def get_counts(request: web.Request) -> web.Response:
        return web.json_response(dict(counts))

    app = web.Application()
    app.router.add_get("/counts", get_counts)
    app.router.add_get("/{tail:.*}", document)
    app.router.add_post("/{tail:.*}", posted)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--root", type=Path, required=True)
    args = parser.parse_args()
    web.run_app(make_app(args.root.resolve()), host=LOOPBACK, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
