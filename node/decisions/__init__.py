"""Proportional decisions: proposals down the branch tree, signed tallies up, checkable by anyone.

Threat model
============

The federation is open, and any party may lie. Who may be hostile, and what each may never
achieve (each rule below is enforced in the module named, and attacked in
``tests/integration/test_decisions_hostile.py``):

- **Any fediverse account** (a stranger): may send anything to any inbox. It never changes a
  count, a roll, a tally, an outcome or a refusal: every decision document is accepted only
  from the node the tree says it must come from (``checking.standing``, read from stored
  state BEFORE any network work, so a stranger's document costs one database read and never
  a fetch), and only with its author's own FEP-8b32 proof (``proposal.check_signed``). A
  stranger cannot stall the inbox: network work for an inbound item comes after the sender
  is checked and has a deadline, and ballots are judged by when they were received.
- **A member**: votes once per question, only while on the frozen roll, only before the close
  (``ballots``, through the polls room's one counting code). A member on two chapters' rolls
  counts once, in one chapter (``rolls``). A member learns their own answers' leaf and proof,
  and nobody else's vote.
- **A linked child** (a chapter or a region below): speaks only for its own subtree. It
  cannot add a chapter the electorate did not hold when the proposal opened here, nor report
  for a chapter that hangs under a sibling (``checking.standing``); it cannot overwrite
  another chapter's tally or change a row's kind (aggregates live in their own table and
  are never counted, ``received``); every figure it sends is recounted from its leaves and
  measured against the roll it sent first, frozen when the proposal arrived (``leaves.recount``,
  ``leaves.claim_problems``, ``checking.tally_refusal``); every number it sends is bounded
  (``leaves.MAX_COUNT``, ``rolls``, ``electorate``); a malformed document is refused with a
  reason and never reaches arithmetic, and one proposal's failure never blocks another
  (``worker``). What a hostile chapter CAN do is lie about its own members: claim members it
  does not have (bounded by its own signed report from before the proposal) or stuff ballots
  for members who did not vote. No protocol stops a chapter from lying about itself, and one
  claim reaches others: a claim on another chapter's member, with an earlier day, takes that
  member's say there (``rolls``: never silently: ``excludedMembers`` on that chapter's tally,
  and the member is told where their ballot counts). Beyond that it cannot change anyone
  else's say, and every level above, and the public, can check its arithmetic.
- **A linked parent** (a level above): may refuse to pass a proposal or a tally on (nothing
  stops a parent from dropping what it relays; that shows as "not reporting" everywhere
  above it), but cannot forge the issuer's proposal, exclusions or outcome (each carries the
  issuer's proof, and a proposal's ids are on its issuer's host: no level re-issues another's
  proposal under its own name), cannot void a chapter's ballots (a refusal only tells the chapter's admin
  why; it is a signed, structured ``DecisionRefusal`` of the very tally the chapter sent last,
  from the parent the proposal came from or its issuer, never text parsed out of
  ``content``), and cannot make a chapter publish more than its own composer allows
  (``proposal.shape_error``: at most 50 questions, so one Offer makes at most 51 Creates,
  each delivered once per distinct follower inbox, and is passed on once per child).

Every refusal of what a linked peer brings is answered, signed, to that peer (``inbound``);
a stranger's documents go dead without an answer. Only chapters copy a proposal: members vote
in their chapters.

Privacy: no node above a chapter can tell which of its members voted, or how. Tallies carry
no per-voter tags: a member on two rolls is resolved on the rolls, before counting, with
keyless commitments sent up when the roll is frozen and exclusions sent down by the issuer
(``rolls``). Leaves are served only after the close, in canonical order (sorted by
commitment, never in arrival order). What a level above can still learn: whether an account
it guesses is on a chapter's roll (commitments of public ids can be recomputed), and the
day that membership began; the nodes below the issuer also see its exclusions, so they can
tell whether a guessed account is on two chapters' rolls; after the close, as everyone can, the counts and the anonymous
leaves (which show how many voters answered each question together, not who they were).
Receipts: a leaf shows its choices, so a member can check their vote and could also show it
to someone else; for an organisation's internal decisions checkability comes first. Who
holds which receipt is never published.

Flow
====

1. **Issue** (``issuing``): an admin POSTs a Question or Survey with a ``decision`` object;
   the policy is checked (``proposal``), the proposal signed with the node's Ed25519 key
   (FEP-8b32), kept, the electorate frozen from the subtree's signed branch reports
   (``electorate``), and an ``Offer`` of it recorded for every linked child. It never
   changes after (``registry.update_guards``: 422). A Survey's Questions answer at their ids.
2. **Down** (``inbound``): each level checks the sender, the proposal's shape and the issuer's
   proof, keeps the proposal, freezes its own electorate, passes the proposal on unchanged,
   and a chapter publishes its own copy through the polls room and freezes its roll
   (``copying``); the worker sends the signed roll up (``tallying.signed_roll``).
3. **Rolls and exclusions** (``rolls``): each level checks and keeps each chapter's roll and
   passes it up; the issuer works out the shared members and sends signed exclusions down,
   and at the close its final exclusions, on which every chapter builds its tally (a roll after
   the close loses every contest, so no published leaves change because of another's roll).
4. **Ballots** (``ballots``): counted against the frozen roll less its exclusions; each voter
   gets one random receipt.
5. **Up** (``worker``, ``tallying``, ``checking``): at ``endTime`` the chapter's signed tally
   (its leaves, in canonical order, and the figures they show) goes to its parent; each
   level checks the sender, the proof, the leaves, the roll and the exclusions applied,
   refuses what fails (the worker sends the chapter a signed refusal), keeps what passes with
   its recount, forwards it unchanged, and sends its own signed aggregate (``deciding``).
6. **Outcome** (``worker``, ``deciding``, ``outcome``): at the issuer, once every chapter has
   reported or at ``tallyDeadline``, the outcome is computed from the recounts (a Question is a
   proposal: passed, not passed, blocked or no quorum; a Survey asks for opinions: each of its
   questions' result is its leading option(s), a tie said as one, and nothing passes or fails), signed, the
   proposal's Question(s) closed with the aggregate counts, and the outcome sent down;
   chapters tell their members (``telling``). ``views``/``results``: ``<proposal
   id>/results`` (JSON or a page), a copy's leaves and a receipt's inclusion proof after the
   close; ``verify``: ``chapterhouse verify <proposal>`` redoes it all from public documents.

In the browser (``pages``, ``composing``, ``words``): ``/decisions/new`` issues a proposal or survey
through the same composer, every decision has a page at ``/decisions/<uuid>`` (a proposal's id and a
chapter's copy land there), the dashboard has a Decisions panel and a region's or the international's
home page the open and closed decisions. What the composers refuse (``proposal.parse_policy``, the
polls room's question rules) and why a tally was refused are messages (``node.core.i18n.N_``): a
refusal travels and ``/results`` serves it in English, and it is kept beside as a message
(``node.core.i18n.message_json``, migration 16) so that the proposal's page and ``/results`` show it
in the reader's language.

Tables (``schema``, migrations 12 to 16): the proposal and electorate (``store``), this
node's copy with its roll, choices and receipts (``copy_store``), what the subtree sent up
and the issuer's exclusions (``received``).
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from node.core.registry import Registry
from node.decisions import ballots, inbound, issuing, pages, schema, views, worker


def register(registry: Registry) -> None:
    registry.feature(
        "decisions",
        templates=Path(__file__).parent / "templates",
        migrations=schema.MIGRATIONS,
        requires=("polls", "branches"),
    )
    issuing.register(registry)
    inbound.register(registry)
    pages.register(registry)
    registry.reply_handlers["Question"] = ballots.vote_on_copy(registry.reply_handlers["Question"])
    registry.local_vote = ballots.local_vote_on_copy(registry.local_vote)


def setup(app: web.Application) -> None:
    views.add_routes(app)
    pages.add_routes(app)
    app.cleanup_ctx.append(worker.decision_worker_context)
