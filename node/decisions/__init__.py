"""Proportional decisions: proposals down the branch tree, signed tallies up, checkable at every level.

Flow (DESIGN.md §4):

1. **Issue** (``issuing``, wrapping the polls room's ``object_composers``): an admin POSTs a
   Question or Survey with a ``decision`` object; the policy is checked (``proposal``), the
   proposal signed with the node's Ed25519 key (FEP-8b32), kept, the electorate frozen from
   the subtree's signed branch reports (``electorate``), and an ``Offer`` of it recorded for
   every linked child. It never changes after (``registry.update_guards``: 422).
2. **Down** (``inbound``): each level checks the issuer's proof before the transaction (a
   ``registry.preparers["Offer"]`` entry), keeps the proposal, freezes its own electorate,
   passes the proposal on unchanged, and a chapter publishes its own copy through the polls
   room and freezes its roll (``copying``). A chapter that was offline gets it from the
   delivery worker's retries, and copies it if it is still open.
3. **Ballots** (``ballots``, wrapping ``registry.reply_handlers["Question"]``): counted by the
   polls room's one counting code against the frozen roll; each counted ballot gets a random
   receipt (sent to the voter in a direct Note; shown on the page to a member who votes
   there, ``registry.local_vote``) and an anonymous leaf (``tally``).
4. **Up** (``worker``, ``tallying``, ``checking``): at ``endTime`` the chapter's signed tally
   goes to its parent; each level checks each child's tally (proof, leaves and root, roll,
   shared tags, electorate, deadline), refuses what fails with a ``Reject`` saying why, keeps
   what passes (once per chapter and proposal), forwards it unchanged, and sends its own
   signed aggregate (``deciding``).
5. **Outcome** (``worker``, ``deciding``, ``outcome``): at the issuer, once every chapter has
   reported or at ``tallyDeadline``, the outcome is computed from the chapter tallies,
   signed, the proposal's Question(s) closed with the aggregate counts, and the outcome sent
   down; chapters tell their members (``telling``). ``views``/``results``: ``<proposal
   id>/results`` (JSON or a page), a copy's leaves, a receipt's inclusion proof.

Receipts: a leaf shows its choice, so a member can check their vote and could also show it
to someone else; for an organisation's internal decisions checkability comes first. Who
holds which receipt is never published; participation tags travel up only, never served.

Tables (``schema``, migration 12): ``decision_proposals``, ``decision_electorate``,
``decision_copies``, ``decision_copy_questions``, ``decision_roll``, ``decision_leaves``,
``decision_tallies``, ``decision_tags`` (``store``).
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from node.core.registry import Registry
from node.decisions import ballots, inbound, issuing, schema, views, worker


def register(registry: Registry) -> None:
    registry.feature("decisions", templates=Path(__file__).parent / "templates", migrations=schema.MIGRATIONS)
    issuing.register(registry)
    inbound.register(registry)
    registry.reply_handlers["Question"] = ballots.voting(registry.reply_handlers["Question"])
    registry.local_vote = ballots.local_voting(registry.local_vote)


def setup(app: web.Application) -> None:
    views.add_routes(app)
    app.cleanup_ctx.append(worker.decision_worker_context)
