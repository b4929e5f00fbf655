"""Offline JSON-LD: bundled contexts only, and the undefined-term check."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pyld import jsonld as pyld_jsonld

from federation import jsonld
from federation.jsonld import (
    AS_CONTEXT,
    BUNDLED_CONTEXTS,
    DATA_INTEGRITY_V1,
    MULTIKEY_V1,
    SECURITY_V1,
    expand,
    offline_document_loader,
    undefined_terms,
)
from federation.multikey import multikey_document
from federation.proofs import add_proof

AS = "http://www.w3.org/ns/activitystreams#"
SEC = "https://w3id.org/security#"


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("JSON-LD processing tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("url", sorted(BUNDLED_CONTEXTS))
def test_every_bundled_context_loads(url):
    remote = offline_document_loader(url)
    assert remote["documentUrl"] == url
    assert remote["contextUrl"] is None
    assert isinstance(remote["document"]["@context"], (dict, list))


@pytest.mark.parametrize("url", sorted(BUNDLED_CONTEXTS))
def test_every_bundled_context_is_a_valid_context(url):
    # Processing the context also resolves what it imports (security/v2 imports v1).
    assert expand({"@context": url, "@id": "https://a.example/x", "@type": "https://a.example/T"}) == [
        {"@id": "https://a.example/x", "@type": ["https://a.example/T"]}
    ]


def test_the_expected_urls_are_bundled():
    assert {AS_CONTEXT, SECURITY_V1, DATA_INTEGRITY_V1, MULTIKEY_V1} <= set(BUNDLED_CONTEXTS)


def test_loader_returns_a_fresh_copy():
    offline_document_loader(AS_CONTEXT)["document"]["@context"]["Note"] = "changed"
    assert offline_document_loader(AS_CONTEXT)["document"]["@context"]["Note"] == "as:Note"


def test_http_spelling_of_activitystreams_is_served():
    assert offline_document_loader("http://www.w3.org/ns/activitystreams")["document"]["@context"]["as"] == AS


@pytest.mark.parametrize(
    "url", ["https://example.com/context.jsonld", "http://127.0.0.1:1/ctx", "file:///etc/passwd", ""]
)
def test_unknown_urls_are_refused_without_fetching(url):
    with pytest.raises(pyld_jsonld.JsonLdError, match="only bundled contexts"):
        offline_document_loader(url)


def test_expand_with_an_unknown_remote_context_fails_cleanly():
    with pytest.raises(pyld_jsonld.JsonLdError):
        expand({"@context": "https://unknown.example/ns", "name": "x"})


def test_importing_does_not_replace_pyld_global_loader():
    assert pyld_jsonld.get_document_loader() is not offline_document_loader
    assert not hasattr(jsonld, "_previous_loader")


def test_expand_activitystreams_note():
    expanded = expand({"@context": AS_CONTEXT, "id": "https://a.example/n/1", "type": "Note", "content": "hi"})
    assert expanded == [{"@id": "https://a.example/n/1", "@type": [AS + "Note"], AS + "content": [{"@value": "hi"}]}]


def test_expand_multikey_actor():
    key = Ed25519PrivateKey.generate().public_key()
    actor = {
        "@context": [AS_CONTEXT, MULTIKEY_V1],
        "id": "https://a.example/users/ann",
        "type": "Person",
        "attachment": multikey_document(
            key_id="https://a.example/users/ann#k", controller="https://a.example/users/ann", public_key=key
        ),
    }
    node = expand(actor)[0][AS + "attachment"][0]
    assert node["@type"] == [SEC + "Multikey"]
    assert node[SEC + "controller"] == [{"@id": "https://a.example/users/ann"}]
    assert SEC + "publicKeyMultibase" in node


def test_undefined_terms_finds_nested_keys():
    document = {
        "@context": AS_CONTEXT,
        "type": "Note",
        "content": "x",
        "sensitive": False,
        "tag": [{"type": "Mention", "href": "https://b.example", "weird": 1}],
        "replies": {"type": "Collection", "totalItems": 0, "pageSize": 5},
    }
    assert undefined_terms(document) == ["pageSize", "sensitive", "weird"]


def test_undefined_terms_is_empty_for_a_well_defined_document():
    document = {
        "@context": [AS_CONTEXT, {"sensitive": "as:sensitive", "toot": "http://joinmastodon.org/ns#"}],
        "id": "https://a.example/n/1",
        "type": "Question",
        "sensitive": False,
        "toot:votersCount": 3,
        "https://example.org/ns#absolute": 1,
        "oneOf": [{"type": "Note", "name": "yes", "replies": {"type": "Collection", "totalItems": 2}}],
    }
    assert undefined_terms(document) == []


def test_undefined_terms_without_any_context_lists_every_key():
    assert undefined_terms({"a": 1, "b": {"c": 2}}) == ["a", "b", "c"]


def test_undefined_types_are_reported_on_request():
    document = {"@context": AS_CONTEXT, "type": "Multikey", "name": "k"}
    assert undefined_terms(document) == []
    assert undefined_terms(document, types=True) == ["Multikey"]
    document["@context"] = [AS_CONTEXT, MULTIKEY_V1]
    assert undefined_terms(document, types=True) == []


def test_a_signed_object_defines_every_term_including_its_proof():
    note = {
        "@context": [AS_CONTEXT, DATA_INTEGRITY_V1],
        "id": "https://a.example/n/1",
        "type": "Note",
        "attributedTo": "https://a.example/users/ann",
        "content": "hello",
    }
    signed = add_proof(
        note,
        private_key=Ed25519PrivateKey.generate(),
        verification_method="https://a.example/users/ann#ed25519-key",
        created=datetime(2025, 1, 1, tzinfo=UTC),
    )
    assert undefined_terms(signed, types=True) == []
    graph = expand(signed)[0][SEC + "proof"][0]["@graph"][0]
    assert graph["@type"] == [SEC + "DataIntegrityProof"]
    assert graph[SEC + "proofPurpose"] == [{"@id": SEC + "assertionMethod"}]


def test_a_proof_without_the_data_integrity_context_is_flagged():
    signed = add_proof(
        {"@context": AS_CONTEXT, "type": "Note", "content": "x"},
        private_key=Ed25519PrivateKey.generate(),
        verification_method="https://a.example/users/ann#k",
        created=datetime(2025, 1, 1, tzinfo=UTC),
    )
    assert "proof" in undefined_terms(signed)


def test_undefined_terms_does_not_modify_its_input():
    document = {"@context": [AS_CONTEXT], "type": "Note", "x": {"y": 1}}
    undefined_terms(document)
    assert document == {"@context": [AS_CONTEXT], "type": "Note", "x": {"y": 1}}
