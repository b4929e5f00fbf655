"""Fetched actors stored together (``RemoteActors.absorb_many`` with ``RemoteActorStore.store_fetched``)
leave the same rows as storing each one alone: the actor, the keys it lists now, none it dropped."""

from __future__ import annotations

from federation.actors import RemoteActors, actor_from_document
from node.core.clock import Clock
from node.core.db import Database, fetch_all
from node.core.remote_actors import RemoteActorStore
from node.web.app import all_migrations

HOST = "https://big.example"


def _actor(name: str, *keys: str) -> dict:
    actor = f"{HOST}/users/{name}"
    return {
        "id": actor,
        "type": "Person",
        "inbox": f"{actor}/inbox",
        "endpoints": {"sharedInbox": f"{HOST}/inbox"},
        "publicKey": [{"id": f"{actor}#{key}", "owner": actor, "publicKeyPem": f"PEM {key}"} for key in keys],
    }


async def _rows(db: Database) -> tuple[set, set]:
    actors = {(row["id"], row["shared_inbox"]) for row in await fetch_all(db.reader, "SELECT * FROM remote_actors")}
    keys = {
        (row["key_id"].rsplit("/", 1)[-1], row["actor_id"].rsplit("/", 1)[-1], row["public_pem"])
        for row in await fetch_all(db.reader, "SELECT * FROM remote_keys")
    }
    return actors, keys


async def test_storing_many_fetched_actors_leaves_what_storing_each_would(tmp_path):
    db = Database(tmp_path / "node.sqlite3", migrations=all_migrations())
    await db.open()
    try:
        cache = RemoteActors(RemoteActorStore(db), client=None, signer=None, clock=Clock())  # type: ignore[arg-type]
        async with db.transaction() as conn:
            await cache.absorb(conn, actor_from_document(_actor("ann", "old", "kept")), now=1.0)
        rotated = [actor_from_document(_actor("ann", "kept", "new")), actor_from_document(_actor("bob", "main"))]
        async with db.transaction() as conn:
            await cache.absorb_many(conn, rotated, now=2.0)
        actors, keys = await _rows(db)
        assert actors == {(f"{HOST}/users/ann", f"{HOST}/inbox"), (f"{HOST}/users/bob", f"{HOST}/inbox")}
        assert keys == {("ann#kept", "ann", "PEM kept"), ("ann#new", "ann", "PEM new"), ("bob#main", "bob", "PEM main")}
        assert await cache.cached_key(f"{HOST}/users/ann#old") is None  # dropped from memory too
        assert (await cache.get_key(f"{HOST}/users/bob#main")).public_pem == "PEM main"
    finally:
        await db.close()
