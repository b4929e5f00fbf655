"""Smoke test of the bovine interoperability harness: two independent bovine peers
(alice and bob) find, fetch and follow each other. No Chapterhouse code involved."""

# The bovine_peer and bovine_python fixtures come from tests/conftest.py.


async def test_two_bovine_peers_lookup_fetch_follow(bovine_peer):
    alice = await bovine_peer("alice")
    bob = await bovine_peer("bob")
    assert alice.actor_id == f"{alice.base_url}/users/alice"

    # WebFinger over plain http on loopback, then a signed GET, both by bovine.
    found = await alice.lookup(bob.account)
    assert found["actor_id"] == bob.actor_id
    assert found["actor"]["id"] == bob.actor_id
    assert found["actor"]["type"] == "Person"
    assert found["actor"]["publicKey"]["owner"] == bob.actor_id

    fetched = await alice.fetch(bob.actor_id)
    assert fetched["status"] == 200
    assert fetched["document"]["inbox"] == found["actor"]["inbox"]

    followed = await alice.follow(bob.actor_id)
    assert followed["status"] == 202, followed

    entry = await bob.wait_for(
        lambda e: e["activity"]["type"] == "Follow" and e["activity"]["id"] == followed["follow_id"]
    )
    assert entry["verified"] is True, entry
    assert entry["signer"] == alice.actor_id
    assert entry["error"] is None
    assert entry["activity"]["actor"] == alice.actor_id
    assert entry["activity"]["object"] == bob.actor_id

    # bob auto-accepts; alice verifies bob's signature on the Accept.
    accept = await alice.wait_for(lambda e: e["activity"]["type"] == "Accept")
    assert accept["verified"] is True, accept
    assert accept["signer"] == bob.actor_id
    assert accept["activity"]["object"]["id"] == followed["follow_id"]

    undone = await alice.undo_follow(followed["follow_id"])
    assert undone["status"] == 202, undone
    undo = await bob.wait_for(lambda e: e["activity"]["type"] == "Undo")
    assert undo["verified"] is True
    assert undo["activity"]["object"]["id"] == followed["follow_id"]


async def test_bovine_peer_rejects_forged_signatures(bovine_peer):
    alice = await bovine_peer("alice")
    bob = await bovine_peer("bob")

    # An activity claiming to be from alice but signed by bob: bovine's checker
    # verifies bob's key, so the signer it reports is bob, not alice.
    sent = await bob.send(alice.inbox, {"type": "Like", "actor": alice.actor_id, "object": "http://127.0.0.1:1/x"})
    assert sent["status"] == 202
    entry = await alice.wait_for(lambda e: e["activity"]["id"] == sent["id"])
    assert entry["verified"] is True and entry["signer"] == bob.actor_id

    # Unsigned and tampered deliveries are recorded as unverified (still 202).
    import aiohttp

    async with aiohttp.ClientSession() as session:
        async with session.post(alice.inbox, json={"type": "Create", "id": "urn:x:unsigned"}) as r:
            assert r.status == 202
    unsigned = await alice.wait_for(lambda e: e["activity"]["id"] == "urn:x:unsigned")
    assert unsigned["verified"] is False and unsigned["signer"] is None
    assert "Signature" in unsigned["error"]

    headers = {k: v for k, v in entry["headers"].items() if k in ("date", "digest", "signature", "content-type")}
    async with aiohttp.ClientSession() as session:
        async with session.post(alice.inbox, data=b'{"id": "urn:x:tampered"}', headers=headers) as r:
            assert r.status == 202
    tampered = await alice.wait_for(lambda e: e["activity"]["id"] == "urn:x:tampered")
    assert tampered["verified"] is False and tampered["signer"] is None
    assert "Digest" in tampered["error"]


async def test_bovine_peer_checks_rfc9421_signatures(bovine_peer, aiohttp_server):
    """bovine's checker must handle RFC 9421 (guards the http-sf pin in
    tests/peers/bovine_peer/requirements.txt). Signed by hand here, key served by a
    throwaway aiohttp app."""
    import base64
    import hashlib
    import json
    import time

    from aiohttp import ClientSession, web
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    docs = {}

    async def serve_actor(request):
        return web.json_response(docs["actor"], content_type="application/activity+json")

    app = web.Application()
    app.router.add_get("/users/signer", serve_actor)
    server = await aiohttp_server(app, host="127.0.0.1")
    actor = str(server.make_url("/users/signer"))
    docs["actor"] = {
        "id": actor,
        "type": "Person",
        "inbox": actor + "/inbox",
        "outbox": actor + "/outbox",
        "publicKey": {"id": actor + "#main-key", "owner": actor, "publicKeyPem": pem},
    }

    alice = await bovine_peer("alice")

    async def post(activity_id: str, corrupt: bool) -> dict:
        body = json.dumps({"id": activity_id, "type": "Create", "actor": actor}).encode()
        digest = "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
        params = (
            f'("@method" "@path" "@authority" "content-digest");created={int(time.time())};'
            f'keyid="{actor}#main-key";alg="rsa-v1_5-sha256"'
        )
        base = (
            f'"@method": POST\n"@path": /users/alice/inbox\n'
            f'"@authority": 127.0.0.1:{alice.port}\n"content-digest": {digest}\n'
            f'"@signature-params": {params}'
        )
        signature = key.sign(base.encode(), padding.PKCS1v15(), hashes.SHA256())
        if corrupt:
            signature = bytes([signature[0] ^ 1]) + signature[1:]
        headers = {
            "content-type": "application/activity+json",
            "content-digest": digest,
            "signature-input": f"sig1={params}",
            "signature": f"sig1=:{base64.b64encode(signature).decode()}:",
        }
        async with ClientSession() as session:
            async with session.post(alice.inbox, data=body, headers=headers) as resp:
                assert resp.status == 202
        return await alice.wait_for(lambda e: e["activity"]["id"] == activity_id)

    good = await post("urn:x:rfc9421-good", corrupt=False)
    assert good["verified"] is True, good
    assert good["signer"] == actor
    bad = await post("urn:x:rfc9421-bad", corrupt=True)
    assert bad["verified"] is False and bad["signer"] is None, bad
