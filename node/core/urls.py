"""Every id the node publishes, derived from ``base_url`` in one place."""

from __future__ import annotations

import hashlib
import uuid
from urllib.parse import urlsplit

INSTANCE_USERNAME = "instance.actor"  # cannot collide: chapter names allow no dots


class Urls:
    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")
        self.host = urlsplit(self.base).netloc

    def actor(self, username: str) -> str:
        if username == INSTANCE_USERNAME:
            return f"{self.base}/actor"
        return f"{self.base}/users/{username}"

    def inbox(self, username: str) -> str:
        return f"{self.actor(username)}/inbox"

    def outbox(self, username: str) -> str:
        return f"{self.actor(username)}/outbox"

    def followers(self, username: str) -> str:
        return f"{self.actor(username)}/followers"

    def following(self, username: str) -> str:
        return f"{self.actor(username)}/following"

    def members(self, username: str) -> str:
        return f"{self.actor(username)}/members"

    def collection(self, username: str, name: str) -> str:
        """A collection of the actor by name (``followers``, ``members``, a room's own ``children``):
        the outbox finds the target of an Add / Remove, and an audience, by it."""
        return f"{self.actor(username)}/{name}"

    def featured(self, username: str) -> str:
        return f"{self.actor(username)}/featured"

    def rsa_key_id(self, username: str) -> str:
        return f"{self.actor(username)}#main-key"

    def ed25519_key_id(self, username: str) -> str:
        return f"{self.actor(username)}#ed25519-key"

    def profile(self, username: str) -> str:
        return f"{self.base}/@{username}"

    @property
    def shared_inbox(self) -> str:
        return f"{self.base}/inbox"

    def new_object_id(self) -> str:
        return f"{self.base}/objects/{uuid.uuid4()}"

    def new_activity_id(self) -> str:
        return f"{self.base}/activities/{uuid.uuid4()}"

    def relayed_activity_id(self, kind: str, object_id: str) -> str:
        """The one id this node gives its ``kind`` (Announce) of ``object_id``: relaying twice is one row."""
        digest = hashlib.sha256(f"{kind} {object_id}".encode()).hexdigest()[:32]
        return f"{self.base}/activities/{kind.lower()}-{digest}"

    def is_local(self, url: str) -> bool:
        return isinstance(url, str) and (url == self.base or url.startswith(self.base + "/"))
