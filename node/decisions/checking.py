"""Where each decision document may come from, and what a level checks before it changes anything.

Every document that travels is signed by its author (``attributedTo``, FEP-8b32) and arrives
in an ``Add`` from the node that passes it on (the HTTP signer). :func:`standing` says, from
what is stored here and without touching the network, whether that sender may bring that
document at all: up the tree, a ``DecisionRoll`` or ``DecisionTally`` only from the linked
child the chapter hangs under in this level's electorate (frozen when the proposal opened
here), a ``DecisionAggregate`` only from a linked child about itself; down the tree, a
``DecisionExclusions`` or ``DecisionOutcome`` only from the linked parent the proposal came
from, signed by the proposal's issuer. Anything else is refused before any fetch, so a
stranger's document costs this node one database read.

Then, before the transaction (:func:`prepare`, a ``registry.preparers["Add"]`` step): the
proof must be the author's own (``proposal.check_signed``); for a tally, its leaves are
fetched from the chapter's own host and recounted (``leaves.recount``), and every figure it
states is compared with the recount (``leaves.claim_problems``). Inside the transaction
(:func:`tally_refusal`, :func:`roll_refusal`) the rest is checked against what is stored:
the standing again (a link may have changed), the time it was received against
``tallyDeadline``, the roll this level holds for the chapter (a tally that overtook its roll
waits for it: ``TryLater``), the exclusions the tally says it applied, and once only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from federation import jsonio
from federation.activitystreams import id_of, origin_of
from federation.client import FetchError
from inbox.handlers import InboxContext, PrepareContext, TryLater
from node.branches import link_store
from node.core.db import Connection
from node.core.i18n import N_, joined
from node.decisions import leaves, proposal, received, rolls, store

UP = ("DecisionRoll", "DecisionTally", "DecisionAggregate")
MAX_LEAVES_BYTES = 256 * 1024 * 1024
DOWN = ("DecisionExclusions", "DecisionOutcome")
DOCUMENT_TYPES = UP + DOWN


@dataclass(frozen=True)
class DocumentCheck:
    """What :func:`prepare` found: why the document is refused (None: it may go on), and for a
    tally the figures its leaves show and where its chapter's inbox is."""

    error: str | None
    problems: list[str] = field(default_factory=list)
    inbox: str | None = None
    recount: leaves.Recount | None = None


def decision_document(activity: dict) -> dict | None:
    document = activity.get("object")
    return document if isinstance(document, dict) and document.get("type") in DOCUMENT_TYPES else None


def proposal_of(document: dict) -> str:
    return id_of(document.get("proposal")) or ""


async def standing(conn: Connection, prop: store.Proposal | None, document: dict, sender: str | None) -> str | None:
    """Why ``sender`` may not bring ``document`` here (None: it may), from stored state only."""
    kind, origin = document.get("type"), id_of(document.get("attributedTo"))
    if prop is None:
        return N_("a document of a proposal this node does not know")
    if origin is None or sender is None:
        return N_("the document names no attributedTo")
    if kind in DOWN:
        parent = await link_store.linked_parent(conn)
        if parent is None or parent.peer_id != sender or prop.via != sender:
            return N_(
                "a {kind} comes down from the linked parent the proposal came from, not from {sender}",
                kind=kind,
                sender=sender,
            )
        if origin != prop.issuer:
            return N_(
                "a {kind} is signed by the proposal's issuer {issuer}, not {origin}",
                kind=kind,
                issuer=prop.issuer,
                origin=origin,
            )
        return None
    if await link_store.linked_child(conn, sender) is None:
        return N_("{sender} is not a linked child of this node", sender=sender)
    if kind == "DecisionAggregate":
        if origin != sender:
            return N_("a level sends its own aggregate: {sender} sent one of {origin}", sender=sender, origin=origin)
        if await store.elector(conn, prop.id, sender) is not None:
            return N_(
                "{sender} is a chapter of the electorate: a chapter sends its tally, not an aggregate", sender=sender
            )
        return None
    elector = await store.elector(conn, prop.id, origin)
    if elector is None:
        return N_(
            "{origin} is not in the electorate of this proposal here (linked after it opened, or no chapter)",
            origin=origin,
        )
    if elector["via_child"] != sender:
        return N_("{origin} hangs under {via}, not {sender}", origin=origin, via=elector["via_child"], sender=sender)
    return None


def leaves_cap(prop: store.Proposal, tally: dict) -> int:
    """The most bytes a chapter's leaves can take: a leaf per voter on its roll, each answering every
    question with every option (so a large chapter is fetched whole, and a larger body is a lie)."""
    stated = tally.get("rollSize")
    roll: int = stated if isinstance(stated, int) and not isinstance(stated, bool) else 0
    per_leaf = 120 + sum(
        len(q["id"]) + 16 + sum(len(name) + 4 for name in proposal.options_of(q))
        for q in proposal.questions_of(prop.document)
    )
    return min(MAX_LEAVES_BYTES, 65_536 + max(0, min(roll, leaves.MAX_COUNT)) * per_leaf * 2)


async def _leaves(pctx: PrepareContext, prop: store.Proposal, tally: dict) -> list | str:
    url, origin = tally.get("leaves"), id_of(tally.get("attributedTo")) or ""
    if not isinstance(url, str) or origin_of(url).netloc != origin_of(origin).netloc:
        return N_("the tally's leaves are not on its chapter's host")
    try:
        page = await pctx.remote_actors.client.get_json(
            url, signer=pctx.remote_actors.signer, max_bytes=leaves_cap(prop, tally)
        )
    except FetchError as error:
        if error.gone or error.status == 413:
            return N_("the leaves could not be had: {reason}", reason=error.reason)
        raise
    items = page.get("orderedItems") if isinstance(page, dict) else None
    return items if isinstance(items, list) else N_("no leaves at that URL")


async def _tally_check(pctx: PrepareContext, prop: store.Proposal, tally: dict, inbox: str | None) -> DocumentCheck:
    found = await _leaves(pctx, prop, tally)
    if isinstance(found, str):
        return DocumentCheck(None, [found], inbox)
    try:
        counted = leaves.recount(proposal.ballots_of(prop.document), found)
    except leaves.LeafError as error:
        return DocumentCheck(None, [error.message], inbox)
    problems = leaves.claim_problems(tally, counted)
    if tally.get("merkleRoot") != leaves.merkle_root(found):
        problems.append(N_("the Merkle root does not match the leaves"))
    return DocumentCheck(None, problems, inbox, counted)


async def prepare(pctx: PrepareContext, activity: dict) -> dict:
    document = decision_document(activity)
    if document is None:
        return {}
    prop = await store.get_proposal(pctx.reader, proposal_of(document))
    refused = await standing(pctx.reader, prop, document, id_of(activity.get("actor")))
    if refused is not None or prop is None:
        return {"decision_check": DocumentCheck(refused)}
    error = await proposal.check_signed(pctx.remote_actors, document, pctx.now)
    if error is not None:
        return {"decision_check": DocumentCheck(error)}
    if document["type"] not in ("DecisionRoll", "DecisionTally"):
        return {"decision_check": DocumentCheck(None)}
    # a linked child's chapter, whose proof verified: where to tell it if its roll or tally is refused
    inbox = (await pctx.remote_actors.get_actor(id_of(document["attributedTo"]) or "")).delivery_inbox
    if document["type"] == "DecisionRoll":
        return {"decision_check": DocumentCheck(None, inbox=inbox)}
    return {"decision_check": await _tally_check(pctx, prop, document, inbox)}


async def roll_refusal(ctx: InboxContext, prop: store.Proposal, roll: dict, received_at: float) -> str | None:
    """Why this level does not keep ``roll`` (None: it is kept), against what is stored."""
    origin = id_of(roll.get("attributedTo")) or ""
    if received_at > prop.tally_deadline:
        return N_("late: a roll arrived after the tallyDeadline")
    entries = rolls.entries_of(roll)
    if isinstance(entries, str):
        return entries
    elector = await store.elector(ctx.conn, prop.id, origin)
    reported = int(elector["roll"]) if elector is not None else 0
    if len(entries) > rolls.allowance(reported):
        return N_(
            "a roll of {size} exceeds the {reported} members of the chapter's last signed report",
            size=len(entries),
            reported=reported,
        )
    kept = await received.roll_of(ctx.conn, prop.id, origin)
    if kept is not None:
        return N_("a chapter's roll is frozen once: one is kept here already")
    return None


async def _recounted(conn: Connection, prop_id: str, origin: str, existing, tally: dict) -> bool:
    """A counted tally may be replaced only by the chapter's recount on newer exclusions that took
    members from it (a roll after the close): a later sequence that changed this chapter's roll. A
    tally that merely states a later sequence, its roll the same, replaces nothing."""
    before = jsonio.loads(existing["document"]).get("exclusions")
    after = tally.get("exclusions")
    if type(before) is not int or type(after) is not int or after <= before:
        return False
    return await excluded_from(conn, prop_id, origin, before) != await excluded_from(conn, prop_id, origin, after)


async def excluded_from(conn: Connection, prop_id: str, chapter: str, seq: int | None) -> list[str] | None:
    """The commitments the exclusions of ``seq`` (the newest when None) take from ``chapter``; None
    when this level holds no exclusions of that sequence (0: none were issued)."""
    if seq == 0:
        return []
    document = await received.exclusions(conn, prop_id, seq)
    if document is None:
        return [] if seq is None else None
    return sorted((document.get("excluded") or {}).get(chapter, []))


async def tally_refusal(ctx: InboxContext, prop: store.Proposal, tally: dict, received_at: float) -> str | None:
    """Why this level does not count ``tally`` (None: it counts), against what is stored."""
    check: DocumentCheck = ctx.prepared["decision_check"]
    origin = id_of(tally.get("attributedTo")) or ""
    if received_at > prop.tally_deadline:
        return N_("late: the tally arrived after the tallyDeadline")
    if received_at < prop.end_time:
        return N_("early: a tally is built at the close, and this one arrived before it")
    existing = await received.get_tally(ctx.conn, prop.id, origin)
    if (
        existing is not None
        and existing["status"] == "reported"
        and not await _recounted(ctx.conn, prop.id, origin, existing, tally)
    ):
        return N_("a chapter reports once: a tally of {origin} is already counted here", origin=origin)
    if check.problems:
        return joined(check.problems)
    roll = await received.roll_of(ctx.conn, prop.id, origin)
    refused = await received.roll_refusal(ctx.conn, prop.id, origin) if roll is None else None
    if refused is not None:
        return N_("its roll was refused here: {reason}", reason=refused)
    if roll is None:  # it was sent first, and may still be on its way: this tally waits for it
        raise TryLater(f"no roll of {origin} is kept here yet: its tally is measured against one")
    seq = tally.get("exclusions")
    if type(seq) is not int or seq < 0:
        return N_("the tally must state which exclusions it applied (their sequence, 0 for none)")
    applied, latest = (
        await excluded_from(ctx.conn, prop.id, origin, seq),
        await excluded_from(ctx.conn, prop.id, origin, None),
    )
    if applied is None:
        return N_("the exclusions {seq} the tally applied are not known here", seq=seq)
    if applied != latest:
        return N_("recount: the issuer's exclusions changed this chapter's roll after the tally was built")
    if tally.get("excludedMembers") != len(applied) or tally.get("rollSize") != roll["size"] - len(applied):
        return N_(
            "the roll is {size} less {excluded} excluded: the tally states otherwise",
            size=roll["size"],
            excluded=len(applied),
        )
    return None
