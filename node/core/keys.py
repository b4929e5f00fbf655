"""Local actors' signing keys: made on first start, kept in the database, loaded once.

Each local actor has an RSA-2048 key (HTTP signatures, as every fediverse server expects)
and an Ed25519 key published as a FEP-521a Multikey (object proofs, FEP-8b32). Private keys
never leave this module except as key objects handed to signers; they are never logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from node.core.clock import to_epoch
from node.core.db import Connection, Store, fetch_all, fetch_value


@dataclass(frozen=True)
class ActorKeys:
    username: str
    rsa_private: rsa.RSAPrivateKey = field(repr=False)
    rsa_public_pem: str
    ed25519_private: ed25519.Ed25519PrivateKey = field(repr=False)

    @property
    def ed25519_public(self) -> ed25519.Ed25519PublicKey:
        return self.ed25519_private.public_key()


class KeyRing:
    """The loaded keys of every local actor, by username: the chapter's and the instance actor's from
    the start, a member account's when something is first signed as it (:meth:`load`)."""

    def __init__(self, keys: dict[str, ActorKeys]) -> None:
        self._keys = keys

    def __getitem__(self, username: str) -> ActorKeys:
        return self._keys[username]

    def __contains__(self, username: str) -> bool:
        return username in self._keys

    async def load(self, conn: Connection, username: str) -> bool:
        """Load the stored keys of ``username`` (a member account) if they are not loaded; False when
        it has none (no such local actor)."""
        if username in self._keys:
            return True
        stored = await select_keys(conn, username)
        if "rsa" not in stored or "ed25519" not in stored:
            return False
        rsa_private, ed25519_private = _private_keys(username, stored)
        self._keys[username] = ActorKeys(username, rsa_private, stored["rsa"][1], ed25519_private)
        return True


def _private_pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _public_pem(key) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


async def select_keys(conn: Connection, username: str) -> dict[str, tuple[str, str]]:
    rows = await fetch_all(conn, "SELECT kind, private_pem, public_pem FROM actor_keys WHERE username = ?", (username,))
    return {row["kind"]: (row["private_pem"], row["public_pem"]) for row in rows}


async def first_key_created_at(conn: Connection, username: str) -> float | None:
    """When the actor's first key was made: the actor's ``published`` date."""
    return await fetch_value(conn, "SELECT MIN(created_at) FROM actor_keys WHERE username = ?", (username,))


async def insert_key(conn: Connection, username: str, kind: str, private_pem: str, public_pem: str, now: float) -> None:
    await conn.execute(
        "INSERT INTO actor_keys (username, kind, private_pem, public_pem, created_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (username, kind) DO NOTHING",
        (username, kind, private_pem, public_pem, now),
    )


_GENERATORS = {
    "rsa": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "ed25519": ed25519.Ed25519PrivateKey.generate,
}


def generate_key_pems() -> dict[str, tuple[str, str]]:
    """A new actor's keys, ``{kind: (private PEM, public PEM)}``; CPU-bound, so callers run it in a thread."""
    keys = {kind: generate() for kind, generate in _GENERATORS.items()}
    return {kind: (_private_pem(key), _public_pem(key)) for kind, key in keys.items()}


async def create_actor_keys(conn: Connection, username: str, pems: dict[str, tuple[str, str]], now: float) -> None:
    """Store one new actor's keys (from :func:`generate_key_pems`) in the caller's transaction."""
    for kind, (private_pem, public_pem) in pems.items():
        await insert_key(conn, username, kind, private_pem, public_pem, now)


async def public_keys(conn: Connection, username: str) -> tuple[str, ed25519.Ed25519PublicKey] | None:
    """An actor's RSA public PEM and Ed25519 public key, for its document; None if it has no keys."""
    stored = await select_keys(conn, username)
    if "rsa" not in stored or "ed25519" not in stored:
        return None
    public = serialization.load_pem_public_key(stored["ed25519"][1].encode())
    if not isinstance(public, ed25519.Ed25519PublicKey):
        raise TypeError(f"the stored ed25519 key of {username} is a {type(public).__name__}")
    return stored["rsa"][1], public


def _private_keys(
    username: str, stored: dict[str, tuple[str, str]]
) -> tuple[rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey]:
    """An actor's stored private keys, each of its kind (a row edited by hand is refused, saying what it holds)."""
    rsa_key = serialization.load_pem_private_key(stored["rsa"][0].encode(), None)
    ed_key = serialization.load_pem_private_key(stored["ed25519"][0].encode(), None)
    if not isinstance(rsa_key, rsa.RSAPrivateKey) or not isinstance(ed_key, ed25519.Ed25519PrivateKey):
        raise TypeError(f"the stored keys of {username} are a {type(rsa_key).__name__} and a {type(ed_key).__name__}")
    return rsa_key, ed_key


async def load_or_create_keys(db: Store, usernames: list[str], now) -> KeyRing:
    """Load every local actor's keys, generating the missing ones in one transaction.

    Two processes starting together on an empty PostgreSQL database may both make keys: each
    inserts ``ON CONFLICT DO NOTHING`` (the second waits for the first's commit, then inserts
    nothing) and reads back what is stored, so both keep the one pair that won."""
    loaded: dict[str, ActorKeys] = {}
    async with db.transaction() as conn:
        for username in usernames:
            stored = await select_keys(conn, username)
            missing = [kind for kind in _GENERATORS if kind not in stored]
            for kind in missing:
                key = _GENERATORS[kind]()
                await insert_key(conn, username, kind, _private_pem(key), _public_pem(key), to_epoch(now))
            if missing:
                stored = await select_keys(conn, username)  # ours, or another process's made meanwhile
            rsa_private, ed25519_private = _private_keys(username, stored)
            loaded[username] = ActorKeys(
                username=username,
                rsa_private=rsa_private,
                rsa_public_pem=stored["rsa"][1],
                ed25519_private=ed25519_private,
            )
    return KeyRing(loaded)
