"""The web shell: the application factory and what belongs to the node as a whole.

``app.make_app(config, features=...)`` makes the registry (the pipelines' handlers and
composers, then each room's ``register``), opens resources in ``cleanup_ctx`` order (the
database with every room's migrations, keys, blocks, the one ``ClientSession``, the inbox
and delivery workers, the intake, then each room's own background work), and adds routes:
``discovery`` (WebFinger, host-meta, NodeInfo), ``activitypub`` (actors, their collections,
every published object with content negotiation), ``pages`` (the home page made of the
rooms' ``home_parts``, an object's page, admin sign-in), ``site`` (the stylesheet, the theme
from ``[node] colour``, the progressive script, the language switcher), ``admin`` (the
dashboard made of the rooms' ``admin_sections``, with the shell's own panels: the chapter's
summary kept by ``settings``, follow requests, delivery health and retry), ``metrics``
(Prometheus and the admin's queue view), and each room's ``setup``. Only the CLI and the
tests import this package.
"""
