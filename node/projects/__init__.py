"""Projects: members work together on proposals, gather signatories, and put them to the vote against a default.

A **project** belongs to this node (a chapter, a region or the international): its decisions
concern the members of this node's subtree. An active member of the subtree starts one with a
title, an aim and the **default** it is voted against (the seed's "disband"; in general "no
change"); with ``[projects] approval_required`` it waits for the admin's approval first. Anyone
of the subtree may join or leave it (on the page, or from the fediverse with ``Join``/``Leave``
of the project's id: ``inbound``).

How it federates, and why. A project and each of its drafts is an ``Article`` this node's
Group actor publishes to its followers (``documents``), served at its id and shown by
Mastodon as a titled link; a draft's new revision is an ``Update`` of its Article. So the
project reaches the people who already follow the node (members follow their chapter and its
levels), one actor keeps one key and one followers list, and nobody has to follow each
project to hear of it. A reply to the project's Article (from the page or from Mastodon) is
its **thread**, a reply to a draft is a **comment** on it: both are the thread machinery every
local object has (``node.content.interactions``), so nothing new is needed to receive them.

**Drafts** are proposals written together: every revision is kept (``project_revisions``) with
its author and time, each viewable, with a diff between any two (``diff``). A project may hold
several competing drafts; writing and revising them takes joining the project, signing does not.
The pages (``pages``) and what they do (``actions``) are for this node's own signed-in members;
what the pages and the inbox make is made by one code path (``making``), in the caller's transaction.

**Signatories.** A member of the subtree signs a draft, and may withdraw the signature until
the draft goes to the vote: on the page, or from the fediverse with a ``Join`` of the draft (its
``Leave`` withdraws; always counted), and where ``[projects] like_signs`` is on with a ``Like`` of
the draft too (its ``Undo`` withdraws). Likes are off by default:
Mastodon users like lightly, and a signature puts a proposal to a whole organisation's vote. A draft shows its signatories by name and count.
Only members count: who is a member of the subtree is asked down the tree (``subtree``), a
chapter being the one authority on its members, and a stranger's signature is kept in the
inbox with the reason, never counted. When a draft reaches the quorum
(``[projects] signatory_quorum``: a share of the subtree's members, or a count; ``rules``) the
admin is told on the dashboard, and it goes to the vote by the admin's button or at once
(``[projects] put_to_vote``).

**The vote** (``voting``): the project's qualifying drafts go to the whole electorate of this
level as one decision of the decisions room (down the tree, chapter copies, frozen rolls,
receipts, signed tallies up): a ``Survey`` with one ``oneOf`` question per draft, "this draft or
the default?", so members vote from a Mastodon poll. The draft with the largest majority over
the default wins, if any has one (more "this draft" than "the default" among those who answered
its question; a tie between drafts goes to the one with more votes for it, then to the earlier
draft). After the outcome the project is decided, the winning draft is marked adopted with its
final text frozen (its last revision), and the adopted text is linked from the node's home page.

**From the fediverse** (``collection``, ``authoring``, ``inbound``): members of the subtree with
no account here (on Mastodon, bovine, or as the ``Person`` of their chapter's node) do all of it by
ActivityPub, addressed to this node's actor:

- ``GET <node actor>/projects`` (the actor names it: ``projects``) is a public ``OrderedCollection``
  of the published projects (open, voting, decided), newest first, paged; each project's Article
  names its ``drafts`` collection (``<project id>/drafts``) and its ``defaultOption``.
- Start: ``Create`` of an ``Article`` (or ``Note``, ``Page``) by the member, ``name`` the title,
  ``content`` the aim (HTML, sanitised to text), ``defaultOption`` the default (required), and
  ``target`` this node's ``projects`` collection (FEP-400e's spirit: an object created into
  someone else's collection). Draft: the same with ``target`` a project's id (the member joined
  it: ``Join`` of the project). Revision: ``target`` a draft's id (refused once the vote began).
- Sign: ``Join`` of a draft's id; withdraw: ``Leave`` of it.
- Answers: what is made is made exactly as from the pages (the node's own Article or Update,
  published to its followers with the row); the member's object id is kept (``source``), so a
  Create delivered again makes nothing twice. A member is answered with an ``Accept`` of their
  activity whose ``result`` is the project's or the draft's id; a refusal (the project not open,
  the vote begun, a text too long or empty, a wrong shape) keeps the activity dead in the inbox
  with the rule's message and sends the member a ``Reject`` with that message as ``content``. A
  stranger's activity is kept dead with the reason and never answered.

**From the levels below** (``above``, ``above_pages``, ``acting``, ``above_acts``): a chapter's
member has no account at the region or the international, so on a node with a parent
``/projects`` also lists the projects of each level above (read from their ``projects``
collections with the node's signed fetch, briefly cached; a level that cannot be reached says
so), and a page per project there lets the member take part from their own node: start a
project at a level above, join or leave it, write and revise drafts, sign and withdraw, reply
in its thread. Each act goes out as the member's ``Person`` to the project's node (the same
activities a Mastodon user would send), and is kept with the node's answer (``Accept`` /
``Reject`` reaching the member's inbox), so the pages show what was sent, when, and what came of it.

Tables (``schema``): ``projects``, ``project_members``, ``project_drafts``, ``project_revisions``,
``project_signatures`` (``store``), ``project_subtree_answers`` (``subtree``), ``project_acts``
(``above_acts``).
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from node.core.registry import Registry
from node.projects import above_acts, above_pages, authoring, collection, inbound, pages, schema, subtree, voting


def register(registry: Registry) -> None:
    registry.feature(
        "projects",
        templates=Path(__file__).parent / "templates",
        migrations=schema.MIGRATIONS,
        requires=("content", "branches", "decisions"),
    )
    pages.register(registry)
    inbound.register(registry)
    authoring.register(registry)
    registry.actor_additions.append(collection.actor_part)
    voting.register(registry)
    above_acts.register(registry)


def setup(app: web.Application) -> None:
    above_pages.setup(app)
    pages.add_routes(app)
    subtree.add_routes(app)
    collection.add_routes(app)
    voting.setup(app)
