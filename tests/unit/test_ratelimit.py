"""Token buckets: bursts are allowed, then one request per refill interval, per key."""

from __future__ import annotations

import pytest

from federation.tokenbuckets import TokenBuckets


def test_burst_then_refusal_with_the_wait_then_refill():
    buckets = TokenBuckets(per_minute=60, burst=3)  # one token a second
    assert [buckets.take("a.example", 0.0) for _ in range(3)] == [None, None, None]
    wait = buckets.take("a.example", 0.0)
    assert wait == pytest.approx(1.0)
    assert buckets.take("b.example", 0.0) is None  # another host has its own bucket
    assert buckets.take("a.example", 0.5) == pytest.approx(0.5)
    assert buckets.take("a.example", 1.01) is None


def test_memory_stays_bounded():
    buckets = TokenBuckets(per_minute=1, burst=1, max_keys=100)
    for n in range(1000):
        buckets.take(f"host{n}", 0.0)
    assert len(buckets._buckets) == 100
    assert buckets.take("host0", 0.0) is None  # forgotten: starts full again


def test_nonsense_limits_are_refused():
    with pytest.raises(ValueError):
        TokenBuckets(per_minute=0, burst=1)
