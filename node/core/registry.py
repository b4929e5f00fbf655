"""The registry: what runs in one application, filled by each feature's ``register(registry)``.

``make_app`` makes one :class:`Registry` per application and hands it to the pipelines'
and the features' ``register`` functions in order; nothing is kept at module level, so two
apps in one process (the tests) never share a handler, and a reader finds what runs by
reading the ``register`` functions. The pipelines look their dispatch up here:

Inbox (``inbox.handlers``, run by ``inbox.worker`` inside one transaction per item):
  ``preparers``         by activity type ("*": all): what to fetch from the network BEFORE the
                        transaction (handlers never touch the network); each returns a dict merged
                        into ``ctx.prepared`` (e.g. a report's origin actor and its verified proof,
                        a follower's server software from its NodeInfo)
  ``inbound``           activity type -> handler (Follow, Undo, Create, Join, Flag, Like, ...)
  ``undo_handlers``     type of the undone activity -> what reverses it
  ``answer_handlers``   type of the LOCAL object an Accept / Reject / TentativeAccept answers
  ``reply_handlers``    type of the local parent a Create replies to ("*": any other)
  ``remote_delete_hooks`` / ``remote_update_hooks``: stores of remote content that forget or
                        refresh their copy when its author deletes or edits it
  ``after_handled``     hooks run after any incoming activity's handler, in the same
                        transaction (e.g. count a ballot toward a proposal, file a follower
                        as a membership request)
  ``relay_rules``       "what to relay": given a handled activity, the activity this node
                        publishes to its own followers in turn (an Announce), or a list of
                        ``inbox.relay.Relay`` (an activity and the inboxes it goes to), recorded
                        in the same transaction so a retry never doubles it

Outbox (``outbox.compose``, run by ``outbox.service``):
  ``composers``          activity type -> composer (Create, Update, ..., Block, Flag)
  ``object_composers``   what a Create publishes, by object type (Note, Question, Event, ...)
  ``update_composers`` / ``delete_composers``: kinds whose edit or removal changes more than
                         one stored object (minutes), by the stored object's kind
  ``update_guards``      what an Update may not change, by the stored object's type
  ``undo_composers``     what an Undo can take back, by the original activity's type
  ``collection_composers`` Add / Remove by their target collection's name in ``Urls``
  ``answer_composers``   Accept / Reject of something other than a Follow (a Join), tried in
                         order; the first that recognises the answered activity composes it
  ``audiences``          a local collection's name -> the inboxes it addresses (members)
  ``after_published``    ``hook(app, activity)`` after a local activity is committed (the poll
                         worker wakes for a new question's end time)

Read side and pages:
  ``actor_additions``    what rooms add to the chapter's actor document (the branch tree's
                         ``children`` and ``parent``): ``await add(app)`` -> dict
  ``local_actors``       lookups of local actors beyond the chapter and the instance actor
                         (members' Person accounts)
  ``page_context``       context every page gets (the signed-in viewer)
  ``local_vote``         how a member's vote on the pages is counted: the polls room's
                         ``cast_local_vote``; the decisions room wraps it (the frozen roll, a leaf
                         and a receipt for a vote on a proposal's copy)
  ``object_page_paths`` / ``object_page_context`` / ``profile_context``: what features add
                         (``object_page_paths``: by type, ``path(id, document)`` of the object's
                         own page; a later room may wrap an earlier one's, as decisions do polls')
                         to the pages of the shell (``profile_context``: plain context for the
                         home page's header, e.g. the tree room's place and founding date)
  ``nav_links``          (order, path, label msgid) of the site's main navigation
  ``home_parts``         the home page's sections: ``hook(request, shown) -> [Part]``; ``shown``
                         holds the ids already on the page and each part adds its own, so no
                         item is shown twice (latest news, blogs, minutes, events, polls,
                         newest members; the tree room adds "newest chapters below us" here)
  ``admin_sections``     the admin dashboard's panels: ``hook(request) -> [Part]`` (follow
                         requests, members and roles, blocks and reports, delivery health;
                         the tree room adds its children and parent links here)
  ``account_parts``      a member's own account page's sections: ``hook(request, username) -> [Part]``
                         (their posts from the content room, their votes with receipts from decisions)
  ``poll_list_parts``    what other rooms add to the Polls page: ``hook(request) -> [Part]`` (the
                         organisation's open decisions, on a node that holds no copy of them)
  ``outcome_words``      rooms that say what a decision's outcome means for a proposal they
                         recognise (a project's vote): ``said(document, result, fmt)`` (the signed
                         proposal, the signed outcome's ``result``, a ``node.core.i18n.Formatter``) ->
                         a dict or None; the dict has ``status`` (a word for data attributes),
                         ``headline`` (a message: the result in one sentence, the news item's title),
                         ``lines`` (messages: its figures), ``href`` (where it is told more), ``json``
                         (the same as data, for ``/results`` as JSON) and ``rule`` (a message: the rule
                         that decided it, shown among the decision's rules). The
                         decisions room asks them in order (the first answer counts) for its news
                         item, its pages and ``/results``, without importing the room that answers
  ``compose_links``      (order, path, label msgid) of what secretaries and admins can publish
  ``template_dirs``      each room's templates
  ``migrations``         each room's schema migrations, numbered per room and stamped with the
                         room's name by :meth:`Registry.feature` (``node.core.migrations`` applies
                         each once and records it in its ledger)

This list is the one description of the registry (the README points here); a test checks that
it names every field of :class:`Registry`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from node.core.migrations import Migration

Hook = Callable[..., Awaitable[Any]]


class RegistryError(RuntimeError):
    """The application's features were given in an order (or a set) that cannot work; the message says why."""


@dataclass(frozen=True)
class Part:
    """A section of a page made of rooms' parts (home page, admin dashboard): a template and its context.

    Parts are shown in ``order`` (lower first); ``wide`` parts span the page's full width.
    """

    order: int
    template: str
    context: dict = field(default_factory=dict)
    wide: bool = False


@dataclass
class Registry:
    features: list[str] = field(default_factory=list)
    # inbox
    preparers: dict[str, list[Hook]] = field(default_factory=dict)  # by activity type; "*": all
    inbound: dict[str, Any] = field(default_factory=dict)
    undo_handlers: dict[str, Hook] = field(default_factory=dict)
    answer_handlers: dict[str, Hook] = field(default_factory=dict)
    reply_handlers: dict[str, Hook] = field(default_factory=dict)
    remote_delete_hooks: list[Hook] = field(default_factory=list)
    remote_update_hooks: list[Hook] = field(default_factory=list)
    after_handled: dict[str, list[Hook]] = field(default_factory=dict)  # by activity type; "*": all
    relay_rules: list[Hook] = field(default_factory=list)
    # outbox
    composers: dict[str, Hook] = field(default_factory=dict)
    object_composers: dict[str, Hook] = field(default_factory=dict)
    update_composers: dict[str, Hook] = field(default_factory=dict)
    delete_composers: dict[str, Hook] = field(default_factory=dict)
    update_guards: dict[str, Callable[[dict, dict], None]] = field(default_factory=dict)
    undo_composers: dict[str, Hook] = field(default_factory=dict)
    collection_composers: dict[str, Hook] = field(default_factory=dict)
    answer_composers: list[Hook] = field(default_factory=list)
    audiences: dict[str, Hook] = field(default_factory=dict)
    after_published: list[Callable[[Any, dict], None]] = field(default_factory=list)
    # read side and pages
    actor_additions: list[Hook] = field(default_factory=list)
    local_actors: list[Hook] = field(default_factory=list)
    page_context: list[Hook] = field(default_factory=list)
    local_vote: Hook | None = None
    object_page_paths: dict[str, Callable[[str, dict | None], str]] = field(default_factory=dict)
    object_page_context: list[Hook] = field(default_factory=list)
    profile_context: list[Hook] = field(default_factory=list)
    nav_links: list[tuple[int, str, str]] = field(default_factory=list)
    home_parts: list[Hook] = field(default_factory=list)
    admin_sections: list[Hook] = field(default_factory=list)
    account_parts: list[Hook] = field(default_factory=list)
    poll_list_parts: list[Hook] = field(default_factory=list)
    outcome_words: list[Callable[..., Any]] = field(default_factory=list)
    compose_links: list[tuple[int, str, str]] = field(default_factory=list)
    template_dirs: list[Path] = field(default_factory=list)
    migrations: list[Migration] = field(default_factory=list)

    def after(self, kind: str, hook: Hook) -> None:
        """Run ``hook(ctx, activity)`` after every handled activity of ``kind`` ("*": any)."""
        self.after_handled.setdefault(kind, []).append(hook)

    def before(self, kind: str, hook: Hook) -> None:
        """Run ``hook(pctx, activity)`` before the transaction of every activity of ``kind`` ("*": any)."""
        self.preparers.setdefault(kind, []).append(hook)

    def feature(
        self,
        name: str,
        *,
        templates: Path | None = None,
        migrations: Iterable[Migration] = (),
        requires: Iterable[str] = (),
    ) -> None:
        """Note a feature as registered, with its templates folder and its migrations (each
        stamped with the feature's name as its room, unless it names another). ``requires``: the
        features whose handlers this one builds on (it wraps them), which must be registered first;
        an application built in the wrong order fails at start with a sentence, never a KeyError."""
        if name in self.features:
            raise ValueError(f"the feature {name!r} is registered twice")
        missing = [needed for needed in requires if needed not in self.features]
        if missing:
            raise RegistryError(
                f"the feature {name!r} builds on {', '.join(map(repr, missing))}, which must be registered"
                f" before it: list {' and '.join(missing)} earlier in the features given to make_app"
            )
        self.features.append(name)
        if templates is not None:
            self.template_dirs.append(templates)
        self.migrations.extend(m if m.room else replace(m, room=name) for m in migrations)
