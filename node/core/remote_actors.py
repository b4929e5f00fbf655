"""The remote actor cache's SQL: the ``remote_actors`` and ``remote_keys`` tables.

:class:`RemoteActorStore` is the :class:`federation.actors.ActorStore` of a node on SQLite
(the tables are in ``node.core.schema``); a PostgreSQL node would bring its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from federation import jsonio
from federation.actors import RemoteActor, RemoteKey
from node.core.db import Connection, Store, dialects, fetch_all, fetch_one

# Many rows in one statement travel as one JSON array: SQLite reads it with json_each,
# PostgreSQL with jsonb_array_elements (WHERE true keeps SQLite's ON CONFLICT from reading as a
# join's ON).
INBOXES_SQL = dialects(
    sqlite="SELECT id, COALESCE(shared_inbox, inbox) AS inbox FROM remote_actors"
    " WHERE id IN (SELECT value FROM json_each(?))",
    postgres="SELECT id, COALESCE(shared_inbox, inbox) AS inbox FROM remote_actors"
    " WHERE id IN (SELECT jsonb_array_elements_text(?::jsonb))",
)
_UPSERT_ACTORS = (
    " ON CONFLICT (id) DO UPDATE SET inbox = excluded.inbox, shared_inbox = excluded.shared_inbox,"
    " data = excluded.data, fetched_at = excluded.fetched_at"
)
STORE_ACTORS_SQL = dialects(
    sqlite="INSERT INTO remote_actors (id, inbox, shared_inbox, data, fetched_at)"
    " SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, ? FROM json_each(?) WHERE true" + _UPSERT_ACTORS,
    postgres="INSERT INTO remote_actors (id, inbox, shared_inbox, data, fetched_at)"
    " SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, ?::float8 FROM jsonb_array_elements(?::jsonb) AS value"
    + _UPSERT_ACTORS,
)
FORGET_KEYS_SQL = dialects(
    sqlite="DELETE FROM remote_keys WHERE actor_id IN (SELECT value FROM json_each(?))"
    " AND key_id NOT IN (SELECT value FROM json_each(?))",
    postgres="DELETE FROM remote_keys WHERE actor_id IN (SELECT jsonb_array_elements_text(?::jsonb))"
    " AND key_id NOT IN (SELECT jsonb_array_elements_text(?::jsonb))",
)
_UPSERT_KEYS = (
    " ON CONFLICT (key_id) DO UPDATE SET actor_id = excluded.actor_id, public_pem = excluded.public_pem,"
    " fetched_at = excluded.fetched_at"
)
STORE_KEYS_SQL = dialects(
    sqlite="INSERT INTO remote_keys (key_id, actor_id, public_pem, fetched_at)"
    " SELECT value ->> 0, value ->> 1, value ->> 2, ? FROM json_each(?) WHERE true" + _UPSERT_KEYS,
    postgres="INSERT INTO remote_keys (key_id, actor_id, public_pem, fetched_at)"
    " SELECT value ->> 0, value ->> 1, value ->> 2, ?::float8 FROM jsonb_array_elements(?::jsonb) AS value"
    + _UPSERT_KEYS,
)


class RemoteActorStore:
    def __init__(self, db: Store) -> None:
        self.db = db

    @property
    def reader(self) -> Connection:
        return self.db.reader

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self.db.transaction() as conn:
            yield conn

    async def select_actor(self, conn: Connection, actor_id: str):
        return await fetch_one(
            conn, "SELECT id, inbox, shared_inbox, data, fetched_at FROM remote_actors WHERE id = ?", (actor_id,)
        )

    async def delivery_inboxes(self, conn: Connection, actor_ids: list[str]) -> dict[str, str]:
        """Where to deliver to each cached actor of ``actor_ids`` (its shared inbox, else its inbox), in one query."""
        rows = await fetch_all(
            conn,
            INBOXES_SQL,
            (jsonio.dumps_str(actor_ids),),
        )
        return {row["id"]: row["inbox"] for row in rows if row["inbox"]}

    async def upsert_actor(self, conn: Connection, actor: RemoteActor, fetched_at: float) -> None:
        await conn.execute(
            "INSERT INTO remote_actors (id, inbox, shared_inbox, data, fetched_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET inbox = excluded.inbox, shared_inbox = excluded.shared_inbox,"
            " data = excluded.data, fetched_at = excluded.fetched_at",
            (actor.id, actor.inbox, actor.shared_inbox, jsonio.dumps_str(actor.data), fetched_at),
        )

    async def select_key(self, conn: Connection, key_id: str):
        return await fetch_one(conn, "SELECT key_id, actor_id, public_pem FROM remote_keys WHERE key_id = ?", (key_id,))

    async def upsert_key(self, conn: Connection, key: RemoteKey, fetched_at: float) -> None:
        await conn.execute(
            "INSERT INTO remote_keys (key_id, actor_id, public_pem, fetched_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (key_id) DO UPDATE SET actor_id = excluded.actor_id, public_pem = excluded.public_pem,"
            " fetched_at = excluded.fetched_at",
            (key.key_id, key.owner, key.public_pem, fetched_at),
        )

    async def delete_keys_except(self, conn: Connection, actor_id: str, keep: list[str]) -> None:
        marks = ",".join("?" * len(keep))
        where = f" AND key_id NOT IN ({marks})" if keep else ""
        await conn.execute(f"DELETE FROM remote_keys WHERE actor_id = ?{where}", (actor_id, *keep))

    async def store_fetched(
        self, conn: Connection, fetched: list[tuple[RemoteActor, list[RemoteKey]]], fetched_at: float
    ) -> None:
        """Many fetched actors and the keys each lists, as :meth:`upsert_actor`, :meth:`delete_keys_except`
        and :meth:`upsert_key` would store them one by one, in three statements (the rows travel as JSON
        arrays): a burst of new senders' actors is stored in a few trips to the database thread."""
        actors = [(actor.id, actor.inbox, actor.shared_inbox, jsonio.dumps_str(actor.data)) for actor, _ in fetched]
        keys = [(key.key_id, key.owner, key.public_pem) for _, listed in fetched for key in listed]
        await conn.execute(
            STORE_ACTORS_SQL,
            (fetched_at, jsonio.dumps_str(actors)),
        )
        await conn.execute(
            FORGET_KEYS_SQL,
            (jsonio.dumps_str([actor.id for actor, _ in fetched]), jsonio.dumps_str([key[0] for key in keys])),
        )
        await conn.execute(
            STORE_KEYS_SQL,
            (fetched_at, jsonio.dumps_str(keys)),
        )

    async def delete_actor(self, conn: Connection, actor_id: str) -> None:
        await conn.execute("DELETE FROM remote_keys WHERE actor_id = ?", (actor_id,))
        await conn.execute("DELETE FROM remote_actors WHERE id = ?", (actor_id,))
