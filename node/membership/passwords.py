"""Members' passwords: how they are hashed and checked, and which a new account may not have.

Hashing: argon2id (``argon2-cffi``) with that library's defaults, RFC 9106's second
recommended profile (64 MiB, 3 passes, 4 lanes, a 16-byte random salt), in the PHC string
format (``$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>``), which says its own parameters.
Hashes from before argon2id are scrypt (n=2**14, r=8, p=1, below today's advice) as
``scrypt$n=16384,r=8,p=1$<salt>$<hash>``: :func:`verify` still checks them, and
:func:`needs_rehash` says so, as it does for an argon2id hash made with other parameters than
today's; the sign-in (``node.membership.accounts.authenticate``) then stores a new hash of the
password it has just checked. Hashing is slow on purpose: callers run it in a thread.

What a new account may not have: a small list of common passwords of at least ten characters
(the shortest a sign-up takes) is shipped here, compared without case; beyond the list, three
rules catch what such lists are made of: too few different characters (``aaaaaaaaaa``,
``abababab12``), a run along the alphabet, the digits or a keyboard row (``1234567890``,
``qwertyuiop``), and the username or the chapter's name with a few characters around it. Each
refusal says what to do instead. This is no strength meter: it only keeps out what is guessed
in the first few thousand tries.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from node.core.i18n import N_

MIN_DISTINCT_CHARACTERS = 5

_HASHER = PasswordHasher()  # argon2id, RFC 9106's low-memory profile
_SCRYPT_MAX_N = 2**20  # an old scrypt hash can ask for no more work than this


def hash_password(password: str) -> str:
    """A new salted argon2id hash of ``password`` (a PHC string that names its parameters)."""
    return _HASHER.hash(password)


def verify(password: str, stored: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from (argon2id, or an old scrypt hash)."""
    if stored.startswith("scrypt$"):
        return _scrypt_matches(password, stored)
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether a hash that just verified should be replaced: scrypt, or argon2id with other parameters."""
    return stored.startswith("scrypt$") or _HASHER.check_needs_rehash(stored)


@functools.cache
def decoy_hash() -> str:
    """A hash of nothing anyone knows, made on first use: checking an unknown username against it
    costs as much as checking a real one, so timing does not tell which usernames exist."""
    return hash_password(secrets.token_urlsafe(16))


def _scrypt_matches(password: str, stored: str) -> bool:
    """The check of hashes made before argon2id (parameters and salt read from the string)."""
    try:
        scheme, params, salt_b64, digest_b64 = stored.split("$")
        settings = dict(part.split("=", 1) for part in params.split(","))
        n, r, p = int(settings["n"]), int(settings["r"]), int(settings["p"])
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
    except (ValueError, KeyError):
        return False
    if scheme != "scrypt" or not (1 < n <= _SCRYPT_MAX_N and 0 < r <= 32 and 0 < p <= 16) or not expected:
        return False
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=len(expected), maxmem=256 * 1024 * 1024)
    return hmac.compare_digest(digest, expected)


COMMON = frozenset(
    [
        "1234567890",
        "0123456789",
        "0987654321",
        "9876543210",
        "1111111111",
        "0000000000",
        "1234512345",
        "1122334455",
        "1234567890a",
        "a1234567890",
        "12345678910",
        "123456789a",
        "1q2w3e4r5t",
        "1q2w3e4r5t6y",
        "q1w2e3r4t5",
        "zaq12wsxcde",
        "qwertyuiop",
        "qwertyuiop1",
        "asdfghjkl1",
        "asdfghjkl;",
        "zxcvbnm123",
        "1qaz2wsx3edc",
        "qazwsxedcrfv",
        "qwerty1234",
        "qwerty12345",
        "password12",
        "password123",
        "password1234",
        "password01",
        "passw0rd123",
        "p@ssw0rd12",
        "p@ssword123",
        "mypassword",
        "mypassword1",
        "password!!",
        "passwordpassword",
        "letmein123",
        "letmeinplease",
        "welcome123",
        "welcome1234",
        "welcometo",
        "iloveyou12",
        "iloveyou123",
        "iloveyou!!",
        "sunshine12",
        "sunshine123",
        "princess12",
        "princess123",
        "football12",
        "football123",
        "baseball12",
        "baseball123",
        "basketball",
        "superman12",
        "superman123",
        "batman1234",
        "starwars12",
        "starwars123",
        "dragon1234",
        "monkey1234",
        "shadow1234",
        "master1234",
        "michael123",
        "jennifer12",
        "jordan2323",
        "liverpool1",
        "liverpool12",
        "chelsea123",
        "arsenal123",
        "manchester",
        "london1234",
        "london2024",
        "london2025",
        "london2026",
        "changeme12",
        "changeme123",
        "administrator",
        "admin12345",
        "admin123456",
        "administrator1",
        "rootroot12",
        "trustno1234",
        "abc1234567",
        "abcdefghij",
        "abcdefg123",
        "abc123abc123",
        "aaaaaaaaaa",
        "qwertyqwerty",
        "asdfasdfasdf",
        "zaq1zaq1zaq1",
        "11111111111",
        "123123123123",
        "123qweasdzxc",
        "computer12",
        "internet12",
        "whatever12",
        "secret1234",
        "secretpassword",
        "solidarity",
        "solidarity1",
        "participatory",
        "parecon123",
        "socialism1",
        "revolution",
        "revolution1",
        "comrade123",
        "unionpower",
        "workersunite",
    ]
)

_RUNS = ("abcdefghijklmnopqrstuvwxyz", "01234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")


def weakness(password: str, *, username: str = "", chapter: str = "") -> str | None:
    """Why ``password`` is too easy to guess, or None if it is not."""
    lowered = password.lower()
    if lowered in COMMON:
        return N_("this password is on the lists of common passwords that guessers try first")
    if len(set(lowered)) < MIN_DISTINCT_CHARACTERS:
        return N_("the password needs at least {n} different characters", n=MIN_DISTINCT_CHARACTERS)
    if _mostly_a_run(lowered):
        return N_("the password is mostly a run of the alphabet, the digits or the keyboard")
    for name in (username.lower(), chapter.lower()):
        if len(name) >= 3 and name in lowered and len(lowered) - len(name) < 6:
            return N_("the password is mostly the username or the chapter's name")
    return None


def _mostly_a_run(lowered: str) -> bool:
    """Whether all but three characters form one run (either direction) of a row in ``_RUNS``."""
    longest = 0
    for row in _RUNS:
        for line in (row, row[::-1]):
            for start in range(len(lowered)):
                length = 0
                while start + length < len(lowered) and lowered[start : start + length + 1] in line:
                    length += 1
                longest = max(longest, length)
    return longest >= len(lowered) - 3
