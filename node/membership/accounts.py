"""Local member accounts: people without a fediverse account, as Person actors on this node.

An account is a username (the same rules as the chapter's name: 1-64 of a-z, 0-9 and _,
never the chapter's own name), a display name and a password. It is an ActivityPub
``Person`` at ``/users/{username}`` with its own RSA and Ed25519 keys (made when the
account is), found by WebFinger as ``acct:username@host``. Signing up files a
``requested`` membership that an admin approves; until then the account can sign in and
see that it waits, but is invisible to the federation (no WebFinger, no actor document, no
inbox: :func:`federated_account_username`), so a wave of sign-ups publishes nothing. A
password must not be a common or easily guessed one (:mod:`node.membership.passwords`).
A new display name (:func:`change_display_name`) is sent to the federation as an ``Update`` of
the member's ``Person``, signed with the member's own key (loaded when first needed:
:meth:`node.core.keys.KeyRing.load`), to the member's followers and the chapter's.

Passwords are hashed with argon2id (:mod:`node.membership.passwords`), in a thread since
hashing is slow on purpose. A sign-in whose password checks out against an older hash (scrypt,
or argon2id with other parameters than today's) stores a new hash of it at once, in one
statement that replaces the hash only if it is still the one that was checked (a concurrent
change of password wins). A password is never logged, stored or echoed back; an unknown
username costs as much to check as a wrong password, so timing does not tell which usernames
exist.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from node.core import actors, follows, keys, vocabulary
from node.core.appkeys import CLOCK, CONFIG, DATABASE, URLS
from node.core.clock import from_epoch, to_epoch
from node.core.db import Connection, fetch_all, fetch_one, fetch_value
from node.core.errors import ApiError
from node.core.i18n import N_
from node.core.urls import Urls
from node.membership import members, passwords
from outbox import service
from outbox.compose import Composed

USERNAME = re.compile(r"^[a-z0-9_]{1,64}$")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
MAX_DISPLAY_NAME_LENGTH = 100


@dataclass(frozen=True)
class Account:
    username: str
    display_name: str
    created_at: float


# --- the accounts table ----------------------------------------------------------------------


def _account(row) -> Account | None:
    return None if row is None else Account(row["username"], row["display_name"], row["created_at"])


async def insert_account(conn: Connection, *, username: str, display_name: str, password_hash: str, now: float) -> bool:
    """Insert a new account; False if the username is taken."""
    cursor = await conn.execute(
        "INSERT INTO accounts (username, display_name, password_hash, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (username) DO NOTHING",
        (username, display_name, password_hash, now),
    )
    return cursor.rowcount == 1


async def get_account(conn: Connection, username: str) -> Account | None:
    return _account(
        await fetch_one(conn, "SELECT username, display_name, created_at FROM accounts WHERE username = ?", (username,))
    )


async def password_hash_of(conn: Connection, username: str) -> str | None:
    return await fetch_value(conn, "SELECT password_hash FROM accounts WHERE username = ?", (username,))


async def account_exists(conn: Connection, username: str) -> bool:
    return bool(await fetch_value(conn, "SELECT 1 FROM accounts WHERE username = ?", (username,)))


async def count_accounts(conn: Connection) -> int:
    return await fetch_value(conn, "SELECT COUNT(*) FROM accounts")


async def display_names(conn: Connection, usernames: list[str]) -> dict[str, str]:
    if not usernames:
        return {}
    marks = ", ".join("?" for _ in usernames)
    rows = await fetch_all(
        conn, f"SELECT username, display_name FROM accounts WHERE username IN ({marks})", tuple(usernames)
    )
    return {row["username"]: row["display_name"] for row in rows}


# --- names and ids ---------------------------------------------------------------------------


def username_of_actor(urls: Urls, actor_id: str) -> str | None:
    """The username in a local ``/users/{username}`` id, or None for any other id."""
    prefix = f"{urls.base}/users/"
    if isinstance(actor_id, str) and actor_id.startswith(prefix):
        username = actor_id[len(prefix) :]
        if USERNAME.match(username):
            return username
    return None


async def local_account_username(conn: Connection, urls: Urls, actor_id: str) -> str | None:
    """The username of the local account with this actor id, if there is one."""
    username = username_of_actor(urls, actor_id)
    return username if username is not None and await account_exists(conn, username) else None


async def federated_account_username(conn: Connection, urls: Urls, actor_id: str) -> str | None:
    """The username of a local account the federation may see: one an admin has approved."""
    username = await local_account_username(conn, urls, actor_id)
    return username if username is not None and await members.was_ever_approved(conn, actor_id) else None


def check_new_account(chapter: str, username, display_name, password) -> tuple[str, str, str]:
    """The cleaned sign-up fields, or a 400 that says which one is wrong and why."""
    if not isinstance(username, str) or not USERNAME.match(username.strip()):
        raise ApiError(400, N_("the username must be 1-64 of a-z, 0-9 and _"), hint=N_("for example jo_smith"))
    username = username.strip()
    if username == chapter:
        raise ApiError(
            400, N_("{username} is the chapter's own name", username=username), hint=N_("choose another username")
        )
    if not isinstance(display_name, str) or not display_name.strip():
        display_name = username
    display_name = display_name.strip()
    if len(display_name) > MAX_DISPLAY_NAME_LENGTH:
        raise ApiError(400, N_("the display name is longer than {n} characters", n=MAX_DISPLAY_NAME_LENGTH))
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ApiError(400, N_("the password must have at least {n} characters", n=MIN_PASSWORD_LENGTH))
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ApiError(400, N_("the password must have at most {n} characters", n=MAX_PASSWORD_LENGTH))
    weak = passwords.weakness(password, username=username, chapter=chapter)
    if weak is not None:
        raise ApiError(400, weak, hint=N_("choose a longer password, for example a few unrelated words"))
    return username, display_name, password


# --- what pages do with accounts ---------------------------------------------------------------


async def sign_up(
    app: web.Application, *, username, display_name, password, admit: Callable[[], None] | None = None
) -> Account:
    """Create an account (keys and all) with a ``requested`` membership; 409 if the name is taken.

    ``admit`` runs once the form is valid, before any costly work, and may refuse (a throttle).
    """
    config, db, urls = app[CONFIG], app[DATABASE], app[URLS]
    username, display_name, password = check_new_account(config.node.name, username, display_name, password)
    if await account_exists(db.reader, username):
        raise ApiError(
            409, N_("the username {username} is taken", username=username), hint=N_("choose another username")
        )
    if admit is not None:
        admit()
    password_hash = await asyncio.to_thread(passwords.hash_password, password)
    pems = await asyncio.to_thread(keys.generate_key_pems)
    now = to_epoch(app[CLOCK].now())
    async with db.transaction() as conn:
        if not await insert_account(
            conn, username=username, display_name=display_name, password_hash=password_hash, now=now
        ):
            raise ApiError(
                409, N_("the username {username} is taken", username=username), hint=N_("choose another username")
            )
        await keys.create_actor_keys(conn, username, pems, now)
        await members.request_membership(
            conn, chapter=config.node.name, actor_id=urls.actor(username), now=now, is_local=True
        )
    return Account(username, display_name, now)


async def authenticate(app: web.Application, username, password) -> Account | None:
    """The account if the password is right, else None (the same work either way)."""
    if not isinstance(username, str) or not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
        return None
    username = username.strip()
    stored = await password_hash_of(app[DATABASE].reader, username) if USERNAME.match(username) else None
    matches = await asyncio.to_thread(passwords.verify, password, stored or passwords.decoy_hash())
    if stored is None or not matches:
        return None
    if passwords.needs_rehash(stored):
        await rehash(app, username, password, stored)
    return await get_account(app[DATABASE].reader, username)


def check_display_name(display_name) -> str:
    if not isinstance(display_name, str) or not display_name.strip():
        raise ApiError(400, N_("write the name people see"), hint=N_("it may be your full name or a nickname"))
    if len(display_name.strip()) > MAX_DISPLAY_NAME_LENGTH:
        raise ApiError(400, N_("the display name is longer than {n} characters", n=MAX_DISPLAY_NAME_LENGTH))
    return display_name.strip()


async def change_display_name(app: web.Application, username: str, display_name) -> str:
    """The new name, stored in one transaction with the ``Update`` of the member's ``Person`` that
    tells the federation, once the account is an actor of it (approved; a waiting sign-up publishes
    nothing). The Update goes to the member's followers and the chapter's (who saw the member's
    posts in the chapter's boosts), signed at send time with the member's own key."""
    name = check_display_name(display_name)
    db, urls, now = app[DATABASE], app[URLS], app[CLOCK].now()
    rename = "UPDATE accounts SET display_name = ? WHERE username = ?"
    federated = await federated_account_username(db.reader, urls, urls.actor(username)) is not None
    update = await _person_update(db.reader, urls, username, name, now) if federated else None
    if update is None:
        await db.write_statement(rename, (name, username))
        return name

    async def save(conn: Connection) -> None:
        await conn.execute(rename, (name, username))

    chapter_followers = await follows.follower_inboxes(db.reader, app[CONFIG].node.name)
    await service.apply(
        app, username, Composed(activity=update, changes=[save], direct_inboxes=chapter_followers), now=now
    )
    return name


async def _person_update(conn: Connection, urls: Urls, username: str, display_name: str, now) -> dict | None:
    """``Update`` of the member's Person as it is served with its new name, addressed to the public
    and the member's followers (None for an account without keys: no actor to update)."""
    public, created = await keys.public_keys(conn, username), await keys.first_key_created_at(conn, username)
    if public is None:
        return None
    person = actors.person_document(
        urls,
        username=username,
        display_name=display_name,
        rsa_public_pem=public[0],
        ed25519_public=public[1],
        published=from_epoch(created) if created else now,
    )
    return vocabulary.activity(
        "Update",
        urls,
        actor=urls.actor(username),
        now=now,
        object=person,
        context_value=actors.ACTOR_CONTEXT,
        to=[vocabulary.PUBLIC],
        cc=[urls.followers(username)],
    )


async def change_password(app: web.Application, username: str, current, new) -> None:
    """The new password once the current one is right and the new one is fit (a 400 or 403 saying why)."""
    if await authenticate(app, username, current) is None:
        raise ApiError(403, N_("that is not your current password"), hint=N_("type your current password again"))
    check_new_account(app[CONFIG].node.name, username, None, new)
    fresh = await asyncio.to_thread(passwords.hash_password, new)
    await app[DATABASE].write_statement("UPDATE accounts SET password_hash = ? WHERE username = ?", (fresh, username))


async def rehash(app: web.Application, username: str, password: str, checked: str) -> bool:
    """Replace the older hash ``checked`` (just verified against ``password``) with a new argon2id
    one; one statement, so it lands only if the stored hash is still the one checked."""
    fresh = await asyncio.to_thread(passwords.hash_password, password)
    changed = await app[DATABASE].write_statement(
        "UPDATE accounts SET password_hash = ? WHERE username = ? AND password_hash = ?", (fresh, username, checked)
    )
    return changed == 1
