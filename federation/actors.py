"""Remote actors and their public keys: fetched with a signed GET, cached in memory and on disk.

A key id is fetched at its URL (without fragment). Mastodon-style servers answer with the
actor, whose ``publicKey`` has the key; others (GoToSocial) answer with the key document,
whose ``owner`` is then fetched to check that it really lists the key. Either way the key's
owner must live on the key's host, and the actor's ``id`` must be the URL asked for. Keys an
actor lists with an id on another host (or another ``owner``) are dropped, wherever the actor
document came from (:func:`keys_of_actor`).
``refresh=True`` refetches (key rotation: a signature that fails with the cached key is
tried once more with a fresh one). Every key fetch passes the :class:`KeyFetchGate` first
(bounded per host and in total, a fetch budget per host, failures remembered for a while).
:meth:`RemoteActors.gated` is a view of the same cache whose actor fetches pass that gate too:
the inbox worker's, whose fetches a stranger's activity chooses.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urldefrag, urlsplit

from federation import jsonio
from federation.activitystreams import id_of
from federation.client import FederationClient, FetchError, Signer
from federation.fetchgate import KeyFetchGate, leave_place

ACTOR_TYPES = {"Person", "Service", "Application", "Group", "Organization"}
CACHE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class RemoteActor:
    id: str
    inbox: str | None
    shared_inbox: str | None
    data: dict

    @property
    def delivery_inbox(self) -> str | None:
        return self.shared_inbox or self.inbox


@dataclass(frozen=True)
class RemoteKey:
    key_id: str
    owner: str
    public_pem: str


def actor_from_document(document: dict) -> RemoteActor:
    if document.get("type") not in ACTOR_TYPES and not (
        isinstance(document.get("type"), list) and ACTOR_TYPES & set(document["type"])
    ):
        raise FetchError(f"{document.get('id')} is a {document.get('type')!r}, not an actor")
    actor_id = document.get("id")
    if not isinstance(actor_id, str):
        raise FetchError("actor document has no id")
    endpoints = document.get("endpoints")
    if not isinstance(endpoints, dict):
        endpoints = {}
    return RemoteActor(
        id=actor_id,
        inbox=id_of(document.get("inbox")),
        shared_inbox=id_of(endpoints.get("sharedInbox")),
        data=document,
    )


def keys_of_actor(document: dict) -> list[RemoteKey]:
    """The keys an actor document lists that really are its own.

    A key belongs to the actor only if its id is on the actor's host and its ``owner`` (when
    given) is the actor: otherwise one host could claim another host's key ids, and sign as
    them (charging the other host's rate limits, resuming its paused deliveries).
    """
    actor_id = document.get("id")
    if not isinstance(actor_id, str):
        return []
    entries = document.get("publicKey")
    entries = entries if isinstance(entries, list) else [entries]
    keys = []
    for entry in entries:
        if (
            isinstance(entry, dict)
            and isinstance(entry.get("id"), str)
            and isinstance(entry.get("publicKeyPem"), str)
            and _key_is_the_actors(entry, actor_id)
        ):
            keys.append(RemoteKey(entry["id"], actor_id, entry["publicKeyPem"]))
    return keys


def _key_is_the_actors(entry: dict, actor_id: str) -> bool:
    owner = entry.get("owner", actor_id)
    return owner == actor_id and urlsplit(entry["id"]).netloc.lower() == urlsplit(actor_id).netloc.lower()


# --- where they are kept -------------------------------------------------------------------


class ActorStore(Protocol):
    """Where remote actors and their keys are kept; ``node.core.remote_actors`` keeps them in SQL.

    ``reader`` is a connection for reads outside any transaction; ``transaction()`` opens a
    write transaction and yields its connection. Every method takes the connection to use,
    so :meth:`RemoteActors.absorb` and :meth:`RemoteActors.forget` join a caller's transaction.
    """

    @property
    def reader(self) -> Any: ...

    def transaction(self) -> AbstractAsyncContextManager[Any]: ...

    async def select_actor(self, conn: Any, actor_id: str) -> Mapping[str, Any] | None: ...

    async def delivery_inboxes(self, conn: Any, actor_ids: list[str]) -> dict[str, str]: ...

    async def upsert_actor(self, conn: Any, actor: RemoteActor, fetched_at: float) -> None: ...

    async def select_key(self, conn: Any, key_id: str) -> Mapping[str, Any] | None: ...

    async def upsert_key(self, conn: Any, key: RemoteKey, fetched_at: float) -> None: ...

    async def delete_keys_except(self, conn: Any, actor_id: str, keep: list[str]) -> None: ...

    async def delete_actor(self, conn: Any, actor_id: str) -> None: ...


# --- the cache ---------------------------------------------------------------------------------


class RemoteActors:
    def __init__(
        self, store: ActorStore, client: FederationClient, signer: Signer, clock, gate: KeyFetchGate | None = None
    ) -> None:
        self.store = store
        self.client = client
        self.signer = signer
        self.clock = clock
        self.gate = gate  # bounds on key fetches (federation.fetchgate); None: unbounded
        self.actors_gated = False  # True in the view :meth:`gated` gives
        self._keys: dict[str, RemoteKey] = {}
        self._key_ids_of: dict[str, set[str]] = {}  # owner -> its ids in _keys (dropping them reads no other)
        self._actors: dict[str, tuple[float, RemoteActor]] = {}
        self._fetched: dict[str, float] = {}  # when this process last stored each actor's document
        self._writes = _FetchedActorWrites()  # shared with the gated view, as the dicts are

    def gated(self) -> RemoteActors:
        """The same cache (shared, not copied), whose network fetches of actor documents pass
        the key-fetch gate as key fetches do: for work a stranger's activity chooses."""
        view = copy.copy(self)
        view.actors_gated = True
        return view

    async def get_key(self, key_id: str, *, refresh: bool = False) -> RemoteKey:
        if not refresh:
            cached = self._keys.get(key_id)
            if cached:
                return cached
            row = await self.store.select_key(self.store.reader, key_id)
            if row:
                key = RemoteKey(row["key_id"], row["actor_id"], row["public_pem"])
                self._cache_key(key)
                return key
        return await self._fetch_key(key_id)

    async def cached_key(self, key_id: str) -> RemoteKey | None:
        """The stored key, without any network (for a Delete of an actor that is already gone)."""
        if key_id in self._keys:
            return self._keys[key_id]
        row = await self.store.select_key(self.store.reader, key_id)
        return RemoteKey(row["key_id"], row["actor_id"], row["public_pem"]) if row else None

    async def _fetch_key(self, key_id: str) -> RemoteKey:
        if self.gate is None:
            return await self._fetch_key_now(key_id)
        return await self.gate.fetch(key_id, lambda: self._fetch_key_now(key_id))

    async def _fetch_key_now(self, key_id: str) -> RemoteKey:
        try:
            url = urldefrag(key_id).url
        except ValueError as error:
            raise FetchError(f"key {key_id!r} is not a URL ({error})") from None
        document = await self.client.get_json(url, signer=self.signer)
        if isinstance(document.get("publicKeyPem"), str):  # a standalone key document
            owner = document.get("owner") or document.get("controller")
            if not isinstance(owner, str):
                raise FetchError(f"key {key_id} names no owner")
            actor = await self._fetch_actor_now(owner)  # inside the key's own pass of the gate
        else:
            actor = await self._store_actor(actor_from_document(document), requested=url)
        # absorb() stored the actor's own keys (on its host, its owner) in the actor's transaction
        key = next((k for k in keys_of_actor(actor.data) if k.key_id == key_id), None)
        if key is None:
            raise FetchError(f"actor {actor.id} does not list the key {key_id}")
        if urlsplit(key.owner).netloc != urlsplit(key_id).netloc:
            raise FetchError(f"key {key_id} is owned by {key.owner}, on another host")
        return key

    async def get_actor(self, actor_id: str, *, refresh: bool = False, max_age: float | None = None) -> RemoteActor:
        """The actor, from the cache when it is younger than a day; ``refresh``: fetched now;
        ``max_age``: fetched now unless this process fetched it less than ``max_age`` seconds ago
        (a walk up the tree repeated by every Join need not refetch every ancestor each time)."""
        now = time.monotonic()
        if max_age is not None:
            fetched = self._fetched.get(actor_id)
            cached = self._actors.get(actor_id)
            if fetched is not None and cached is not None and now - fetched < max_age:
                return cached[1]
            refresh = True
        if not refresh:
            cached = self._actors.get(actor_id)
            if cached and now - cached[0] < CACHE_SECONDS:
                return cached[1]
            row = await self.store.select_actor(self.store.reader, actor_id)
            if row and self.clock.now().timestamp() - row["fetched_at"] < CACHE_SECONDS:
                actor = RemoteActor(row["id"], row["inbox"], row["shared_inbox"], jsonio.loads(row["data"]))
                self._actors[actor_id] = (now, actor)
                return actor
        if self.actors_gated and self.gate is not None:
            return await self.gate.fetch(actor_id, lambda: self._fetch_actor_now(actor_id))
        return await self._fetch_actor_now(actor_id)

    async def _fetch_actor_now(self, actor_id: str) -> RemoteActor:
        document = await self.client.get_json(actor_id, signer=self.signer)
        return await self._store_actor(actor_from_document(document), requested=actor_id)

    async def _store_actor(self, actor: RemoteActor, *, requested: str) -> RemoteActor:
        if actor.id != requested and urldefrag(actor.id).url != requested:
            raise FetchError(f"fetched {requested} but the document's id is {actor.id}")
        leave_place()  # the host's part is done: its key-fetch place is free while this waits for the writer
        await self._writes.store(self, actor)
        return actor

    async def absorb_many(self, conn: Any, actors: list[RemoteActor], *, now: float) -> None:
        """:meth:`absorb` for many actors: in a few statements when the store can
        (``store_fetched``), else one by one."""
        store_fetched = getattr(self.store, "store_fetched", None)
        if store_fetched is None:
            for actor in actors:
                await self.absorb(conn, actor, now=now)
            return
        fetched = [(actor, [key for key in keys_of_actor(actor.data) if key.owner == actor.id]) for actor in actors]
        await store_fetched(conn, fetched, now)
        for actor, listed in fetched:
            self._remember(actor, listed)

    async def absorb(self, conn: Any, actor: RemoteActor, *, now: float) -> None:
        """Store an actor document and the keys it lists (inside the caller's transaction).

        Keys the actor no longer lists are dropped: after a rotation, the old key fails.
        """
        listed = [key for key in keys_of_actor(actor.data) if key.owner == actor.id]
        await self.store.upsert_actor(conn, actor, now)
        await self.store.delete_keys_except(conn, actor.id, [key.key_id for key in listed])
        for key in listed:
            await self.store.upsert_key(conn, key, now)
        self._remember(actor, listed)

    def _remember(self, actor: RemoteActor, listed: list[RemoteKey]) -> None:
        """The memory's side of storing an actor: its keys as listed now, the document, when."""
        self._drop_keys_of(actor.id)
        for key in listed:
            self._cache_key(key)
        self._actors[actor.id] = (time.monotonic(), actor)
        self._fetched[actor.id] = time.monotonic()

    async def forget(self, conn: Any, actor_id: str) -> None:
        """Drop a deleted actor from the cache (inside the caller's transaction)."""
        await self.store.delete_actor(conn, actor_id)
        self._actors.pop(actor_id, None)
        self._fetched.pop(actor_id, None)
        self._drop_keys_of(actor_id)

    def _cache_key(self, key: RemoteKey) -> None:
        self._keys[key.key_id] = key
        self._key_ids_of.setdefault(key.owner, set()).add(key.key_id)

    def _drop_keys_of(self, owner: str) -> None:
        for key_id in self._key_ids_of.pop(owner, ()):
            self._keys.pop(key_id, None)


class _FetchedActorWrites:
    """Fetched actors stored together: one write transaction for all that arrived meanwhile.

    A burst of new senders has hundreds of actors fetched within a second; one transaction each
    made every fetch wait its turn for the database's one writer (behind the inbox's group
    commit and the worker's batches): ~26 ms a fetch, most of a first contact's time. Each
    :meth:`store` returns once its actor is committed (a key is used only once it is stored, as
    before), and a failing transaction fails the fetches of its batch, which are then retried
    like any failed fetch.
    """

    def __init__(self) -> None:
        self._pending: list[tuple[RemoteActor, asyncio.Future[None]]] = []
        self._committer: asyncio.Task | None = None

    async def store(self, actors: RemoteActors, actor: RemoteActor) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.add_done_callback(_retrieved)  # a waiter may have gone: its failure is not logged as lost
        self._pending.append((actor, done))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.ensure_future(self._commit(actors))
        await asyncio.shield(done)

    async def _commit(self, actors: RemoteActors) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                async with actors.store.transaction() as conn:
                    await actors.absorb_many(conn, [actor for actor, _ in batch], now=actors.clock.now().timestamp())
            except BaseException as error:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(FetchError(f"storing {len(batch)} fetched actors failed: {error!r}"))
                if not isinstance(error, Exception):
                    raise
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)


def _retrieved(future: asyncio.Future) -> None:
    if not future.cancelled():
        future.exception()
