"""Receiving: route -> verify -> store -> 202, then a worker does the rest.

- ``views``: the per-actor and shared inbox POST (size, content type, JSON shape, HTTP
  signature, signer == actor or an FEP-8b32 proof, then an idempotent insert and 202), and
  the owner's GET of the inbox.
- ``store``: the ``inbox_items`` table: insert-once by activity id, claim under a lease,
  done / retry-at / dead with the error kept.
- ``worker``: claims due items, fetches what a handler needs before any transaction, runs
  the handler and marks the item done in one transaction with a timeout.
- ``handlers``: one dispatch table from activity type to handler (Follow, Undo, Accept,
  Reject, Delete, Update; everything else is kept for the owner to read).
"""
