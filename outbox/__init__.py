"""Publishing: compose, address, record with its deliveries in one transaction, deliver.

- ``views``: ``POST`` to the chapter's outbox with the admin token (ActivityPub section 6).
- ``compose``: one composer per activity type (Create, Update, Delete, Follow, Undo, Accept,
  Reject, Add, Remove) in a dispatch table; the node assigns ids and ``published``,
  sanitises HTML, and addresses public + followers unless told otherwise.
- ``membership``: Add / Remove with the members collection as target, and Accept / Reject of
  a remote Join (``compose`` dispatches Add / Remove on their target collection).
- ``addressing``: addressing -> inboxes (followers become their shared inboxes, once each).
- ``publish``: stores the activity (and a new object) and one delivery row per distinct
  inbox in the caller's transaction.
- ``store``: the ``deliveries`` and ``host_backoff`` tables.
- ``delivery``: the worker: signs at send time, one request in flight per host, a global
  cap, retries with backoff and jitter, Retry-After, per-host pauses, dead with a reason.
- ``polls``: the composers of ``Question`` and ``Survey`` (registered in ``OBJECT_COMPOSERS``)
  and the guards that keep a poll's options, their order and its kind fixed after publishing.
- ``content``: news and blog posts (``postKind``), ``Minutes`` (an Article announced by a
  Note; edited and deleted together, through ``UPDATE_COMPOSERS`` / ``DELETE_COMPOSERS``) and
  ``Event`` (validated times and place).
"""
