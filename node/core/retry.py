"""When to try again: a small pure function, exponential with equal jitter, honouring Retry-After.

After the n-th failure the ceiling is ``base * 2**(n-1)``, capped; the delay is drawn uniformly
from ``[ceiling/2, ceiling]`` ("equal jitter"), not from ``[0, ceiling]`` ("full jitter").
Full jitter spreads many clients competing for one resource the most, but it may draw a delay
near zero and retry a failing host at once; what we retry is one delivery (or one inbox item)
to a host that just failed, so a floor of half the ceiling keeps the backoff real while the
other half still spreads retries apart. ``Retry-After`` raises the delay, never lowers it,
and is itself bounded (four times the cap), so a peer cannot park a delivery for a year.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float
    cap_seconds: float
    give_up_after_seconds: float  # measured from the first attempt

    def next_delay(self, attempts: int, *, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        """Seconds to wait after the ``attempts``-th failure (1-based)."""
        ceiling = min(self.cap_seconds, self.base_seconds * (2 ** max(0, attempts - 1)))
        delay = (rng or random).uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.cap_seconds * 4))
        return delay

    def gives_up(self, *, first_attempt_at: float, now: float) -> bool:
        return now - first_attempt_at >= self.give_up_after_seconds


DELIVERY = RetryPolicy(base_seconds=30, cap_seconds=6 * 3600, give_up_after_seconds=3 * 24 * 3600)
HOST_BACKOFF = RetryPolicy(base_seconds=30, cap_seconds=6 * 3600, give_up_after_seconds=float("inf"))
INBOX = RetryPolicy(base_seconds=5, cap_seconds=3600, give_up_after_seconds=24 * 3600)
