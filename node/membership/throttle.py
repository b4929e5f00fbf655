"""Throttles on guessing: password sign-in by account and by address, sign-up by address.

Each is a token bucket (:class:`federation.tokenbuckets.TokenBuckets`, in memory, bounded) sized by
``[accounts]`` in the config. Every sign-in attempt takes a token from its account (a
username, or the admin token's own key) and from its address before the password is checked
(so parallel guesses cannot slip past), and a right password gives them back; once either
bucket is empty nothing is checked: ten quick wrong guesses close the account for a while,
even to the right password. A sign-up costs its address a token only when an account is about
to be made (a refused form costs nothing). The address is the peer of the connection: behind
a reverse proxy every request shares the proxy's address, so the per-address limits then
act for the whole node.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from aiohttp import web

from federation.tokenbuckets import TokenBuckets

ADMIN_ACCOUNT = "\0admin"  # the admin token's bucket: no username can be this


@dataclass
class SignInLimits:
    per_account: TokenBuckets
    per_address: TokenBuckets
    signups: TokenBuckets

    @classmethod
    def from_config(cls, accounts) -> SignInLimits:
        return cls(
            per_account=TokenBuckets(
                per_minute=accounts.login_per_account_per_minute, burst=accounts.login_per_account_burst
            ),
            per_address=TokenBuckets(
                per_minute=accounts.login_per_address_per_minute, burst=accounts.login_per_address_burst
            ),
            signups=TokenBuckets(
                per_minute=accounts.signups_per_address_per_minute, burst=accounts.signups_per_address_burst
            ),
        )

    def sign_in_wait(self, request: web.Request, account: str) -> int | None:
        """None if this attempt may be checked, else whole seconds to wait."""
        now = time.monotonic()
        waits = [
            w
            for w in (self.per_account.take(account.lower(), now), self.per_address.take(_address(request), now))
            if w is not None
        ]
        return max(1, math.ceil(max(waits))) if waits else None

    def sign_in_succeeded(self, request: web.Request, account: str) -> None:
        self.per_account.give_back(account.lower())
        self.per_address.give_back(_address(request))

    def sign_up_wait(self, request: web.Request) -> int | None:
        wait = self.signups.take(_address(request), time.monotonic())
        return None if wait is None else max(1, math.ceil(wait))


SIGN_IN_LIMITS: web.AppKey[SignInLimits] = web.AppKey("sign_in_limits", SignInLimits)


def _address(request: web.Request) -> str:
    return request.remote or "unknown"
