"""The inbox baseline: a bare aiohttp handler that parses the JSON, inserts one row, commits.

Run as its own process (``python -m benchmarks._baseline_inbox --port P --db PATH``), like
the node. No signature check, no routing beyond one path: the floor a Python inbox on
aiohttp + aiosqlite stands on. SQLite is set up as the node sets it up (WAL,
``synchronous=NORMAL``), and every 202 comes after its own commit.
"""

from __future__ import annotations

import argparse
import json

import aiosqlite
from aiohttp import web

DB: web.AppKey[aiosqlite.Connection] = web.AppKey("db")


async def inbox(request: web.Request) -> web.Response:
    body = await request.read()
    activity = json.loads(body)
    db = request.app[DB]
    await db.execute("INSERT INTO items (activity_id, body) VALUES (?, ?)", (activity["id"], body.decode()))
    await db.commit()
    return web.json_response({"status": "accepted"}, status=202)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def make_app(path: str) -> web.Application:
    async def database(app: web.Application):
        db = await aiosqlite.connect(path)
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute(
            "CREATE TABLE IF NOT EXISTS items (seq INTEGER PRIMARY KEY, activity_id TEXT UNIQUE, body TEXT)"
        )
        await db.commit()
        app[DB] = db
        yield
        await db.close()

    app = web.Application()
    app.cleanup_ctx.append(database)
    app.router.add_post("/{path:.*}", inbox)
    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    args = parser.parse_args()
    web.run_app(make_app(args.db), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
