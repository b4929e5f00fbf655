"""Password hashes as sign-ups made them before argon2id, for the tests of their upgrade."""

from __future__ import annotations

import base64
import hashlib
import secrets


def old_scrypt_hash(password: str) -> str:
    """scrypt (n=2**14, r=8, p=1, a 16-byte salt) in the string format sign-ups stored then."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt$n=16384,r=8,p=1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
