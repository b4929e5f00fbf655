"""Passwords a new account may not have: common ones, and ones a guesser tries first.

A small list of common passwords of at least ten characters (the shortest a sign-up takes)
is shipped here, compared without case; beyond the list, three rules catch what such lists
are made of: too few different characters (``aaaaaaaaaa``, ``abababab12``), a run along the
alphabet, the digits or a keyboard row (``1234567890``, ``qwertyuiop``), and the username or
the chapter's name with a few characters around it. Each refusal says what to do instead.
This is no strength meter: it only keeps out what is guessed in the first few thousand tries.
"""

from __future__ import annotations

from node.core.i18n import N_

MIN_DISTINCT_CHARACTERS = 5

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
