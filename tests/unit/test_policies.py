"""Small pure pieces: retry delays, delivery outcome classes, visibility, JSON limits."""

from __future__ import annotations

import random

import pytest

from federation import jsonio
from federation.client import PostResult
from node.core.objects import PUBLIC, visibility_of
from node.core.retry import DELIVERY, RetryPolicy
from outbox.delivery import classify

FOLLOWERS = "https://chapter.example/users/london/followers"


def test_retry_delays_grow_with_jitter_and_stay_capped():
    policy = RetryPolicy(base_seconds=10, cap_seconds=100, give_up_after_seconds=1000)
    rng = random.Random(1)
    delays = [policy.next_delay(n, rng=rng) for n in range(1, 10)]
    for attempt, delay in enumerate(delays, start=1):
        ceiling = min(100, 10 * 2 ** (attempt - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert max(delays) <= 100


def test_retry_delays_are_equal_jitter_over_the_upper_half_of_the_ceiling():
    """Equal jitter, as retry.py says: uniform over [ceiling/2, ceiling], never near zero (full
    jitter would draw from [0, ceiling]), and spread over the whole half, not bunched."""
    policy = RetryPolicy(base_seconds=8, cap_seconds=1000, give_up_after_seconds=10**6)
    rng = random.Random(19)
    for attempts, ceiling in ((1, 8), (3, 32), (12, 1000)):
        draws = [policy.next_delay(attempts, rng=rng) for _ in range(4000)]
        assert ceiling / 2 <= min(draws) < ceiling / 2 + ceiling * 0.01
        assert ceiling - ceiling * 0.01 < max(draws) <= ceiling
        mean = sum(draws) / len(draws)
        assert abs(mean - 0.75 * ceiling) < 0.02 * ceiling  # the middle of [ceiling/2, ceiling]
        below_three_quarters = sum(d < 0.75 * ceiling for d in draws) / len(draws)
        assert 0.45 < below_three_quarters < 0.55  # uniform: half of the draws in each quarter of the range


def test_retry_after_is_honoured_but_bounded():
    policy = RetryPolicy(base_seconds=10, cap_seconds=100, give_up_after_seconds=1000)
    assert policy.next_delay(1, retry_after=60, rng=random.Random(0)) >= 60
    assert policy.next_delay(1, retry_after=10**9, rng=random.Random(0)) <= 400


def test_delivery_gives_up_after_days_not_attempts():
    assert not DELIVERY.gives_up(first_attempt_at=0, now=2 * 24 * 3600)
    assert DELIVERY.gives_up(first_attempt_at=0, now=3 * 24 * 3600)


@pytest.mark.parametrize(
    "result, expected",
    [
        (PostResult(202), ("done", False)),
        (PostResult(200), ("done", False)),
        (PostResult(None, "connection refused"), ("retry", True)),
        (PostResult(500, "boom"), ("retry", True)),
        (PostResult(429, "slow down", retry_after=30), ("retry", True)),
        (PostResult(503, "maintenance"), ("retry", True)),
        (PostResult(401, "who are you"), ("retry", False)),
        (PostResult(408, "timeout"), ("retry", False)),
        (PostResult(400, "bad"), ("dead", False)),
        (PostResult(403, "blocked"), ("dead", False)),
        (PostResult(410, "gone"), ("dead", False)),
    ],
)
def test_delivery_outcomes(result, expected):
    assert classify(result) == expected


@pytest.mark.parametrize(
    "addressing, expected",
    [
        ({"to": [PUBLIC], "cc": [FOLLOWERS]}, "public"),
        ({"to": "as:Public"}, "public"),
        ({"to": [FOLLOWERS], "cc": [PUBLIC]}, "unlisted"),
        ({"to": [FOLLOWERS]}, "followers"),
        ({"to": ["https://elsewhere.example/users/bob"]}, "direct"),
        ({}, "direct"),
    ],
)
def test_visibility_follows_mastodon_addressing(addressing, expected):
    assert visibility_of(addressing, FOLLOWERS) == expected


def test_json_depth_and_syntax_errors_are_clear():
    deep = "[" * 100 + "]" * 100
    with pytest.raises(jsonio.JsonError, match="deeper than"):
        jsonio.loads(deep)
    with pytest.raises(jsonio.JsonError, match="not valid JSON"):
        jsonio.loads(b"{nope")
    assert jsonio.loads(b'{"a": [1, {"b": 2}]}') == {"a": [1, {"b": 2}]}
