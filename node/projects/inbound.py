"""What the fediverse does to a project: Join and Leave it, sign a draft (Join, or a Like) and withdraw.

Registered by :func:`register` (after membership, branches and content, whose handlers it wraps):

- ``Join`` whose object is a project of this node: a member of the subtree joins it
  (``project_members``); a ``Join`` of a draft signs it (``via="activity"``, counted whether or
  not likes sign: it is explicit); any other Join goes on to the handler it wraps (a node's link
  request, a person's membership request).
- ``Leave`` of a project: the actor leaves it (anyone may leave what they joined); ``Leave`` of a
  draft withdraws the actor's signature (however it was given); any other Leave goes on.
- ``Like`` of a draft, where ``[projects] like_signs`` is on: after content counts it as a like
  (``registry.after``), it signs the draft (``via="like"``, the Like's id kept, so its ``Undo``
  withdraws the signature: ``undo_handlers["Like"]`` wraps content's). With ``like_signs`` off a
  Like of a draft is a like and nothing more.

The first signature that brings a draft to the quorum marks it qualified
(:func:`node.projects.making.sign`); the voting room's ``project auto vote`` due work puts it to
the vote where ``[projects] put_to_vote = "auto"`` (an inbox handler publishes nothing but in its
own transaction). What members write (a ``Create`` with a ``target``) is :mod:`node.projects.authoring`'s.

Who is a member of the subtree needs the network (``node.projects.subtree``): the preparer
:func:`prepare` asks before the inbox's transaction, and only for an activity that concerns a
project or draft of this node (one read first, so a Like of anything else costs nothing); for a
member it also finds their inbox (the actor document the signature was checked with, cached),
where they are answered. Its answer lands in ``ctx.prepared`` and is kept in
``project_subtree_answers`` by the handler.

Answers. A member's Join of a project, Join of a draft and Leave of a draft, once done, are
answered with an ``Accept`` of the activity (:func:`accept`; ``result`` the project or the draft),
so the member's client (or their chapter's pages, ``node.projects.above_acts``) knows it counted.

Replays. The inbox forgets what it received (retention), and a relay may carry a member's activity
with its proof under anyone's HTTP signature; a signature row remembers only its latest activity.
So every activity that signs (a Join or a Like of a draft) or withdraws (a Leave of a draft, even
one with nothing to withdraw) is kept for good (``project_signing_activities``,
:func:`node.projects.making.once`), and one seen before is refused with the reason (dead in the
inbox; its member sent a ``Reject``, which their chapter's record of an answered act ignores): after
sign, withdraw, sign, withdraw the first Join signs nothing, an old Leave withdraws no newer
signature. An ``Undo`` of a Like withdraws only the signature that very Like stands for.

Refusals (:func:`refused`): a stranger's Join or signature, one that comes after the vote began,
a draft too long, an activity seen before... is a :class:`inbox.handlers.PermanentError` with the rule's message, so the
inbox keeps the activity dead with the reason. A member of the subtree is also sent a ``Reject``
of their activity (its id as ``object``) with the reason as ``content``, in the node's language,
so their client can say why; a stranger is never answered, so nobody can make this node write to a
third party. A refused Like is not counted as a like either (what it asked for was refused), and
gets no Reject: a Like asks nothing of this node where likes do not sign.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape
from typing import TypeVar

from federation.activitystreams import actor_of, id_of
from federation.client import FetchError
from inbox.handlers import Handler, InboxContext, PermanentError, PrepareContext, TryLater
from node.core import objects, publish, vocabulary
from node.core.clock import to_epoch
from node.core.db import Connection
from node.core.i18n import N_, Message
from node.core.registry import Registry
from node.decisions.telling import authoring, chapter_language
from node.projects import making, rules, store, subtree

ANSWER = "projects_subtree_answer"  # the key of the preparer's answer in ctx.prepared
INBOX = "projects_member_inbox"  # where a member of the subtree is answered (set for members only)
T = TypeVar("T")
Framing = Callable[[Message], Message]  # the message that says what was refused, given the rule's reason


async def _concerns_a_project(conn: Connection, kind: str, target: str, like_signs: bool) -> bool:
    """Whether an activity of ``kind`` is about a project or a draft of this node (a Like: an open
    draft, and only where likes sign)."""
    if kind == "Like":
        draft = await store.get_draft(conn, target) if like_signs else None
        return draft is not None and rules.draft_refusal(await store.get_project(conn, draft.project_id), draft) is None
    if kind == "Join" and await store.get_project(conn, target) is not None:
        return True
    return await store.get_draft(conn, target) is not None


async def prepare(pctx: PrepareContext, activity: dict) -> dict:
    """Before the transaction: the actor asked about down the tree, only when the activity concerns
    a project or draft of this node; nothing for anything else."""
    kind, target = objects.primary_type(activity), id_of(activity.get("object"))
    if target is None or not pctx.urls.is_local(target):
        return {}
    if not await _concerns_a_project(pctx.reader, kind, target, pctx.config.projects.like_signs):
        return {}
    return await ask(pctx)


async def ask(pctx: PrepareContext) -> dict:
    """Is the actor a member of the subtree (asked down the tree); for a member, where to answer them."""
    actor = pctx.actor_id
    if actor is None:
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
    if answer.chapter is None:
        return {ANSWER: answer}
    sender = pctx.sender if pctx.sender is not None and pctx.sender.id == actor else None
    sender = sender or await pctx.remote_actors.get_actor(actor)  # cached when its signature was checked
    return {ANSWER: answer, INBOX: sender.inbox or sender.shared_inbox}


async def member_chapter(ctx: InboxContext, actor_id: str) -> str | None:
    """The actor's chapter as the preparer found it (kept now), or as known here."""
    answer: subtree.Answer | None = ctx.prepared.get(ANSWER)
    now = to_epoch(ctx.now)
    if answer is not None:
        await subtree.remember(ctx.conn, actor_id, answer, now)
        return answer.chapter
    known = await subtree.known_here(ctx.conn, ctx.config, ctx.urls, actor_id, now)
    if known is None:  # the target appeared after the preparer looked: ask when tried again
        raise TryLater(f"whether {actor_id} is a member of the subtree was not asked yet")
    return known.chapter


def refuse(reason: Message) -> PermanentError:
    """Dead with the reason, nobody answered (a stranger, a Like)."""
    return PermanentError(str(reason))


def not_counted(actor_id: str) -> Message:
    return N_("{actor} is not an active member of this node's subtree: not counted", actor=actor_id)


async def require_member(ctx: InboxContext, actor_id: str, why: Callable[[str], Message] = not_counted) -> str:
    """The actor's chapter; a stranger's activity is refused unanswered (``why`` says so, naming the actor)."""
    chapter = await member_chapter(ctx, actor_id)
    if chapter is None:
        raise refuse(why(actor_id))
    return chapter


def _answer(ctx: InboxContext, kind: str, activity: dict, **fields) -> dict:
    return vocabulary.activity(
        kind, ctx.urls, actor=ctx.chapter_id, now=ctx.now, object=activity["id"], to=[actor_of(activity)], **fields
    )


def refused(ctx: InboxContext, activity: dict, reason: Message) -> PermanentError:
    """The item dead with ``reason``; a member of the subtree (the preparer found their inbox) is sent
    a ``Reject`` of their activity saying it, recorded in the commit that marks the item dead."""
    inbox = ctx.prepared.get(INBOX)
    if inbox is None:
        return refuse(reason)
    words = reason.translated(chapter_language(authoring(ctx)).translations)
    reject = vocabulary.with_language(
        _answer(ctx, "Reject", activity, content=f"<p>{escape(words)}</p>"), ctx.config.node.language
    )

    async def answer(conn: Connection) -> None:
        await publish.record(
            conn, urls=ctx.urls, username=ctx.chapter, activity=reject, inboxes=[inbox], now=to_epoch(ctx.now)
        )

    return PermanentError(str(reason), answer=answer)


async def accept(ctx: InboxContext, activity: dict, result: str) -> None:
    """A member of the subtree told their activity was done: an ``Accept`` of it whose ``result`` (AS2's
    term) is what it made or acted on (the project, the draft); a stranger is not answered."""
    inbox = ctx.prepared.get(INBOX)
    if inbox is None:
        return
    await publish.record(
        ctx.conn,
        urls=ctx.urls,
        username=ctx.chapter,
        activity=_answer(ctx, "Accept", activity, result=result),
        inboxes=[inbox],
        now=to_epoch(ctx.now),
    )
    ctx.queued_deliveries = True


async def attempt(ctx: InboxContext, activity: dict, act: Awaitable[T], frame: Framing | None = None) -> T:
    """``act`` (of :mod:`node.projects.making`); its refusal as :func:`refused` (``frame``: the
    message that says what was refused, given the rule's reason)."""
    try:
        return await act
    except making.Refused as refusal:
        raise refused(ctx, activity, frame(refusal.message) if frame is not None else refusal.message) from None


# --- Join and Leave of a project; of a draft: sign and withdraw


def sign_refused(reason: Message) -> Message:
    return N_("the signature was refused: {reason}", reason=reason)


def withdraw_refused(reason: Message) -> Message:
    return N_("the signature was not withdrawn: {reason}", reason=reason)


def join_project_or(wrapped: Handler) -> Handler:
    async def apply(ctx: InboxContext, activity: dict) -> None:
        target, actor_id, now = id_of(activity.get("object")) or "", actor_of(activity), to_epoch(ctx.now)
        project = await store.get_project(ctx.conn, target)
        draft = await store.get_draft(ctx.conn, target) if project is None else None
        if project is None and draft is None:
            await wrapped.apply(ctx, activity)
            return
        await require_member(ctx, actor_id)
        if project is not None:
            await attempt(ctx, activity, making.join(ctx.conn, project, actor_id, now))
            await accept(ctx, activity, project.id)
            return
        assert draft is not None
        signing = making.sign(ctx.conn, ctx.config, draft.id, actor_id, via="activity", activity_id=activity["id"],
                              now=now)  # fmt: skip
        await attempt(ctx, activity, signing, sign_refused)
        await accept(ctx, activity, draft.id)

    return Handler(apply, needs_sender=wrapped.needs_sender)


def leave_project_or(wrapped: Handler) -> Handler:
    async def apply(ctx: InboxContext, activity: dict) -> None:
        target, actor_id = id_of(activity.get("object")) or "", actor_of(activity)
        project = await store.get_project(ctx.conn, target)
        if project is not None:
            await store.remove_member(ctx.conn, project.id, actor_id)
            return
        draft = await store.get_draft(ctx.conn, target)
        if draft is None:
            await wrapped.apply(ctx, activity)
            return
        now = to_epoch(ctx.now)
        if await store.has_signed(ctx.conn, draft.id, actor_id):
            withdrawing = making.withdraw(ctx.conn, draft.id, actor_id, now, activity_id=activity["id"])
            await attempt(ctx, activity, withdrawing, withdraw_refused)
        else:  # nothing to withdraw, and never anything later: replayed after a new signature, it withdraws none
            kept = making.once(ctx.conn, activity["id"], draft.id, actor_id, "withdraw", now)
            await attempt(ctx, activity, kept, withdraw_refused)
        await accept(ctx, activity, draft.id)

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
        raise refuse(sign_refused(reason))
    actor_id = actor_of(activity)
    await require_member(ctx, actor_id)
    now = to_epoch(ctx.now)
    try:
        await making.sign(ctx.conn, ctx.config, draft.id, actor_id, via="like", activity_id=activity["id"], now=now)
    except making.Refused as refusal:
        raise refuse(sign_refused(refusal.message)) from None


def undo_like_withdraws(wrapped):
    async def undo(ctx: InboxContext, undone: dict, actor_id: str) -> None:
        await wrapped(ctx, undone, actor_id)
        undone_id = id_of(undone)
        signature = await store.signature_by_activity(ctx.conn, undone_id) if undone_id else None
        if signature is None or signature[1] != actor_id:
            return
        try:
            await making.withdraw(ctx.conn, signature[0], actor_id, to_epoch(ctx.now))
        except making.Refused as refusal:
            raise refuse(withdraw_refused(refusal.message)) from None

    return undo


def register(registry: Registry) -> None:
    registry.inbound["Join"] = join_project_or(registry.inbound["Join"])
    registry.inbound["Leave"] = leave_project_or(registry.inbound["Leave"])
    registry.undo_handlers["Like"] = undo_like_withdraws(registry.undo_handlers["Like"])
    registry.after("Like", sign_by_like)
    for kind in ("Join", "Leave", "Like"):
        registry.before(kind, prepare)
