"""The node as a program: configuration, storage, local actors, the read side, pages, CLI.

- ``config``: TOML into frozen dataclasses; unknown keys and bad values are refused with
  the key named. ``app.make_app(config)`` builds the aiohttp application; resources open
  and close in ``cleanup_ctx`` (database, keys, the ClientSessions for deliveries and fetches, workers).
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
- ``members``: who belongs to the chapter, in which role; ``accounts``: local member
  accounts (Person actors with a scrypt-hashed password); ``pages_members``: joining,
  password sign-in, the admin's member list, one's own account.
- ``polls``: polls and surveys, their ballots and the one counting code (Mastodon's rules);
  ``poll_worker``: coalesced ``Update(Question)`` and closing on time; ``poll_results``:
  results documents; ``pages_polls``: voting, results, opening polls and surveys.
- ``content``: wires issue 3's content in: ``posts`` (news and blog kinds, the profile's
  lists), ``minutes`` (the structured record, its Article and announcement Note), ``events``
  (Event fields, members' answers), ``interactions`` (replies, likes, boosts);
  ``object_views`` (an object as served, with live counts), ``object_collections``
  (``replies`` / ``likes`` / ``shares``), ``pages_content`` (their pages and the answer form).
- ``serving``: the HTTP server's bounds (connections, slow headers and bodies);
  ``throttle`` and ``passwords``: sign-in and sign-up throttles, guessable passwords refused.
- ``background``, ``retry``, ``clock``: worker loops, the retry policy as a pure
  function, and an injectable clock.
"""
