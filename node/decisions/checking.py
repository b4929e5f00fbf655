"""What a level checks of a child's tally, split as the inbox splits work.

Before the transaction (:func:`prepare`, a ``registry.preparers["Add"]`` entry): the proof is
the origin's own (``proposal.check_signed``), and for a chapter tally the leaves are fetched
from its ``leaves`` URL (on the origin's host) and the tally is checked against them
(``tally.problems_with``: counts match the leaves and the root, no more voters than the
roll, one tag per voter).

Inside the transaction (:func:`refusal`): the sender is a linked child, the origin is in the
electorate of this level and hangs under that child, the tally arrived before
``tallyDeadline``, and a chapter reports once. Then :func:`shared_tags`: a member on the
rolls of two chapters belongs to the earlier membership; if that member voted in both, the
later membership's tally is rejected ("counted in one chapter only (the earlier
membership)", naming the tags), whichever arrived first; the chapter then withdraws those
ballots and sends a recount, which replaces the refused tally if it comes before the deadline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from federation.activitystreams import id_of, origin_of
from federation.client import FetchError
from inbox.handlers import InboxContext, PrepareContext
from node.core.clock import to_epoch
from node.decisions import proposal, store
from node.decisions import tally as tallies

DOCUMENT_TYPES = ("DecisionTally", "DecisionAggregate", "DecisionOutcome")
EARLIER = "counted in one chapter only (the earlier membership)"
TAG = re.compile(r"\b[0-9a-f]{64}\b")


@dataclass(frozen=True)
class DocumentCheck:
    error: str | None
    problems: list[str] = field(default_factory=list)
    inbox: str | None = None


def decision_document(activity: dict) -> dict | None:
    document = activity.get("object")
    return document if isinstance(document, dict) and document.get("type") in DOCUMENT_TYPES else None


async def _leaves(pctx: PrepareContext, tally: dict) -> list | str:
    url, origin = tally.get("leaves"), id_of(tally.get("attributedTo"))
    if not isinstance(url, str) or origin_of(url).netloc != origin_of(origin).netloc:
        return "the tally's leaves are not on its chapter's host"
    try:
        page = await pctx.remote_actors.client.get_json(url, signer=pctx.remote_actors.signer)
    except FetchError as error:
        if error.gone:
            return f"the leaves are gone: {error.reason}"
        raise
    items = page.get("orderedItems")
    return items if isinstance(items, list) and all(isinstance(i, dict) for i in items) else "no leaves at that URL"


async def prepare(pctx: PrepareContext, activity: dict) -> dict:
    document = decision_document(activity)
    if document is None:
        return {}
    error = await proposal.check_signed(pctx.remote_actors, document, pctx.now)
    problems: list[str] = []
    inbox = None
    if error is None and document["type"] == "DecisionTally":
        leaves = await _leaves(pctx, document)
        problems = [leaves] if isinstance(leaves, str) else tallies.problems_with(document, leaves)
        inbox = (await pctx.remote_actors.get_actor(document["attributedTo"])).delivery_inbox
    return {"decision_check": DocumentCheck(error, problems, inbox)}


async def refusal(ctx: InboxContext, activity: dict, tally: dict, prop: store.Proposal) -> str | None:
    """Why this level does not count ``tally``, or None."""
    check: DocumentCheck = ctx.prepared["decision_check"]
    origin, sender = id_of(tally.get("attributedTo")), id_of(activity.get("actor"))
    if check.error is not None:
        return check.error
    elector = await store.elector(ctx.conn, prop.id, origin)
    if elector is None:
        return f"{origin} is not in the electorate of this proposal here (linked after it opened, or no chapter)"
    if elector["via_child"] != sender:
        return f"{origin} hangs under {elector['via_child']}, not {sender}"
    if to_epoch(ctx.now) > prop.tally_deadline:
        return "late: the tally arrived after the tallyDeadline"
    existing = await store.get_tally(ctx.conn, prop.id, origin)
    if existing is not None and existing["status"] == "reported":
        return f"a chapter reports once: a tally of {origin} is already counted here"
    if check.problems:
        return "; ".join(check.problems)
    return None


def _tag_entries(tally: dict) -> list[tuple[str, float, bool]] | None:
    voted = set(tally.get("participation") or [])
    entries = []
    for entry in tally.get("rollTags") or []:
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
            return None
        if not isinstance(entry[1], int | float):
            return None
        entries.append((entry[0], float(entry[1]), entry[0] in voted))
    if len(entries) != tally.get("rollSize") or not voted <= {tag for tag, _, _ in entries}:
        return None
    return entries


def lost_tags(reason: str) -> list[str]:
    """The participation tags a refusal for an earlier membership names (for the chapter to recount)."""
    return TAG.findall(reason.split(EARLIER, 1)[1]) if EARLIER in reason else []


def earlier_reason(tags: list[str], elsewhere: str) -> str:
    return f"{EARLIER}: the voters with the participation tags {', '.join(tags)} voted in {elsewhere} too"


async def shared_tags(ctx: InboxContext, prop_id: str, origin: str, tally: dict) -> tuple[str | None, dict]:
    """(why ``origin`` loses voters to earlier memberships, or None; {chapter: tags} that lose to it)."""
    entries = _tag_entries(tally)
    if entries is None:
        return "the roll's tags must be one [tag, since] per member, the voters' tags among them", {}
    mine = {tag: (since, voted) for tag, since, voted in entries}
    lost: dict[str, list[str]] = {}
    losers: dict[str, list[str]] = {}
    for row in await store.tags_elsewhere(ctx.conn, prop_id, origin, list(mine)):
        since, voted = mine[row["tag"]]
        if not (voted and row["voted"]):
            continue  # on two rolls, voted once at most: counted once
        if (row["since"], row["chapter"]) < (since, origin):
            lost.setdefault(row["chapter"], []).append(row["tag"])
        else:
            losers.setdefault(row["chapter"], []).append(row["tag"])
    if lost:
        chapter, tags = next(iter(lost.items()))
        return earlier_reason(tags, chapter), {}
    await store.add_tags(ctx.conn, prop_id, origin, entries)
    return None, losers
