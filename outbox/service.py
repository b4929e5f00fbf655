"""Publishing as a service: what the outbox POST does, callable from pages and workers too.

``submit`` composes an activity with the composer for its type (``compose``: pages use it to add their own
changes to the same transaction), resolves its recipients
(network, before any transaction), then applies the composer's changes, records the
activity and queues its deliveries in one transaction, and wakes the delivery worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web

from node.core import publish
from node.core.appkeys import (
    BLOCKLIST,
    CLOCK,
    CONFIG,
    DATABASE,
    DELIVERY_WORKER,
    KEYRING,
    REGISTRY,
    REMOTE_ACTORS,
    URLS,
)
from node.core.clock import to_epoch
from node.core.errors import ApiError
from outbox import addressing
from outbox.compose import Composed, OutboxContext, as_activity, known_type


@dataclass
class Published:
    activity: dict
    new_object: dict | None
    deliveries: int
    unreachable: dict[str, str] = field(default_factory=dict)

    @property
    def created_id(self) -> str:
        """The id of what was published: the new object's (a page that made one goes there), else the activity's."""
        return str(self.new_object["id"] if self.new_object is not None else self.activity["id"])

    def as_json(self) -> dict:
        result = {"id": self.activity["id"], "type": self.activity["type"], "deliveries": self.deliveries}
        if self.new_object is not None:
            result["object"] = self.new_object["id"]
        if self.unreachable:
            result["unreachable"] = self.unreachable
        return result


async def submit(app: web.Application, username: str, body: dict) -> Published:
    """Publish ``body`` (an activity, or a bare object to wrap in a Create) as ``username``."""
    composed, now = await compose(app, username, body)
    return await apply(app, username, composed, now=now)


async def compose(app: web.Application, username: str, body: dict) -> tuple[Composed, datetime]:
    """What ``submit`` would publish, not yet applied: a caller may add its own changes to the same transaction."""
    registry = app[REGISTRY]
    activity = as_activity(registry, body)
    kind = known_type(activity.get("type"), registry.composers)  # of several types, the first one known here
    if kind is None:
        raise ApiError(
            400,
            f"cannot publish a {activity.get('type')!r}",
            hint=f"supported: {', '.join(registry.composers)}, or a bare object",
        )
    now = app[CLOCK].now()
    ctx = OutboxContext(
        config=app[CONFIG],
        urls=app[URLS],
        db=app[DATABASE],
        remote_actors=app[REMOTE_ACTORS],
        username=username,
        now=now,
        registry=registry,
        blocklist=app[BLOCKLIST],
        keyring=app[KEYRING],
    )
    composed = await registry.composers[kind](ctx, {**activity, "type": kind})
    if isinstance(activity["type"], list) and composed.activity.get("type") == kind:
        composed.activity["type"] = activity["type"]  # the other types kept as given
    return composed, now


async def apply(app: web.Application, username: str, composed: Composed, *, now) -> Published:
    """Resolve recipients, then commit the changes, the activity and its deliveries together."""
    db, urls = app[DATABASE], app[URLS]
    recipients = await addressing.resolve(
        composed.activity,
        db=db,
        urls=urls,
        username=username,
        remote_actors=app[REMOTE_ACTORS],
        audiences=app[REGISTRY].audiences,
    )
    # bto and bcc find recipients; they are kept apart for the owner, never served to others or delivered (AP 6.1)
    blind = {k: v for k, v in composed.activity.items() if k in ("bto", "bcc") and v}
    composed.activity = {k: v for k, v in composed.activity.items() if k not in ("bto", "bcc")}
    inboxes = recipients.inboxes + composed.direct_inboxes
    async with db.transaction() as conn:
        for change in composed.changes:
            await change(conn)
        await publish.record(
            conn,
            urls=urls,
            username=username,
            activity=composed.activity,
            inboxes=inboxes,
            now=to_epoch(now),
            new_object=composed.new_object,
            blind=blind or None,
        )
    for hook in composed.after_commit:
        await hook()
    app[DELIVERY_WORKER].wake()
    for published in app[REGISTRY].after_published:  # e.g. the poll worker: a new question may close sooner
        published(app, composed.activity)
    return Published(composed.activity, composed.new_object, len(set(inboxes)), recipients.unreachable)
