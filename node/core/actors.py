"""The node's local actors and the documents that describe them.

A node has two actors: the chapter (a ``Group`` named in the config, the one members follow)
and the instance actor (an ``Application`` at ``/actor`` that signs the node's own fetches,
as Mastodon's does), plus one ``Person`` per local member account (:mod:`node.membership.accounts`).
All have an RSA key for HTTP signatures and an Ed25519 Multikey (FEP-521a) for object proofs.
"""

from __future__ import annotations

from federation.client import Signer
from federation.multikey import multikey_document
from node.core.clock import iso
from node.core.config import Config
from node.core.keys import ActorKeys, KeyRing
from node.core.urls import INSTANCE_USERNAME, Urls
from node.core.vocabulary import context, place

ACTOR_CONTEXT = context(
    "https://w3id.org/security/v1",
    "https://w3id.org/security/multikey/v1",
    {
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "sharedInbox": {"@id": "as:sharedInbox", "@type": "@id"},  # missing from the published AS2 context
        "toot": "http://joinmastodon.org/ns#",
        "featured": {"@id": "toot:featured", "@type": "@id"},
        "discoverable": "toot:discoverable",
        "indexable": "toot:indexable",
        "assertionMethod": {"@id": "https://w3id.org/security#assertionMethod", "@type": "@id", "@container": "@set"},
    },
)


def local_usernames(config: Config) -> list[str]:
    return [config.node.name, INSTANCE_USERNAME]


def is_local_actor(config: Config, username: str) -> bool:
    return username in (config.node.name, INSTANCE_USERNAME)


def signer_for(urls: Urls, keys: ActorKeys) -> Signer:
    return Signer(key_id=urls.rsa_key_id(keys.username), private_key=keys.rsa_private)


def _keys_part(urls: Urls, keys: ActorKeys) -> dict:
    return _public_keys_part(urls, keys.username, keys.rsa_public_pem, keys.ed25519_public)


def _public_keys_part(urls: Urls, username: str, rsa_public_pem: str, ed25519_public) -> dict:
    actor_id = urls.actor(username)
    return {
        "publicKey": {"id": urls.rsa_key_id(username), "owner": actor_id, "publicKeyPem": rsa_public_pem},
        "assertionMethod": [
            multikey_document(key_id=urls.ed25519_key_id(username), controller=actor_id, public_key=ed25519_public)
        ],
    }


def chapter_document(config: Config, urls: Urls, keyring: KeyRing, *, published) -> dict:
    name = config.node.name
    actor_id = urls.actor(name)
    return {
        "@context": ACTOR_CONTEXT,
        "id": actor_id,
        "type": "Group",
        "preferredUsername": name,
        "name": config.node.display_name,
        "summary": config.node.summary,
        "url": urls.profile(name),
        "inbox": urls.inbox(name),
        "outbox": urls.outbox(name),
        "followers": urls.followers(name),
        "following": urls.following(name),
        "featured": urls.featured(name),
        "members": urls.members(name),
        "endpoints": {"sharedInbox": urls.shared_inbox},
        "manuallyApprovesFollowers": config.node.manually_approves_followers,
        "discoverable": True,
        "indexable": True,
        "published": iso(published),
        "level": config.node.level,
        **_facts_part(config),
        **_keys_part(urls, keyring[name]),
    }


def _facts_part(config: Config) -> dict:
    """Where the branch is and since when (``[node] location`` and ``founded``), when configured."""
    facts: dict = {}
    if config.node.location:
        facts["location"] = place(config.node.location)
    if config.node.founded:
        facts["founded"] = config.node.founded
    return facts


def person_document(
    urls: Urls, *, username: str, display_name: str, rsa_public_pem: str, ed25519_public, published
) -> dict:
    """A local member account (node/membership/accounts.py): a Person on the chapter's node."""
    return {
        "@context": ACTOR_CONTEXT,
        "id": urls.actor(username),
        "type": "Person",
        "preferredUsername": username,
        "name": display_name,
        "inbox": urls.inbox(username),
        "outbox": urls.outbox(username),
        "followers": urls.followers(username),
        "following": urls.following(username),
        "endpoints": {"sharedInbox": urls.shared_inbox},
        "manuallyApprovesFollowers": True,
        "discoverable": False,
        "indexable": False,
        "published": iso(published),
        **_public_keys_part(urls, username, rsa_public_pem, ed25519_public),
    }


def instance_document(config: Config, urls: Urls, keyring: KeyRing, *, published) -> dict:
    actor_id = urls.actor(INSTANCE_USERNAME)
    return {
        "@context": ACTOR_CONTEXT,
        "id": actor_id,
        "type": "Application",
        "preferredUsername": urls.host.split(":")[0],
        "name": f"{config.node.display_name} (server)",
        "summary": "The server itself; it signs the node's own requests.",
        "url": urls.base + "/",
        "inbox": urls.inbox(INSTANCE_USERNAME),
        "outbox": urls.outbox(INSTANCE_USERNAME),
        "endpoints": {"sharedInbox": urls.shared_inbox},
        "manuallyApprovesFollowers": True,
        "discoverable": False,
        "published": iso(published),
        **_keys_part(urls, keyring[INSTANCE_USERNAME]),
    }
