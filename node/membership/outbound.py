"""Membership changes the chapter publishes (client-to-server, and the admin's pages).

- ``Add`` with ``target`` = the members collection admits someone: a remote actor (its id,
  fetched through the remote actor cache for its inboxes) or a local account (its actor
  id). An optional ``role`` (``chapterhouse:role``: admin, secretary, member) sets the
  role; ``Add`` of an active member with another role changes the role. Admission without
  a role makes a plain member, even for someone who held another role before.
- ``Remove`` with the same target ends a membership (state ``removed``) or refuses a
  pending request. A removed member's later votes do not count.
- ``Accept`` / ``Reject`` of a remote ``Join`` (by the Join's id) approve or refuse that
  request, with the Join embedded as Mastodon embeds a Follow.

Each change is addressed to the member concerned only (a remote member learns it; the
activity is stored as a direct one, served to that member's signed GET) and is recorded
like every outbox activity. :func:`register` puts the members collection's Add / Remove and
the answer to a Join in the registry's outbox tables.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from federation import jsonio
from federation.activitystreams import id_of
from federation.client import FetchError
from node.core import inbox_items as inbox_store
from node.core import vocabulary
from node.core.clock import to_epoch
from node.core.db import Connection
from node.core.errors import ApiError
from node.core.registry import Registry
from node.core.urls import INSTANCE_USERNAME
from node.core.vocabulary import context
from node.membership import accounts, members
from outbox.compose import Composed, OutboxContext

Change = Callable[[Connection], Awaitable[None]]


@dataclass
class MembershipChange:
    activity: dict
    save: Change


@dataclass(frozen=True)
class Candidate:
    """Whom a membership change is about."""

    actor_id: str
    is_local: bool
    inbox: str | None = None
    shared_inbox: str | None = None


async def _candidate(ctx: OutboxContext, actor_id: str) -> Candidate:
    """A local account or a remote actor (fetched: its inboxes are kept with the membership)."""
    if ctx.urls.is_local(actor_id):
        if await accounts.local_account_username(ctx.db.reader, ctx.urls, actor_id) is None:
            raise ApiError(404, f"{actor_id} is not a local account", hint="local members sign up at /join")
        return Candidate(actor_id, is_local=True)
    try:
        remote = await ctx.remote_actors.get_actor(actor_id)
    except FetchError as error:
        raise ApiError(
            422,
            f"could not fetch the actor {actor_id}: {error.reason}",
            hint="check the address; the actor's server must be reachable",
        ) from None
    return Candidate(remote.id, is_local=False, inbox=remote.inbox, shared_inbox=remote.shared_inbox)


def _role(activity: dict) -> str | None:
    role = activity.get("role")
    if role is not None and role not in members.ROLES:
        raise ApiError(400, f"role must be one of {', '.join(members.ROLES)}, not {role!r}")
    return role


def _activity(ctx: OutboxContext, kind: str, member_id: str, **extra) -> dict:
    return vocabulary.activity(
        kind,
        ctx.urls,
        actor=ctx.actor_id,
        now=ctx.now,
        context_value=context(),
        object=member_id,
        target=ctx.urls.members(ctx.username),
        **extra,
        to=[member_id],
    )


async def compose_member_change(ctx: OutboxContext, activity: dict, kind: str) -> MembershipChange:
    """Add (admit, or change the role of) or Remove a member of the chapter."""
    member_id = id_of(activity.get("object"))
    if member_id is None:
        raise ApiError(400, f"{kind} needs the id of an actor as its object")
    if member_id in (ctx.actor_id, ctx.urls.actor(INSTANCE_USERNAME)):
        raise ApiError(400, "the chapter and the server cannot be members of the chapter")
    chapter, now = ctx.username, to_epoch(ctx.now)
    existing = await members.get_member(ctx.db.reader, chapter, member_id)
    if kind == "Remove":
        if existing is None or existing["state"] not in ("active", "requested"):
            raise ApiError(404, f"{member_id} is not a member of the chapter, nor waiting to be")

        async def remove(conn: Connection) -> None:
            await members.set_state(conn, chapter, member_id, "removed", now)

        return MembershipChange(_activity(ctx, "Remove", member_id), remove)

    role = _role(activity)
    if existing is not None and existing["state"] == "active":
        if role is None or role == existing["role"]:
            raise ApiError(
                409,
                f"{member_id} is already a member, with the role {existing['role']}",
                hint="send a role to change it",
            )

        new_role = role  # a str here: None was refused above

        async def change_role(conn: Connection) -> None:
            await members.set_role(conn, chapter, member_id, new_role, now)

        return MembershipChange(_activity(ctx, "Add", member_id, role=role), change_role)

    candidate = await _candidate(ctx, member_id)
    role = role or "member"

    async def admit(conn: Connection) -> None:
        await members.upsert_member(
            conn,
            chapter=chapter,
            actor_id=candidate.actor_id,
            state="active",
            now=now,
            role=role,
            is_local=candidate.is_local,
            inbox=candidate.inbox,
            shared_inbox=candidate.shared_inbox,
        )

    return MembershipChange(_activity(ctx, "Add", candidate.actor_id, role=role), admit)


async def compose_join_answer(ctx: OutboxContext, activity: dict, kind: str) -> MembershipChange | None:
    """Accept or Reject of a received Join; None when the object is not a Join (a Follow, say)."""
    join_id = id_of(activity.get("object"))
    received = await inbox_store.get_by_activity_id(ctx.db.reader, join_id) if join_id else None
    if received is None or received["type"] != "Join":
        return None
    if received["state"] == "queued":  # not processed yet, or waiting to be tried again
        raise ApiError(
            409,
            f"{join_id} is still being processed by this node's inbox"
            + (f" (last try: {received['last_error']})" if received["last_error"] else ""),
            hint="answer it again in a few seconds; pending requests are listed at /admin/members",
            headers={"Retry-After": "5"},
        )
    join = jsonio.loads(received["body"])
    requester, chapter, now = received["actor_id"], ctx.username, to_epoch(ctx.now)
    if id_of(join.get("object")) != ctx.actor_id:
        raise ApiError(400, f"{join_id} asks to join {id_of(join.get('object'))}, not this chapter")
    existing = await members.get_member(ctx.db.reader, chapter, requester)
    if existing is None or existing["state"] != "requested":
        raise ApiError(
            404, f"{join_id} is not a pending membership request", hint="pending requests are listed at /admin/members"
        )
    answer = vocabulary.activity(
        kind, ctx.urls, actor=ctx.actor_id, now=ctx.now, context_value=context(), object=join, to=[requester]
    )

    async def decide(conn: Connection) -> None:
        if kind == "Accept":
            await members.upsert_member(
                conn, chapter=chapter, actor_id=requester, state="active", now=now, role="member"
            )
        else:
            await members.set_state(conn, chapter, requester, "removed", now)

    return MembershipChange(answer, decide)


def _composed(change: MembershipChange) -> Composed:
    return Composed(activity=change.activity, changes=[change.save])


async def compose_members_collection_change(ctx: OutboxContext, activity: dict, kind: str) -> Composed:
    """Add / Remove with the members collection as target."""
    return _composed(await compose_member_change(ctx, activity, kind))


async def compose_join_answer_if_join(ctx: OutboxContext, activity: dict, kind: str) -> Composed | None:
    """Accept / Reject of a pending Join; None for anything else (the outbox then answers a Follow)."""
    change = await compose_join_answer(ctx, activity, kind)
    return None if change is None else _composed(change)


def register(registry: Registry) -> None:
    registry.collection_composers["members"] = compose_members_collection_change
    registry.answer_composers.append(compose_join_answer_if_join)
