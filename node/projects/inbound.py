"""What the fediverse does to a project: Join and Leave it, sign a draft with a Like, withdraw with its Undo.

Registered by :func:`register` (after membership, branches and content, whose handlers it wraps):

- ``Join`` whose object is a project of this node: a member of the subtree joins it
  (``project_members``); any other Join goes on to the handler it wraps (a node's link
  request, a person's membership request).
- ``Leave`` of a project: the actor leaves it (anyone may leave what they joined); any other
  Leave goes on.
- ``Like`` of a draft, where ``[projects] like_signs`` is on: after content counts it as a like
  (``registry.after``), it signs the draft (``via="like"``, the Like's id kept, so its ``Undo``
  withdraws the signature: ``undo_handlers["Like"]`` wraps content's). The first signature that
  brings a draft to the quorum marks it qualified (``node.projects.rules.quorum``). With
  ``like_signs`` off a Like of a draft is a like and nothing more.

Who is a member of the subtree needs the network (``node.projects.subtree``): the preparer
:func:`prepare` asks before the inbox's transaction, and only for an activity that targets an
open project or draft of this node (one read first, so a Like of anything else costs nothing).
Its answer lands in ``ctx.prepared`` and is kept in ``project_subtree_answers`` by the handler.
A stranger's Join or signature, and one that comes after the vote began, is refused: a
:class:`inbox.handlers.PermanentError`, so the inbox keeps the activity dead with the reason.
Being refused as a whole, such a Like is not counted as a like either: what it asked for (a
signature) was refused, and nothing of it is kept but the reason.
"""

from __future__ import annotations

from federation.activitystreams import actor_of, id_of
from federation.client import FetchError
from inbox.handlers import Handler, InboxContext, PermanentError, PrepareContext, TryLater
from node.core import objects
from node.core.clock import to_epoch
from node.core.db import Connection
from node.core.i18n import N_, Message
from node.core.registry import Registry
from node.projects import rules, store, subtree

ANSWER = "projects_subtree_answer"  # the key of the preparer's answer in ctx.prepared


async def _open_target(conn: Connection, kind: str, target: str) -> bool:
    """Whether an activity of ``kind`` targets an open project (Join) or draft (Like) of this node."""
    if kind == "Join":
        return rules.project_refusal(await store.get_project(conn, target)) is None
    draft = await store.get_draft(conn, target)
    if draft is None:
        return False
    return rules.draft_refusal(await store.get_project(conn, draft.project_id), draft) is None


async def prepare(pctx: PrepareContext, activity: dict) -> dict:
    """Before the transaction: the actor asked about down the tree, only for an open project's Join
    or an open draft's Like (when likes sign); nothing for anything else."""
    kind, target, actor = objects.primary_type(activity), id_of(activity.get("object")), pctx.actor_id
    if actor is None or target is None or not pctx.urls.is_local(target):
        return {}
    if kind == "Like" and not pctx.config.projects.like_signs:
        return {}
    if not await _open_target(pctx.reader, kind, target):
        return {}
    asker = subtree.Asker(
        config=pctx.config,
        urls=pctx.urls,
        reader=pctx.reader,
        client=pctx.remote_actors.client,
        signer=await subtree.node_signer(pctx.reader, pctx.config, pctx.urls),
        now=to_epoch(pctx.now),
    )
    answer = await subtree.find(asker, actor)
    if answer.chapter is None and not answer.complete:
        raise FetchError(f"not every chapter below could say whether {actor} is a member; tried again later")
    return {ANSWER: answer}


async def member_chapter(ctx: InboxContext, actor_id: str) -> str | None:
    """The actor's chapter as the preparer found it (kept now), or as known here."""
    answer: subtree.Answer | None = ctx.prepared.get(ANSWER)
    now = to_epoch(ctx.now)
    if answer is not None:
        await subtree.remember(ctx.conn, actor_id, answer, now)
        return answer.chapter
    known = await subtree.known_here(ctx.conn, ctx.config, ctx.urls, actor_id, now)
    if known is None:  # the target opened after the preparer looked: ask when tried again
        raise TryLater(f"whether {actor_id} is a member of the subtree was not asked yet")
    return known.chapter


def refuse(reason: Message) -> PermanentError:
    return PermanentError(str(reason))


async def require_member(ctx: InboxContext, actor_id: str) -> str:
    chapter = await member_chapter(ctx, actor_id)
    if chapter is None:
        raise refuse(N_("{actor} is not an active member of this node's subtree: not counted", actor=actor_id))
    return chapter


# --- Join and Leave of a project


def join_project_or(wrapped: Handler) -> Handler:
    async def apply(ctx: InboxContext, activity: dict) -> None:
        project = await store.get_project(ctx.conn, id_of(activity.get("object")) or "")
        if project is None:
            await wrapped.apply(ctx, activity)
            return
        if (reason := rules.project_refusal(project)) is not None:
            raise refuse(reason)
        actor_id = actor_of(activity)
        await require_member(ctx, actor_id)
        await store.add_member(ctx.conn, project.id, actor_id, to_epoch(ctx.now))

    return Handler(apply, needs_sender=wrapped.needs_sender)


def leave_project_or(wrapped: Handler) -> Handler:
    async def apply(ctx: InboxContext, activity: dict) -> None:
        project = await store.get_project(ctx.conn, id_of(activity.get("object")) or "")
        if project is None:
            await wrapped.apply(ctx, activity)
            return
        await store.remove_member(ctx.conn, project.id, actor_of(activity))

    return Handler(apply, needs_sender=wrapped.needs_sender)


# --- a Like signs a draft, its Undo withdraws


async def sign_by_like(ctx: InboxContext, activity: dict) -> None:
    """After content counted the Like: a signature of the draft it likes, when likes sign."""
    if not ctx.config.projects.like_signs:
        return
    draft = await store.get_draft(ctx.conn, id_of(activity.get("object")) or "")
    if draft is None:
        return
    if (reason := rules.draft_refusal(await store.get_project(ctx.conn, draft.project_id), draft)) is not None:
        raise refuse(N_("the signature was refused: {reason}", reason=reason))
    actor_id = actor_of(activity)
    await require_member(ctx, actor_id)
    now = to_epoch(ctx.now)
    if await store.sign(ctx.conn, draft.id, actor_id, via="like", activity_id=activity["id"], now=now):
        await qualify_if_due(ctx, draft.id)


async def qualify_if_due(ctx: InboxContext, draft_id: str) -> None:
    """The draft is marked qualified the first time its signatories reach the quorum."""
    if await store.count_signatories(ctx.conn, draft_id) >= await rules.quorum(ctx.conn, ctx.config):
        await store.mark_qualified(ctx.conn, draft_id, to_epoch(ctx.now))


def undo_like_withdraws(wrapped):
    async def undo(ctx: InboxContext, undone: dict, actor_id: str) -> None:
        await wrapped(ctx, undone, actor_id)
        undone_id = id_of(undone)
        signature = await store.signature_by_activity(ctx.conn, undone_id) if undone_id else None
        if signature is None or signature[1] != actor_id:
            return
        draft = await store.get_draft(ctx.conn, signature[0])
        project = await store.get_project(ctx.conn, draft.project_id) if draft is not None else None
        if (reason := rules.draft_refusal(project, draft)) is not None:
            raise refuse(N_("the signature was not withdrawn: {reason}", reason=reason))
        await store.withdraw(ctx.conn, signature[0], actor_id, to_epoch(ctx.now))

    return undo


def register(registry: Registry) -> None:
    registry.inbound["Join"] = join_project_or(registry.inbound["Join"])
    registry.inbound["Leave"] = leave_project_or(registry.inbound["Leave"])
    registry.undo_handlers["Like"] = undo_like_withdraws(registry.undo_handlers["Like"])
    registry.after("Like", sign_by_like)
    registry.before("Join", prepare)
    registry.before("Like", prepare)
