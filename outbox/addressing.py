"""Who gets an activity: its addressing turned into a set of inboxes.

``Public`` is nobody in particular; the local actor's followers collection becomes each
accepted follower's shared inbox (or inbox), once per inbox, and its members collection
each active remote member's; a remote actor named directly
gets its own inbox. A feature's own collections (the members collection) are resolved by
the registry's ``audiences``, by their name in ``Urls``. Remote collections and unknown
things are skipped, as Mastodon does.
Fetching remote actors happens here, before the publishing transaction opens.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from federation.actors import RemoteActors
from federation.client import FetchError
from node.core import follows
from node.core.db import Store
from node.core.objects import PUBLIC_ALIASES, as_list
from node.core.urls import Urls
from node.core.vocabulary import DELIVERY_FIELDS

# A local collection's name in Urls -> (reader, username) -> the inboxes it stands for.
Audience = Callable[..., Awaitable[list[str]]]
MAX_RECIPIENTS = 1000


@dataclass
class Recipients:
    inboxes: list[str] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)  # actor id -> why


def addressed(activity: dict) -> list[str]:
    seen: dict[str, None] = {}
    for name in DELIVERY_FIELDS:
        for value in as_list(activity.get(name)):
            if isinstance(value, dict):
                value = value.get("id")
            if isinstance(value, str):
                seen.setdefault(value, None)
    return list(seen)


async def resolve(
    activity: dict,
    *,
    db: Store,
    urls: Urls,
    username: str,
    remote_actors: RemoteActors,
    audiences: Mapping[str, Audience] | None = None,
) -> Recipients:
    result = Recipients()
    inboxes: dict[str, None] = {}
    for address in addressed(activity)[:MAX_RECIPIENTS]:
        if address in PUBLIC_ALIASES:
            continue
        if address == urls.followers(username):
            for inbox in await follows.follower_inboxes(db.reader, username):
                inboxes.setdefault(inbox, None)
            continue
        audience = _local_audience(address, urls, username, audiences or {})
        if audience is not None:
            for inbox in await audience(db.reader, username):
                inboxes.setdefault(inbox, None)
            continue
        if urls.is_local(address):
            continue
        try:
            actor = await remote_actors.get_actor(address)
        except FetchError as error:
            result.unreachable[address] = error.reason
            continue
        if actor.inbox:
            inboxes.setdefault(actor.inbox, None)
        else:
            result.unreachable[address] = "the actor has no inbox"
    result.inboxes = list(inboxes)
    return result


def _local_audience(address: str, urls: Urls, username: str, audiences: Mapping[str, Audience]) -> Audience | None:
    for name, audience in audiences.items():
        if address == urls.collection(username, name):
            return audience
    return None
