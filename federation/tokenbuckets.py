"""Token buckets, one per key, in memory and bounded: the rate limits' one mechanism.

Each key (a host, an actor id, an account) has a bucket of ``burst`` tokens refilled at
``per_minute`` a minute; taking a token answers None, or the seconds until one is back.
Buckets live in memory, bounded: the least recently used are forgotten past ``max_keys`` (a
forgotten key simply starts full again). The clock is passed in, so tests need no waiting.
Used by the inbox's limits, the key-fetch gate and the sign-in throttle.
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
