"""Receiving: route -> verify -> store -> 202, then a worker does the rest.

- ``views``: the per-actor and shared inbox POST (size, content type, JSON shape, HTTP
  signature, signer == actor or an FEP-8b32 proof, then an idempotent insert and 202), and
  the owner's GET of the inbox.
- ``intake``: group commit: the rows of concurrent requests stored by one statement, each
  202 sent after the commit that holds its row; the parsed activities are left for the worker.
- ``store``: the ``inbox_items`` table: insert-once by activity id, claim under a lease,
  done / retry-at / dead with the error kept.
- ``worker``: claims due items, fetches what a handler needs before any transaction, runs
  the handler and marks the item done in one transaction with a timeout.
- ``handlers``: one dispatch table from activity type to handler (Follow, Undo, Accept,
  Reject, Delete, Update, Join, Leave; everything else is kept for the owner to read).
- ``membership``: a remote Join files a membership request, Leave ends it, and (where the
  config says so) a Follow asks to become a member too.
- ``votes``: ballots on the chapter's polls (``REPLY_HANDLERS["Question"]``), in Mastodon's
  and Takahē's shapes, counted by ``node.polls``.
- ``interactions``: replies to local posts kept as their thread (``REPLY_HANDLERS["*"]``),
  Like / Announce counted and undone, a remote Delete / Update of a reply, and answers to an
  Event (``ANSWER_HANDLERS["Event"]``).
"""
