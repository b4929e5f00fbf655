"""What making and ending a link changes, on either side, in the caller's transaction.

Linking records the two follows the tree needs directly, as part of the signed Join /
Accept handshake, instead of a second Follow / Accept exchange: the parent follows the child
(posts go up) and the child follows the parent (proposals will come down). Both rows carry
the Join's id as their follow id, so ending the link removes exactly the follows it made (a
follow that existed before the link is left alone). Every refusal is a ``Reject`` to the
other side whose ``content`` says why, and is logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from node.branches import documents, link_store, paths, report_sending, reports
from node.branches.link_store import Link
from node.core import follows, publish, vocabulary
from node.core.clock import to_epoch
from node.core.db import Connection
from node.core.urls import Urls

log = logging.getLogger("chapterhouse.branches")


@dataclass(frozen=True)
class Local:
    """This node, as the handshake sees it: who we are and when it is."""

    urls: Urls
    chapter: str
    now: datetime

    @property
    def actor_id(self) -> str:
        return self.urls.actor(self.chapter)

    @property
    def epoch(self) -> float:
        return to_epoch(self.now)


async def send(conn: Connection, local: Local, activity: dict, inbox: str | None) -> None:
    await publish.record(
        conn,
        urls=local.urls,
        username=local.chapter,
        activity=activity,
        inboxes=[inbox] if inbox else [],
        now=local.epoch,
    )


async def record_follows(conn: Connection, local: Local, link: Link) -> None:
    """We follow the peer and the peer follows us (unless such a follow is there already)."""
    if await follows.following_by_target(conn, local.chapter, link.peer_id) is None:
        await follows.insert_following(
            conn, username=local.chapter, target_id=link.peer_id, follow_id=link.join_id, now=local.epoch
        )
        await follows.set_following_state(conn, link.join_id, "accepted")
    if await follows.get_follower(conn, local.chapter, link.peer_id) is None and link.inbox:
        await follows.upsert_follower(
            conn,
            username=local.chapter,
            follower_id=link.peer_id,
            follow_id=link.join_id,
            inbox=link.inbox,
            shared_inbox=link.shared_inbox,
            state="accepted",
            now=local.epoch,
        )


async def drop_follows(conn: Connection, local: Local, link: Link) -> None:
    """The follows this link made, and only those."""
    await follows.remove_following(conn, link.join_id)
    follower = await follows.follower_by_follow_id(conn, local.chapter, link.join_id)
    if follower is not None and follower["follower_id"] == link.peer_id:
        await follows.remove_follower(conn, local.chapter, link.peer_id)


async def accept_child(conn: Connection, local: Local, link: Link, join: dict) -> dict:
    """Link a child that asked: its row linked, the follows made, our Accept (the Join embedded) sent."""
    await link_store.set_state(conn, link.peer_id, "child", "linked", local.epoch)
    await record_follows(conn, local, link)
    accept = vocabulary.answer(
        "Accept", local.urls, actor=local.actor_id, answered=join, to=link.peer_id, now=local.now
    )
    await send(conn, local, accept, link.delivery_inbox)
    log.info("branch tree: %s is now a child of this node", link.peer_id)
    return accept


async def refuse_child(conn: Connection, local: Local, link: Link, join: dict, reason: str) -> dict:
    """Refuse a link request: the row refused with the reason (a message a page translates), a Reject
    saying it (in English) sent."""
    await link_store.set_state(conn, link.peer_id, "child", "refused", local.epoch, reason=reason)
    reject = documents.refusal(
        local.urls, actor=local.actor_id, answered=join, to=link.peer_id, reason=str(reason), now=local.now
    )
    await send(conn, local, reject, link.delivery_inbox)
    log.warning("branch tree: link request %s from %s refused: %s", link.join_id, link.peer_id, reason)
    return reject


async def drop_child(conn: Connection, local: Local, link: Link) -> None:
    """A child is gone (it left, or we removed it): its follows and its branch's reports too, and
    our parent is told to drop that branch as well."""
    await link_store.set_state(conn, link.peer_id, "child", "unlinked", local.epoch)
    await drop_follows(conn, local, link)
    await reports.drop_branch(conn, link.peer_id)
    await tell_parent_removed(conn, local, link.peer_id)
    log.info("branch tree: %s is no longer a child of this node", link.peer_id)


async def tell_parent_removed(conn: Connection, local: Local, removed: str) -> None:
    parent = await link_store.linked_parent(conn)
    if parent is not None:  # "removed from my subtree": the target is our own children collection
        removal = documents.subtree_removal(
            local.urls,
            actor=local.actor_id,
            removed=removed,
            target=paths.children(local.urls, local.chapter),
            to=parent.peer_id,
            now=local.now,
        )
        await send(conn, local, removal, parent.delivery_inbox)


async def drop_parent(conn: Connection, local: Local, link: Link) -> None:
    """We are no longer below ``link.peer_id`` (we left, or it removed us)."""
    await link_store.set_state(conn, link.peer_id, "parent", "unlinked", local.epoch)
    await drop_follows(conn, local, link)
    await report_sending.forget_sent(conn, link.peer_id)
    log.info("branch tree: this node is no longer below %s", link.peer_id)


async def forward_subtree(conn: Connection, local: Local, parent: Link) -> int:
    """A new parent hears every report kept from our subtree, unchanged (ours follows from report_sending)."""
    kept = await reports.all_reports(conn)
    for entry in kept:
        await forward(conn, local, parent, entry["report"])
    return len(kept)


async def forward(conn: Connection, local: Local, parent: Link, report: dict) -> None:
    if parent.collection:
        add = documents.report_delivery(
            local.urls, actor=local.actor_id, report=report, target=parent.collection, to=parent.peer_id, now=local.now
        )
        await send(conn, local, add, parent.delivery_inbox)
