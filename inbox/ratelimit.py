"""Rate limits for the inbox: a token bucket per remote host and per remote actor.

Each key (a host, or an actor id) has a bucket (:class:`federation.tokenbuckets.TokenBuckets`);
a request takes one token or is refused with the seconds until one is back (the
``Retry-After`` of a 429).
"""

from __future__ import annotations

from dataclasses import dataclass

from federation.tokenbuckets import TokenBuckets


@dataclass
class InboxLimits:
    """The inbox's two limits: per remote host and per remote actor (both verified signers)."""

    per_host: TokenBuckets
    per_actor: TokenBuckets

    @classmethod
    def from_config(cls, federation) -> InboxLimits:
        return cls(
            per_host=TokenBuckets(
                per_minute=federation.inbox_per_host_per_minute, burst=federation.inbox_per_host_burst
            ),
            per_actor=TokenBuckets(
                per_minute=federation.inbox_per_actor_per_minute, burst=federation.inbox_per_actor_burst
            ),
        )

    def check(self, *, host: str, actor_id: str, now: float) -> float | None:
        """None if this request may go on, else the seconds to wait (the longer of the two).

        Every request costs its host and its actor a token, refused ones too: they cost us work.
        """
        waits = [w for w in (self.per_host.take(host, now), self.per_actor.take(actor_id, now)) if w is not None]
        return max(waits) if waits else None
