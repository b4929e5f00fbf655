"""Membership: who belongs to the chapter, in which role, and who is signed in on its pages.

Flow: a remote actor's ``Join`` (or, where the config says so, its ``Follow``) files a
request (``inbound``); the admin answers with ``Accept`` / ``Reject`` of the Join or ``Add`` /
``Remove`` on the members collection, from the outbox or the admin's page (``outbound``,
``pages``); a local person signs up for a ``Person`` account (``accounts``: argon2id-hashed
passwords) and signs in (``sessions``: a cookie holding a token whose hash we keep, with a
CSRF token for forms). The members collection addresses members-only posts (the registry's
``audiences["members"]``); polls and decisions count only active members (``members``).

- ``members``: the ``members`` table (chapter, actor, state, role) and its queries.
- ``accounts``: local member accounts (Person actors on this node); a new display name goes out
  as an ``Update`` of the Person, signed by the member, to their followers and the chapter's.
- ``sessions``: signed-in people, roles on the pages, the CSRF check, safe ``next`` paths.
- ``inbound`` / ``outbound``: Join, Leave; Add / Remove on the members collection, Accept /
  Reject of a Join. ``pages``: joining, sign-in, the admin's member list, one's own account.
- ``parts``: the newest members on the home page; requests awaiting approval on the admin dashboard.

A page shows a member by name and handle (``pages.people``), never by a raw actor URL: a local
account by its display name and ``@user@host``; a remote member by the name and
``preferredUsername`` of its actor document as the remote actor cache holds it (the cache has it
from when the member was fetched: the admin's Add fetches the actor, a Join's sender is fetched
by the inbox), else by ``@user@host`` made from the actor id (``pages.handle_from_id``). A page
never fetches a member.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from node.core import retention
from node.core.i18n import N_
from node.core.registry import Registry
from node.core.urls import Urls
from node.membership import accounts, inbound, members, outbound, pages, parts, schema, sessions


async def _viewer_context(request: web.Request) -> dict:
    return {"viewer": await sessions.viewer(request)}


async def _is_account(reader, urls: Urls, username: str) -> bool:
    """A member's account is an actor of this node once approved (a waiting sign-up is unseen)."""
    return await accounts.federated_account_username(reader, urls, urls.actor(username)) is not None


def register(registry: Registry) -> None:
    registry.feature("membership", templates=Path(__file__).parent / "templates", migrations=schema.MIGRATIONS)
    inbound.register(registry)
    outbound.register(registry)
    registry.audiences["members"] = members.member_inboxes
    registry.local_actors.append(_is_account)
    registry.page_context.append(_viewer_context)
    registry.home_parts.append(parts.home_parts)
    registry.admin_sections.append(parts.admin_sections)
    registry.nav_links.append((60, "/members", N_("Members")))


def setup(app: web.Application) -> None:
    pages.add_routes(app)
    retention.add_step(app, "expired sessions", sessions.prune_expired)
