"""Record a local activity and queue its deliveries, in the caller's transaction.

Whoever publishes (the client-to-server outbox, or the inbox answering a Follow with an
Accept) calls :func:`record` inside its own transaction, so the activity, its object and
one delivery row per distinct inbox commit together or not at all. An ``Update`` also drops
the older Updates of the same object still queued for the same inboxes
(:func:`node.core.deliveries.drop_superseded_updates`): a host in backoff gets the newest only.
"""

from __future__ import annotations

from node.core import deliveries as store
from node.core import objects
from node.core.db import Connection
from node.core.urls import Urls


async def record(
    conn: Connection,
    *,
    urls: Urls,
    username: str,
    activity: dict,
    inboxes: list[str],
    now: float,
    new_object: dict | None = None,
    blind: dict | None = None,
) -> None:
    """``blind``: the bto / bcc the activity was addressed with, kept for the owner beside both rows
    (Public among them makes both readable by anyone: :func:`node.core.objects.visibility_of`)."""
    visibility = objects.visibility_of({**activity, **(blind or {})}, urls.followers(username), urls.members(username))
    if new_object is not None:
        await objects.insert(
            conn, document=new_object, kind="object", author=username, visibility=visibility, published=now, blind=blind
        )
    await objects.insert(
        conn, document=activity, kind="activity", author=username, visibility=visibility, published=now, blind=blind
    )
    unique_inboxes = sorted({inbox for inbox in inboxes if not urls.is_local(inbox)})
    if unique_inboxes:
        await store.enqueue(conn, activity_id=activity["id"], inboxes=unique_inboxes, signer=username, now=now)
        updated = activity.get("object")
        updated = updated.get("id") if isinstance(updated, dict) else updated
        if activity.get("type") == "Update" and isinstance(updated, str):
            await store.drop_superseded_updates(
                conn, activity_id=activity["id"], object_id=updated, author=username, inboxes=unique_inboxes, now=now
            )


async def record_many(
    conn: Connection,
    *,
    urls: Urls,
    username: str,
    published: list[tuple[dict, dict, list[str]]],
    now: float,
) -> None:
    """Many ``(activity, its new object, inboxes)`` (a batch of direct receipts), as :func:`record`
    writes each, in two statements."""
    followers, members = urls.followers(username), urls.members(username)
    documents = []
    for activity, new_object, _ in published:
        visibility = objects.visibility_of(activity, followers, members)
        documents += [(new_object, "object", visibility), (activity, "activity", visibility)]
    await objects.insert_many(conn, documents, author=username, published=now)
    pairs = [
        (activity["id"], inbox)
        for activity, _, inboxes in published
        for inbox in sorted({inbox for inbox in inboxes if not urls.is_local(inbox)})
    ]
    if pairs:
        await store.enqueue_many(conn, pairs, signer=username, now=now)
