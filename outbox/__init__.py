"""Publishing: compose, address, record with its deliveries in one transaction, deliver.

- ``views``: ``POST`` to the chapter's outbox with the admin token (ActivityPub section 6).
- ``compose``: the composers through the application's registry: Create (of a Note or an
  Article here), Update, Delete, Follow, Undo, Accept, Reject, Add, Remove; the node assigns
  ids and ``published``, sanitises HTML, and addresses public + followers unless told otherwise.
- ``service``: compose, resolve recipients, then apply the changes and record the activity
  with its deliveries in one transaction (``node.core.publish``); callable from pages too.
- ``addressing``: addressing -> inboxes (followers become their shared inboxes, once each;
  a room's own collections, such as members, through ``registry.audiences``).
- ``delivery``: the worker: signs at send time, one request in flight per host, a global
  cap, retries with backoff and jitter, Retry-After, per-host pauses, dead with a reason.

The rooms' composers live in their rooms: ``node.polls.outbound`` (Question, Survey and the
guards that keep them fixed), ``node.content.outbound`` (news and blog kinds, Minutes,
Event), ``node.membership.outbound`` (the members collection, answers to a Join),
``node.moderation.outbound`` (Block, Flag).
"""
