"""Members' passwords on a real node: a new account's hash is argon2id, and an account whose
hash is from before (scrypt) signs in at /login and has its hash replaced by an argon2id one."""

from __future__ import annotations

from node.membership import accounts, passwords
from tests.support.forms import browser_like_session, post_form
from tests.support.passwords import old_scrypt_hash

PASSWORD = "correct horse battery"


async def _stored_hash(node, username: str) -> str:
    stored = await accounts.password_hash_of(node.db.reader, username)
    assert stored is not None
    return stored


async def _sign_in(node, password: str) -> int:
    async with browser_like_session() as browser:
        status, _, _ = await post_form(
            browser, node, "/login", {"username": "jo_smith", "password": password}, allow_redirects=False
        )
    return status


async def test_a_new_accounts_password_is_hashed_with_argon2id(make_node):
    london = await make_node("london", start_workers=False)
    await accounts.sign_up(london.app, username="jo_smith", display_name="Jo", password=PASSWORD)
    stored = await _stored_hash(london, "jo_smith")
    assert stored.startswith("$argon2id$") and passwords.verify(PASSWORD, stored)
    assert await _sign_in(london, PASSWORD) == 303
    assert await _stored_hash(london, "jo_smith") == stored  # today's parameters: kept as it is


async def test_an_old_scrypt_hash_signs_in_and_is_rehashed_with_argon2id(make_node):
    london = await make_node("london", start_workers=False)
    await accounts.sign_up(london.app, username="jo_smith", display_name="Jo", password=PASSWORD)
    old = old_scrypt_hash(PASSWORD)
    await london.db.write_statement("UPDATE accounts SET password_hash = ? WHERE username = 'jo_smith'", (old,))

    assert await _sign_in(london, "wrong password!") == 403
    assert await _stored_hash(london, "jo_smith") == old  # a wrong password changes nothing

    assert await _sign_in(london, PASSWORD) == 303
    fresh = await _stored_hash(london, "jo_smith")
    assert fresh.startswith("$argon2id$") and passwords.verify(PASSWORD, fresh)
    assert await _sign_in(london, PASSWORD) == 303  # and the new hash signs in


async def test_a_rehash_never_overwrites_a_hash_changed_since_it_was_checked(make_node):
    london = await make_node("london", start_workers=False)
    await accounts.sign_up(london.app, username="jo_smith", display_name="Jo", password=PASSWORD)
    changed_meanwhile = await _stored_hash(london, "jo_smith")
    assert not await accounts.rehash(london.app, "jo_smith", PASSWORD, checked=old_scrypt_hash(PASSWORD))
    assert await _stored_hash(london, "jo_smith") == changed_meanwhile
