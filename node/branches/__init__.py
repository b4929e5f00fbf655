"""The branch tree: chapters, regions, nations and the international, linked by their admins.

**Linking** is a signed handshake. The child's admin POSTs ``Join`` of the parent's Group
actor to the chapter's outbox (``outbound``: refused there with the reason when a rule says
no); at the parent a Join from a node (a Group with a ``level``) is a link request
(``inbound``: a Person's Join stays a membership request), refused at once with a ``Reject``
whose ``content`` says why when it breaks a rule (``rules``: a higher level above, no cycle,
one parent), accepted at once from ``[tree] accept_children_from``, else listed at
``GET /admin/children`` and in the inbox for the admin's ``Accept`` / ``Reject`` of the Join's
id (the rules are checked again at the Accept, with a fresh walk up the parent's ancestors
through actor documents: ``ancestry``). A reason names each branch by its display name and
place, never its actor URL; it travels in English (the ``Reject``'s ``content``, the JSON) and
is kept as a message beside that text (``link_store``), so the dashboard shows it in the
reader's language. Linked, both sides record both follows in the same
transaction (``linking``: the parent follows the child and the child the parent, without a
second Follow exchange, and the link's end removes exactly those), the parent's actor shows
``children`` (``views``) and the child's ``parent`` (``registry.actor_additions``). ``Leave``
of the parent (from the child) or ``Remove`` of a child from the children collection (from
the parent) unlinks both sides at once.

**Reports** (``reports``: made, checked and kept; ``report_sending``: sent to the parent): every node sends its parent a ``BranchReport`` of its
facts (level, name, place, founding date, active members, parent) with a FEP-8b32 proof from
its Ed25519 key, on linking and when the facts change, at most once per
``report_interval_seconds``. A parent checks the proof against the origin's Multikey before
the inbox's transaction (a ``registry.preparers`` entry), keeps the newest report per node of
its subtree, and forwards each unchanged to its own parent, so the top holds every node's own
signed statement (``tree``: ``GET <actor>/tree``; ``pages``: the node's place and founding date
among its home page's facts and, with children, the newest chapters below and the tree with
member counts, ``/tree`` as a page, the levels above a node named on its home page, and how to find
a chapter on a node that is not one; ``names``: a branch shown by its display name and place,
never a raw actor URL; ``admin``: the dashboard's panel to link, leave, accept, reject and
remove). When a branch is unlinked, its reports are dropped at every level above (a ``Remove``
told upward).

**Relaying** (``relaying``, a ``registry.relay_rules`` entry): a public post of a linked child,
or one a linked child relays from its subtree (checked against its author before the
transaction: its own proof, or the origin's copy fetched by id), is announced once to this node's followers
(with ``audience`` = the origin chapter), keyed by the post's id in the same transaction as
the received activity; followers on FEP-1b12 software (``software``: their host's NodeInfo,
fetched once when they follow) and the parent get the activity itself.

**Members' posts** (``member_posts``: a ``registry.relay_rules`` entry and an ``Announce``
preparer): a chapter boosts its members' blog posts (an ``Announce`` of the post's id); a parent
fetches such a post from the host it was published on (the child's, or the ``audience`` node's
of its subtree), checks that it is that post, public and attributed to an actor of that host,
keeps it with the subtree's posts and announces it once to its followers and its parent, which
check it again the same way. A post that fails is refused with the reason (a dead inbox item). The
chapter's ``Undo`` of its boost (the member deleted the post) takes it back at every level.

**On the home page of a region or the international** (``subtree_posts``): the subtree's public
news, blog posts, minutes and events, kept as they arrive (the same ones relaying relays), each
with its chapter's name and a link to the original.

Tables (``schema``, migrations 10, 11 and 13): ``branch_links``, ``branch_reports``,
``branch_report_sent``, ``peer_software``, ``branch_subtree_posts``.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from node.branches import (
    admin,
    inbound,
    link_store,
    member_posts,
    outbound,
    pages,
    paths,
    relaying,
    report_sending,
    schema,
    software,
    subtree_posts,
    views,
)
from node.core.appkeys import CONFIG, DATABASE, URLS
from node.core.registry import Registry


async def actor_part(app: web.Application) -> dict:
    """The chapter actor's place in the tree: its children collection, and its parent while linked."""
    part: dict = {"children": paths.children(app[URLS], app[CONFIG].node.name)}
    parent = await link_store.linked_parent(app[DATABASE].reader)
    if parent is not None:
        part["parent"] = parent.peer_id
    return part


def register(registry: Registry) -> None:
    registry.feature(
        "branches",
        templates=Path(__file__).parent / "templates",
        migrations=schema.MIGRATIONS,
        requires=("membership",),
    )
    inbound.register(registry)
    outbound.register(registry)
    pages.register(registry)
    subtree_posts.register(registry)
    registry.admin_sections.append(admin.admin_sections)
    registry.relay_rules.append(relaying.relay_subtree)
    registry.relay_rules.append(member_posts.relay_boost)
    registry.before("Announce", relaying.prepare_relayed)
    registry.before("Announce", member_posts.prepare)
    registry.before("Follow", software.learn)
    registry.after("Follow", software.remember)
    registry.actor_additions.append(actor_part)


def setup(app: web.Application) -> None:
    views.add_routes(app)
    pages.add_routes(app)
    admin.add_routes(app)
    app.cleanup_ctx.append(report_sending.reporter_context)
