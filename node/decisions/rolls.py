"""A chapter's frozen roll as the levels above see it, and a member on two rolls counted once.

When a chapter copies a proposal it freezes its roll (its active members then) and sends up
a signed ``DecisionRoll``: for each member a **commitment** ``SHA-256("roll" || proposal ||
member id)`` and the UTC **day** the membership began (coarse on purpose: the levels above
learn no join time to the second), sorted by commitment, with ``rollSize`` and a
``rollHash`` over them. It travels up unchanged to the issuer, checked at every level, and
is never served to anyone.

The issuer finds the commitments on two or more rolls and resolves each before anything is
counted (:func:`resolve`): the member stays on the roll where the membership began first
(the earliest day, then the smallest chapter id), and is excluded from the others. The
result is a signed ``DecisionExclusions`` (a ``sequence`` number, and per chapter the
commitments it loses) sent down the tree, again whenever a later roll changes it, and once
more at the close with ``final: true``: a chapter builds its tally only on final exclusions
(or, if they never come, half way to the ``tallyDeadline``), so its leaves, once published,
never change because of another roll. A roll received after the close loses every contest
(its chapter alone recounts; no other chapter's published leaves change, which would tell
the difference between two versions: a member's vote). A chapter refuses ballots from its
excluded members, leaves out any such ballot it counted before, and tells them where they
count; its tally states which exclusions it applied.
So tallies carry nothing per voter: no level above a chapter can tell which of its members
voted, or how. What a level above can still learn: whether an account it guesses is on a
chapter's roll (a commitment of public ids can be recomputed by whoever holds the roll), and
the day that membership began.

The day is the chapter's own word too, so a hostile chapter can claim members it does not
have, with early days, and take them from others (where they will not vote): bounded by its
report from before the proposal, and never silent: every exclusion shows as
``excludedMembers`` on the losing chapter's tally, in ``/results``, and each excluded member
is told where their ballot counts. Admins who see a chapter claim others' members unlink it.

A roll is the chapter's word about its own members: it may not exceed the member count of
the chapter's last signed report by more than :func:`allowance` (members who joined between
that report and the freeze), and its size, less its exclusions, is the chapter's share of
the electorate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from node.core.i18n import N_
from node.decisions.leaves import HEX64, MAX_COUNT

DAY = 86_400
MAX_DAY = 200_000  # the year 2517: a day number past it is no date


def member_commitment(proposal: str, member: str) -> str:
    return hashlib.sha256("\n".join(("roll", proposal, member)).encode()).hexdigest()


def day_of(since: float) -> int:
    return int(since // DAY)


def roll_hash(entries: Iterable[tuple[str, int]]) -> str:
    return hashlib.sha256("\n".join(f"{c} {d}" for c, d in entries).encode()).hexdigest()


def roll_fields(proposal: str, members: Iterable[tuple[str, float]]) -> tuple[dict[str, Any], dict[str, str]]:
    """(the roll's signed fields, each member's commitment) for ``members`` as (id, since)."""
    by_member = {member: member_commitment(proposal, member) for member, _ in members}
    entries = sorted((by_member[member], day_of(since)) for member, since in members)
    fields = {"rollSize": len(entries), "commitments": [list(e) for e in entries], "rollHash": roll_hash(entries)}
    return fields, by_member


def allowance(reported: int) -> int:
    """The largest roll a chapter whose last signed report stated ``reported`` members may freeze."""
    return reported + max(5, reported // 10)


def entries_of(roll: Mapping[str, Any]) -> list[tuple[str, int]] | str:
    """The roll's (commitment, day) entries, or why they are malformed."""
    members, size = roll.get("commitments"), roll.get("rollSize")
    if not isinstance(members, list) or type(size) is not int or not 0 <= size <= MAX_COUNT or len(members) != size:
        return N_("a roll lists rollSize (0 to {count}) members", count=MAX_COUNT)
    entries: list[tuple[str, int]] = []
    previous = ""
    for entry in members:
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
            return N_("each member of a roll is [commitment, day]")
        digest, day = entry
        if not HEX64.fullmatch(digest) or type(day) is not int or not 0 <= day <= MAX_DAY:
            return N_("each member of a roll is [a SHA-256 commitment, a day number]")
        if digest <= previous:
            return N_("a roll's members are sorted by commitment, each once")
        previous = digest
        entries.append((digest, day))
    if roll.get("rollHash") != roll_hash(entries):
        return N_("the rollHash does not match the roll's members")
    return entries


def resolve(entries: Iterable[tuple[Any, ...]]) -> dict[str, list[str]]:
    """{chapter: the commitments it loses} for ``entries`` of (commitment, chapter, day[, late]) on
    several rolls: a roll received after the close (``late``) loses every contest, so that the
    exclusions of the rolls in time are final at the close."""
    holders: dict[str, list[tuple[bool, int, str]]] = {}
    for digest, chapter, day, *late in entries:
        holders.setdefault(digest, []).append((bool(late and late[0]), day, chapter))
    excluded: dict[str, list[str]] = {}
    for digest, claims in holders.items():
        if len(claims) < 2:
            continue
        for *_, chapter in sorted(claims)[1:]:
            excluded.setdefault(chapter, []).append(digest)
    return {chapter: sorted(found) for chapter, found in sorted(excluded.items())}


def exclusions_of(document: Mapping[str, Any]) -> dict[str, list[str]] | str:
    """The exclusions a ``DecisionExclusions`` states, or why it is malformed."""
    sequence, excluded = document.get("sequence"), document.get("excluded")
    if not isinstance(document.get("final", False), bool):
        return "exclusions say whether they are final (true or false)"
    if type(sequence) is not int or not 1 <= sequence <= MAX_COUNT:
        return "exclusions need a sequence number from 1"
    if not isinstance(excluded, dict):
        return "exclusions map chapters to the commitments they lose"
    total = 0
    for chapter, lost in excluded.items():
        if not isinstance(lost, list) or not all(isinstance(c, str) and HEX64.fullmatch(c) for c in lost):
            return f"the exclusions of {chapter} are not a list of commitments"
        total += len(lost)
    if total > MAX_COUNT:
        return "too many exclusions"
    return {chapter: list(lost) for chapter, lost in excluded.items()}
