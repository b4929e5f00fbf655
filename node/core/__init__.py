"""Shared ground: what every room and both pipelines stand on. It knows no feature.

- ``config``: TOML into frozen dataclasses; unknown keys and bad values are refused by name.
- ``db``: one SQLite file in WAL mode, one serialised writer (``transaction``), one reader.
  ``migrations``: the runner, applying each room's migrations (numbered per room) that its
  ledger ``schema_migrations`` lacks;
  ``schema``: the shared tables (keys, objects, follows, remote actors, inbox items,
  deliveries).
- ``registry``: what runs in one application (handlers, composers, guards, hooks), filled by
  each room's ``register(registry)``; ``appkeys``: the typed ``web.AppKey``s of the shared
  ground (a room's own keys live in the room: its worker's, its sessions').
- ``clock``, ``urls``, ``keys`` (the local actors' RSA and Ed25519 keys), ``actors`` (the
  chapter's ``Group``, the instance actor, members' ``Person`` documents, signers).
- ``objects``: what local actors published, served at their ids; ``follows``: who follows
  whom; ``vocabulary``: the one ``@context`` (one document, every room's terms, so a peer
  reads any of them), the address fields and the activities every room builds on (a room's
  own documents are built in the room: ``node.branches.documents``,
  ``node.decisions.documents``). ``urls``: the actor's addresses and its collections by name
  (``Urls.collection``: a room names its own, ``node.branches.paths``).
- ``publish``: record a local activity with its delivery rows in the caller's transaction
  (the inbox answering a Follow, the outbox, the poll worker all use it); ``inbox_items`` and
  ``deliveries``: the two queues' tables, shared by the pipelines and the admin's metrics.
- ``remote_actors``: the SQL behind ``federation.actors``' store interface.
- ``processes``: a node served by several processes on PostgreSQL: which workers each runs,
  how nothing is done twice (claims, leases, ``Store.exclusive``), how they wake each other,
  and what each keeps to itself.
- ``serving``: content negotiation, collection pages, signed GETs, reading a JSON body;
  ``errors``: JSON refusals; ``auth``: the admin token; ``rendering``: Jinja2 pages over the
  rooms' templates; ``sanitize``, ``background``, ``retry``, ``logs``, ``backup``.
"""
