"""bovine-herd on loopback, for the inbox benchmark. Runs in ``.venv-bovine-herd`` only.

It registers one actor in a fresh SQLite store, prints one JSON line on stdout
(``{"actor": ..., "inbox": ...}``), then serves the stock ``BovineHerd`` Quart app with
hypercorn (one process, asyncio, no access log) until it is terminated. Nothing here is
imported by the project's own venv.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys

from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart
from tortoise import Tortoise

from bovine_herd import BovineHerd
from bovine_store import BovineAdminStore
from bovine_store.config import tortoise_config


async def register(db_url: str, domain: str) -> dict:
    await Tortoise.init(config=tortoise_config(db_url))
    await Tortoise.generate_schemas()
    store = BovineAdminStore(domain=domain)
    name = await store.register("target")
    actor = (await store.actor_for_name(name)).actor_object.build()
    await Tortoise.close_connections()
    return {"actor": actor["id"], "inbox": actor["inbox"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    db_url = f"sqlite://{args.db}"
    info = asyncio.run(register(db_url, f"http://127.0.0.1:{args.port}"))
    print(json.dumps(info), flush=True)

    app = Quart(__name__)
    BovineHerd(app, db_url=db_url)
    config = Config()
    config.bind = [f"127.0.0.1:{args.port}"]
    config.accesslog = None
    config.errorlog = "-"
    config.loglevel = "ERROR"
    asyncio.run(serve(app, config))


if __name__ == "__main__":
    sys.exit(main())
