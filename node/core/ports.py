"""What the two pipelines need of each other and of the rooms, as small types the core owns.

The inbox and the outbox never import each other, nor a room (``make lint`` checks it). Where one
needs the other, or a room's service, it names a type from here, and the app factory
(``node.web.app``) wires the real one into an application key (``node.core.appkeys``):

- :class:`Blocks`: the admin's blocks, which the inbox checks before it stores anything and the
  outbox's Block composer reloads; the moderation room's ``BlockList`` is one.
- :data:`HostIsBack`: the inbox tells the delivery side that a paused host sent a valid signed
  request (``app[HOST_IS_BACK]``, the outbox's ``DeliveryWorker.host_is_back``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # pragma: no cover
    from node.core.db import Store


class Blocks(Protocol):
    """The admin's blocked domains and actors, kept in memory for every request's check."""

    def blocked(self, url: str, hostname: str | None) -> bool:
        """Whether ``url`` (an actor or key id) or ``hostname`` is blocked."""
        ...

    def url_blocked(self, url: str | None) -> bool: ...

    async def load(self, db: Store) -> None:
        """Read the blocks again (after the admin changed them)."""
        ...


HostIsBack = Callable[[str], Awaitable[None]]  # a host (netloc) that sent a valid signed request
