"""Rate limits for the inbox: a token bucket per remote host and per remote actor.

Each key (a host, or an actor id) has a bucket of ``burst`` tokens refilled at ``per_minute``
a minute; a request takes one token or is refused with the seconds until one is back (the
``Retry-After`` of a 429). Buckets live in memory, bounded: the least recently used are
forgotten past ``max_keys`` (a forgotten key simply starts full again). The clock is passed
in, so tests need no waiting.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class TokenBuckets:
    def __init__(self, *, per_minute: float, burst: int, max_keys: int = 100_000) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("a rate limit needs per_minute > 0 and burst >= 1")
        self.rate = per_minute / 60.0
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str, now: float) -> float | None:
        """Take a token: None if allowed, else the seconds to wait."""
        bucket = self._buckets.pop(key, None) or _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + max(0.0, now - bucket.stamp) * self.rate)
        bucket.stamp = now
        self._buckets[key] = bucket
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return (1 - bucket.tokens) / self.rate

    def give_back(self, key: str) -> None:
        """Return a token taken for a request that turned out to cost nothing (a right password)."""
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.tokens = min(float(self.burst), bucket.tokens + 1)


@dataclass
class InboxLimits:
    """The inbox's two limits: per remote host and per remote actor (both verified signers)."""

    per_host: TokenBuckets
    per_actor: TokenBuckets

    @classmethod
    def from_config(cls, federation) -> "InboxLimits":
        return cls(
            per_host=TokenBuckets(per_minute=federation.inbox_per_host_per_minute, burst=federation.inbox_per_host_burst),
            per_actor=TokenBuckets(per_minute=federation.inbox_per_actor_per_minute,
                                   burst=federation.inbox_per_actor_burst),
        )

    def check(self, *, host: str, actor_id: str, now: float) -> float | None:
        """None if this request may go on, else the seconds to wait (the longer of the two).

        Every request costs its host and its actor a token, refused ones too: they cost us work.
        """
        waits = [w for w in (self.per_host.take(host, now), self.per_actor.take(actor_id, now)) if w is not None]
        return max(waits) if waits else None
