"""The node: shared ground, one room per feature, and the web shell over them.

```
node/core/        shared ground: config, database and migrations, registry, clock, URLs, keys,
                  stored objects, recording a local activity with its deliveries
node/membership/  members, accounts, sessions; Join / Leave; the members collection
node/polls/       polls and surveys, ballots from Mastodon and the pages, the poll worker
node/content/     news, blogs, minutes, events; replies, likes, boosts
node/moderation/  blocks and reports
node/branches/    the branch tree: links, signed reports, relaying
node/decisions/   proportional decisions down the tree and signed tallies up (above the rooms it builds on)
node/web/         the app factory, discovery, the ActivityPub read side, pages, metrics
node/cli.py       ``chapterhouse serve | backup | restore | link | unlink``
```

Layers point one way (``lint-imports`` checks it in ``make test``): ``federation`` <-
``node.core`` <- ``inbox``, ``outbox`` (which never import each other) <- ``node.membership``
<- the other rooms (which never import each other) <- ``node.decisions`` (the tree and the
polls together) <- ``node.web`` <- ``node.cli``. A room
holds its model and SQL (with its migrations in ``schema.py``), its inbound handlers
(``inbound``), its outbound composers (``outbound``), its pages and templates, and a
``register(registry)`` that puts them in the application's registry.
"""
