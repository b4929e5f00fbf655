"""Reports received from other servers: a ``Flag`` is kept for the admin (``GET /admin/reports``)."""

from __future__ import annotations

from federation.activitystreams import actor_of, as_list, id_of
from inbox.handlers import Handler, InboxContext
from node.core.clock import to_epoch
from node.core.registry import Registry
from node.moderation import reports

MAX_TARGETS = 50


async def handle_flag(ctx: InboxContext, activity: dict) -> None:
    targets = [target for target in (id_of(item) for item in as_list(activity.get("object"))) if target]
    given = activity.get("content")
    content = given if isinstance(given, str) else ""
    await reports.insert_report(
        ctx.conn,
        activity_id=activity["id"],
        direction="received",
        reporter=actor_of(activity),
        targets=targets[:MAX_TARGETS],
        content=content,
        now=to_epoch(ctx.now),
    )


def register(registry: Registry) -> None:
    registry.inbound["Flag"] = Handler(handle_flag)
