"""How the fediverse finds a chapter: WebFinger, host-meta, NodeInfo, and the actor documents."""

from __future__ import annotations

import aiohttp

from federation.jsonld import undefined_terms
from federation.multikey import multibase_to_ed25519_public
from tests.support.c2s import get_json, publish


async def test_webfinger_resolves_handle_and_actor_url(make_node):
    node = await make_node("london")
    host = f"127.0.0.1:{node.config.node.listen_port}"
    for resource in (f"acct:london@{host}", node.actor_id, f"{node.base_url}/@london"):
        status, body = await get_json(f"{node.base_url}/.well-known/webfinger?resource={resource}", accept="*/*")
        assert status == 200, body
        assert body["subject"] == f"acct:london@{host}"
        self_link = next(link for link in body["links"] if link["rel"] == "self")
        assert self_link == {"rel": "self", "type": "application/activity+json", "href": node.actor_id}


async def test_webfinger_refusals_say_why(make_node):
    node = await make_node("london")
    host = f"127.0.0.1:{node.config.node.listen_port}"
    cases = {
        "": 400,
        "?resource=acct:nobody@" + host: 404,
        "?resource=acct:london@elsewhere.example": 404,
        "?resource=https://elsewhere.example/users/london": 404,
    }
    for query, expected in cases.items():
        status, body = await get_json(f"{node.base_url}/.well-known/webfinger{query}", accept="*/*")
        assert status == expected and body["error"], (query, body)


async def test_host_meta_points_to_webfinger(make_node):
    node = await make_node("london")
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{node.base_url}/.well-known/host-meta") as response:
            assert response.status == 200
            assert response.content_type == "application/xrd+xml"
            assert f'template="{node.base_url}/.well-known/webfinger?resource={{uri}}"' in await response.text()


async def test_nodeinfo_reports_real_usage(make_node):
    node = await make_node("london")
    status, index = await get_json(f"{node.base_url}/.well-known/nodeinfo", accept="*/*")
    assert status == 200
    hrefs = {link["rel"].rsplit("/", 1)[-1]: link["href"] for link in index["links"]}
    assert set(hrefs) == {"2.0", "2.1"}

    _, before = await get_json(hrefs["2.1"], accept="*/*")
    assert before["usage"]["localPosts"] == 0 and before["usage"]["users"]["activeMonth"] == 0
    for text in ("one", "two", "three"):
        assert (await publish(node, {"type": "Note", "content": text}))[0] == 201
    deleted = (await publish(node, {"type": "Note", "content": "gone"}))[1]["object"]
    assert (await publish(node, {"type": "Delete", "object": deleted}))[0] == 201

    for version in ("2.0", "2.1"):
        status, info = await get_json(hrefs[version], accept="*/*")
        assert status == 200 and info["version"] == version
        assert info["software"]["name"] == "chapterhouse" and info["protocols"] == ["activitypub"]
        assert info["usage"]["localPosts"] == 3  # the deleted one does not count
        assert info["usage"]["users"] == {"total": 1, "activeMonth": 1, "activeHalfyear": 1}


async def test_chapter_actor_is_a_complete_group(make_node):
    node = await make_node("london")
    status, actor = await get_json(node.actor_id)
    assert status == 200
    assert actor["id"] == node.actor_id and actor["type"] == "Group"
    for name in ("inbox", "outbox", "followers", "following", "featured"):
        assert actor[name] == f"{node.actor_id}/{name}"
    assert actor["url"] == f"{node.base_url}/@london"
    assert actor["endpoints"]["sharedInbox"] == f"{node.base_url}/inbox"
    assert actor["publicKey"]["id"] == f"{node.actor_id}#main-key"
    assert actor["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    multikey = actor["assertionMethod"][0]
    assert multikey["type"] == "Multikey" and multikey["controller"] == node.actor_id
    multibase_to_ed25519_public(multikey["publicKeyMultibase"])  # a valid Ed25519 key
    assert actor["manuallyApprovesFollowers"] is False and actor["discoverable"] is True
    assert undefined_terms(actor) == []  # every term we publish is defined by our @context


async def test_keys_survive_a_restart(make_node, tmp_path):
    from tests.support.nodes import node_config, start_node

    config = node_config(tmp_path, "london")
    first = await start_node(config)
    _, before = await get_json(first.actor_id)
    await first.stop()
    second = await start_node(config)
    try:
        _, after = await get_json(second.actor_id)
    finally:
        await second.stop()
    assert after["publicKey"] == before["publicKey"]
    assert after["assertionMethod"] == before["assertionMethod"]


async def test_instance_actor_and_content_negotiation(make_node):
    node = await make_node("london")
    status, instance = await get_json(f"{node.base_url}/actor")
    assert status == 200 and instance["type"] == "Application"
    assert instance["publicKey"]["id"] == f"{node.base_url}/actor#main-key"
    assert undefined_terms(instance) == []

    async with aiohttp.ClientSession() as session:
        accept = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
        async with session.get(node.actor_id, headers={"Accept": accept}) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("application/ld+json")
            assert 'profile="https://www.w3.org/ns/activitystreams"' in response.headers["Content-Type"]
        async with session.get(node.actor_id, headers={"Accept": "text/html"}, allow_redirects=False) as response:
            assert response.status == 302 and response.headers["Location"] == f"{node.base_url}/@london"
        async with session.get(f"{node.base_url}/@london") as response:
            assert response.status == 200 and "IOPS London" in await response.text()


async def test_unknown_paths_and_methods_answer_json(make_node):
    node = await make_node("london")
    async with aiohttp.ClientSession() as session:
        for method, path, expected in (
            ("GET", "/nope", 404),
            ("DELETE", "/inbox", 405),
            ("GET", "/users/nobody", 404),
            ("GET", "/objects/not-there", 404),
            ("GET", "/users/london/followers?page=x", 400),
        ):
            async with session.request(method, node.base_url + path) as response:
                assert response.status == expected, path
                assert (await response.json())["error"]
