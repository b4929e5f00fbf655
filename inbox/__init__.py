"""Receiving: route -> verify -> store -> 202, then a worker does the rest.

- ``views``: the per-actor and shared inbox POST (size, content type, JSON shape, HTTP
  signature, signer == actor or an FEP-8b32 proof, then an idempotent insert and 202), and
  the owner's GET of the inbox.
- ``intake``: group commit: the rows of concurrent requests stored by one statement, each
  202 sent after the commit that holds its row; the parsed activities are left for the worker.
- ``node.core.inbox_items`` (shared ground): the ``inbox_items`` table: insert-once by
  activity id, claim under a lease, done / retry-at / dead with the error kept.
- ``worker``: claims due items, fetches what a handler needs before any transaction, runs a
  batch's handlers in one transaction (with a deadline; when one fails, again item by item),
  then what they asked to do once for the whole batch (``ctx.once_per_batch``: a batch's
  ballots in one statement, a poll's served counts rebuilt once, a decision's receipts), and
  marks the items done in the same commit.
- ``handlers``: the pipeline's own handlers (Follow, Undo, Accept / Reject of our Follow,
  Create, Delete, Update) and the dispatch through the application's registry; then the
  "after handled" hooks and the relay rules, in the same transaction (:func:`run_handler`).
  Everything without a handler is kept for the owner to read.
- ``relay``: what the node publishes to its own followers because of a received activity,
  recorded once by its id.
- ``ratelimit``: per-host and per-actor limits on what the inbox accepts.

The rooms' handlers live in their rooms: ``node.membership.inbound`` (Join, Leave),
``node.polls.inbound`` (ballots), ``node.content.inbound`` (replies, likes, boosts, answers
to an Event), ``node.moderation.inbound`` (Flag).
"""
