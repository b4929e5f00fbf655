"""RSA keys for the tests' actors, made once per session and handed out anew in every test.

Generating a 2048-bit RSA key costs about 40 ms of CPU, and the suite starts thousands of actors
(every node has two, members have their own): about a tenth of the suite's time went to it.
Within one test every key handed out is a different key (a test that needs more keys than the
pool holds makes new ones and keeps them), so no two actors of a test ever share a key, and a
forged signature is still a different key's; across tests the same keys come back, which no
test can tell apart from new ones (each test has new nodes, new databases and new caches).
Real key generation still runs in the suite: the nodes started as separate processes
(``tests/support/subprocess_node.py``) make their own keys.
"""

from __future__ import annotations

import threading

from cryptography.hazmat.primitives.asymmetric import rsa


class KeyPool:
    def __init__(self) -> None:
        self._keys: list[rsa.RSAPrivateKey] = []
        self._next = 0
        self._lock = threading.Lock()  # members' keys are made in threads

    def new_test(self) -> None:
        self._next = 0

    def rsa_key(self) -> rsa.RSAPrivateKey:
        with self._lock:
            if self._next == len(self._keys):
                self._keys.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
            key = self._keys[self._next]
            self._next += 1
            return key


POOL = KeyPool()  # the session's pool: tests/conftest.py starts each test anew on it


def rsa_key() -> rsa.RSAPrivateKey:
    """A key no other actor of the running test has (the test actors' own keys come from here too)."""
    return POOL.rsa_key()
