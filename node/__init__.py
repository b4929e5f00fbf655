"""The node as a program: configuration, storage, local actors, the read side, pages, CLI.

- ``config``: TOML into frozen dataclasses; unknown keys and bad values are refused with
  the key named. ``app.make_app(config)`` builds the aiohttp application; resources open
  and close in ``cleanup_ctx`` (database, keys, the one ClientSession, workers).
- ``appkeys``: every typed ``web.AppKey`` in one place.
- ``db`` and ``schema``: one SQLite file in WAL mode, one serialised writer (``transaction``),
  one reader; numbered migrations. Each table's SQL lives as small functions beside the
  module that owns it (``keys``, ``objects``, ``follows``; ``inbox.store``,
  ``outbox.store``, ``federation.actors``), so a PostgreSQL store can slot in later.
- ``keys``: RSA-2048 and Ed25519 keys of the local actors, made on first start.
- ``actors``: the chapter (``Group``) and the instance actor (``Application``) documents.
- ``discovery``: WebFinger, host-meta, NodeInfo 2.0/2.1. ``activitypub``: actors,
  collections and objects with content negotiation and optional authorized fetch.
  ``pages``: the public HTML. ``errors``: JSON refusals. ``auth``: the admin token.
- ``background``, ``retry``, ``clock``: worker loops, the retry policy as a pure
  function, and an injectable clock.
"""
