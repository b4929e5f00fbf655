"""Local accounts: password hashes (argon2id, old scrypt ones rehashed at sign-in), sign-up rules, and the membership requests they file."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from node.core.db import Database
from node.core.errors import ApiError
from node.membership import accounts, members, passwords
from node.web.app import all_migrations
from tests.support.passwords import old_scrypt_hash


def test_password_hashes_are_salted_self_describing_argon2id():
    first, second = passwords.hash_password("correct horse battery"), passwords.hash_password("correct horse battery")
    assert first != second  # a fresh salt each time
    assert first.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert "correct horse" not in first
    assert passwords.verify("correct horse battery", first)
    assert not passwords.verify("correct horse battery!", first)
    assert not passwords.needs_rehash(first)


def test_old_scrypt_hashes_still_verify_and_ask_to_be_rehashed():
    old = old_scrypt_hash("correct horse battery")
    assert passwords.verify("correct horse battery", old)
    assert not passwords.verify("correct horse battery!", old)
    assert passwords.needs_rehash(old)


def test_an_argon2id_hash_with_other_parameters_asks_to_be_rehashed():
    weaker = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("correct horse battery")
    assert passwords.verify("correct horse battery", weaker)
    assert passwords.needs_rehash(weaker)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "scrypt",
        "bcrypt$n=16384,r=8,p=1$AAAA$AAAA",
        "scrypt$n=16384,r=8$AAAA$AAAA",
        "scrypt$n=abc,r=8,p=1$AA$AA",
        "scrypt$n=1073741824,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA",  # asks for too much work
        "scrypt$n=16384,r=8,p=1$!!$!!",
        "scrypt$n=16384,r=8,p=1$AAAA$",
        "$argon2id$v=19$m=65536,t=3,p=4$AAAA$AAAA",
        "$argon2id$v=19$m=65536,t=3,p=4$",
    ],
)
def test_malformed_or_greedy_hashes_never_match(stored):
    assert not passwords.verify("anything at all", stored)


@pytest.mark.parametrize(
    "username, display_name, password, reason",
    [
        ("london", "", "long enough password", "chapter's own name"),
        ("Jo", "", "long enough password", "a-z, 0-9 and _"),
        ("jo.smith", "", "long enough password", "a-z, 0-9 and _"),
        ("x" * 65, "", "long enough password", "a-z, 0-9 and _"),
        (None, "", "long enough password", "a-z, 0-9 and _"),
        ("jo", "", "too short", "at least 10"),
        ("jo", "", "x" * 1025, "at most 1024"),
        ("jo", "n" * 101, "long enough password", "display name"),
    ],
)
def test_sign_up_rules_say_what_is_wrong(username, display_name, password, reason):
    with pytest.raises(ApiError) as refused:
        accounts.check_new_account("london", username, display_name, password)
    assert refused.value.status == 400 and reason in refused.value.error


def test_a_blank_display_name_becomes_the_username():
    assert accounts.check_new_account("london", " jo_smith ", "  ", "long enough password") == (
        "jo_smith",
        "jo_smith",
        "long enough password",
    )


async def test_requests_leave_and_rejoin(tmp_path):
    db = Database(tmp_path / "a.sqlite3", migrations=all_migrations())
    await db.open()
    try:
        jo = "https://elsewhere.example/users/jo"
        async with db.transaction() as conn:
            assert await members.request_membership(conn, chapter="london", actor_id=jo, now=1, inbox=f"{jo}/inbox")
            await members.set_state(conn, "london", jo, "active", 2)
            assert not await members.request_membership(conn, chapter="london", actor_id=jo, now=3)  # stays active
            assert (await members.get_member(conn, "london", jo))["inbox"] == f"{jo}/inbox"
            assert await members.leave(conn, "london", jo, 4) == 1
            assert await members.leave(conn, "london", jo, 5) == 0  # nothing left to leave
            assert await members.request_membership(conn, chapter="london", actor_id=jo, now=6)  # may ask again
            row = await members.get_member(conn, "london", jo)
            assert row["state"] == "requested" and row["requested_at"] == 6 and row["joined_at"] == 2
            assert await members.leave_everywhere(conn, jo, 7) == 1
        assert await members.page_ids_in_state(db.reader, "london", state="left") == [jo]
    finally:
        await db.close()
