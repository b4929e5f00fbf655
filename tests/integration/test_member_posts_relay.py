"""A member's blog post climbs the tree: world <- europe <- london, three real nodes on loopback.

A member of London writes a blog post on London's pages; London boosts it (an ``Announce`` of the
post's id); Europe fetches it from London, checks it, keeps it among its subtree's posts and
announces it to its followers and to World, which checks it again against London. A follower of
World gets it once, World's home page shows it with London's name. Boosts that must not be
relayed (a stranger's, of a post on another host, of a post that is not public, of a document
whose id is not the one asked for, of a post attributed to another host's actor) are not, and a
post fetched and refused leaves the Announce dead in the inbox with the reason. When the member
deletes the post, London takes its boost back and every level does the same; a sibling cannot take
back London's post.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace

from node.core.db import fetch_all
from tests.support.accounts import approved_account
from tests.support.c2s import eventually, get_json, publish
from tests.support.content import inbox_outcome
from tests.support.forms import browser_like_session, form_token, post_form
from tests.support.hostile import HostileGroup
from tests.support.tree import host_of, ids_in, link, post_signed_as, tree_config, tree_of, wait_linked

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


async def _three_levels(make_node, tmp_path, *, also_under_europe: tuple[str, ...] = ()):
    """world <- europe <- london; london's report reached world through europe."""
    europe_config = tree_config(tmp_path, "europe", "region")
    london_config = tree_config(tmp_path, "london", "chapter")
    world = await make_node(
        config=tree_config(tmp_path, "world", "international", accept_children_from=(host_of(europe_config.node),))
    )
    europe = await make_node(
        config=replace(
            europe_config,
            tree=replace(europe_config.tree, accept_children_from=(host_of(london_config.node), *also_under_europe)),
        )
    )
    london = await make_node(config=london_config)
    for child, parent in ((europe, world), (london, europe)):
        assert (await link(child, parent))[0] == 201
        await wait_linked(child, parent)

    async def london_in_worlds_tree() -> bool:
        return london.actor_id in ids_in(await tree_of(world))

    await eventually(london_in_worlds_tree, timeout=15)
    return world, europe, london


async def _write(session, node, title: str, text: str) -> str:
    """A signed-in member publishes a blog post from the page: its id."""
    status, _, headers = await post_form(
        session, node, "/write/blog", {"title": title, "content": text}, allow_redirects=False
    )
    assert status == 303, status
    return headers["Location"]


async def _member_writes(node, username: str, title: str, text: str) -> str:
    """``username`` signs up on ``node``'s pages, the admin approves, and they publish a blog post: its id."""
    async with browser_like_session() as session:
        await approved_account(session, node, username)
        return await _write(session, node, title, text)


async def _delete(session, post: str) -> None:
    """The author deletes their post from its page (the form's CSRF token from that page)."""
    async with session.get(post, headers={"Accept": "text/html"}) as response:
        token = form_token(await response.text(), f"{post}/delete")
    async with session.post(f"{post}/delete", data={"csrf_token": token}) as response:
        assert response.status == 200, response.status


async def _followed_by(node, *followers) -> None:
    for follower in followers:
        assert (await follower.post(node.inbox, follower.activity("Follow", node.actor_id)))[0] == 202
    await eventually(
        lambda: asyncio.sleep(0, all(any(r.activity["type"] == "Accept" for r in f.received) for f in followers))
    )


def _boosts_of(follower, post_id: str) -> list[dict]:
    return [
        r.activity
        for r in follower.received
        if r.activity.get("type") == "Announce" and r.activity.get("object") == post_id
    ]


def _undone_boosts(follower, post_id: str) -> list[dict]:
    return [
        r.activity
        for r in follower.received
        if r.activity.get("type") == "Undo"
        and isinstance(r.activity.get("object"), dict)
        and r.activity["object"].get("object") == post_id
    ]


async def _kept(node) -> list[dict]:
    rows = await fetch_all(
        node.db.reader,
        "SELECT post_id, origin_id, via_child, kind FROM branch_subtree_posts ORDER BY post_id",
        (),
    )
    return [dict(row) for row in rows]


async def _home(node) -> str:
    async with browser_like_session() as session, session.get(f"{node.base_url}/") as response:
        assert response.status == 200
        return await response.text()


async def test_a_members_blog_post_reaches_the_international_once(make_node, tmp_path, remote_actor):
    world, europe, london = await _three_levels(make_node, tmp_path)
    ann = await remote_actor("ann")
    await _followed_by(world, ann)

    async with browser_like_session() as maria:
        await approved_account(maria, london, "maria")
        await _climbs_once_and_goes(world, europe, london, ann, maria)


async def _climbs_once_and_goes(world, europe, london, ann, maria) -> None:
    post = await _write(maria, london, "Why we read together", "Reading circles make friends.")
    status, served = await get_json(post)
    assert status == 200 and served["attributedTo"] == f"{london.base_url}/users/maria", served

    async def at_the_top() -> list[dict]:
        return [row for row in await _kept(world) if row["post_id"] == post]

    kept = await eventually(at_the_top, timeout=30)
    assert kept == [{"post_id": post, "origin_id": london.actor_id, "via_child": europe.actor_id, "kind": "blog"}]
    assert [row for row in await _kept(europe) if row["post_id"] == post] == [
        {"post_id": post, "origin_id": london.actor_id, "via_child": london.actor_id, "kind": "blog"}
    ]
    home = await _home(world)
    blogs = home.split("Blogs from the branches", 1)[1]
    assert "Why we read together" in blogs and f'href="{post}"' in blogs and "IOPS London" in blogs
    boosts = await eventually(lambda: asyncio.sleep(0, _boosts_of(ann, post)), timeout=15)
    assert boosts[0]["actor"] == world.actor_id and boosts[0]["audience"] == london.actor_id

    # London boosts it again (a second Announce of the same post): nobody gets it twice, nothing is fetched again
    again = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{london.base_url}/activities/{uuid.uuid4()}",
        "type": "Announce",
        "actor": london.actor_id,
        "object": post,
        "to": [PUBLIC],
        "cc": [f"{london.actor_id}/followers"],
    }
    assert (await post_signed_as(london, europe.inbox, again))[0] == 202
    barrier = await _member_writes(london, "nadia", "A barrier", "Everything before this was handled.")
    await eventually(lambda: asyncio.sleep(0, _boosts_of(ann, barrier)), timeout=30)
    assert len(_boosts_of(ann, post)) == 1
    assert await inbox_outcome(europe, again["id"]) == ("done", None)
    assert len([row for row in await _kept(world) if row["post_id"] == post]) == 1

    # maria deletes it: London takes its boost back, and so does every level, each from its own followers
    await _delete(maria, post)
    await eventually(lambda: asyncio.sleep(0, _undone_boosts(ann, post)), timeout=30)
    assert [row for row in await _kept(world) if row["post_id"] == post] == []
    assert [row for row in await _kept(europe) if row["post_id"] == post] == []
    assert "Why we read together" not in await _home(world)
    (undo,) = _undone_boosts(ann, post)
    assert undo["actor"] == world.actor_id and undo["object"]["id"] == boosts[0]["id"]


def _boost(sender_id: str, base: str, post_id: str, **extra) -> dict:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{base}/activities/{uuid.uuid4()}",
        "type": "Announce",
        "actor": sender_id,
        "object": post_id,
        "to": [PUBLIC],
        "cc": [f"{sender_id}/followers"],
        **extra,
    }


def _note(post_id: str, author: str, text: str, **addressing) -> dict:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": post_id,
        "type": "Note",
        "postKind": "blog",
        "attributedTo": author,
        "content": f"<p>{text}</p>",
        **(addressing or {"to": [PUBLIC]}),
    }


async def test_boosts_that_are_not_relayed(make_node, tmp_path, remote_actor):
    mallory = HostileGroup("mallory", "chapter")
    await mallory.start()
    try:
        await _refused_boosts(make_node, tmp_path, remote_actor, mallory)
    finally:
        await mallory.stop()


async def _refused_boosts(make_node, tmp_path, remote_actor, mallory: HostileGroup) -> None:
    _world, europe, london = await _three_levels(make_node, tmp_path, also_under_europe=(mallory.host,))
    await mallory.join(europe)
    ann, stranger = await remote_actor("ann"), await remote_actor("stranger")
    await _followed_by(europe, ann)

    # a stranger boosts a genuine member's post of London: not relayed, nothing kept
    genuine = await _member_writes(london, "maria", "Genuine words", "London's member wrote this.")
    await eventually(lambda: asyncio.sleep(0, _boosts_of(ann, genuine)), timeout=30)
    strangers = _boost(stranger.id, stranger.base, f"{london.base_url}/objects/{uuid.uuid4()}")
    assert (await stranger.post(europe.inbox, strangers))[0] == 202
    # London (a linked child) boosts a public post on another host: not relayed, nothing fetched
    elsewhere = stranger.new_id("notes")
    stranger.documents[elsewhere] = _note(elsewhere, stranger.id, "relay me from elsewhere")
    other_host = _boost(london.actor_id, london.base_url, elsewhere)
    assert (await post_signed_as(london, europe.inbox, other_host))[0] == 202
    # London boosts its own followers-only post: fetched (and not served to others), refused with the reason
    status, body, _ = await publish(
        london, {"type": "Note", "content": "<p>for followers</p>", "to": [f"{london.actor_id}/followers"]}
    )
    assert status == 201, body
    private = _boost(london.actor_id, london.base_url, body["object"])
    assert (await post_signed_as(london, europe.inbox, private))[0] == 202
    # mallory, a linked child, serves another post at the id it boosts, and a post of a stranger's actor
    asked = mallory.new_id("objects")
    mallory.serve(asked.split(mallory.base, 1)[1], _note(mallory.new_id("objects"), mallory.actor_id(), "swapped"))
    swapped = _boost(mallory.actor_id(), mallory.base, asked)
    borrowed_id = mallory.new_id("objects")
    mallory.serve(borrowed_id.split(mallory.base, 1)[1], _note(borrowed_id, stranger.id, "a stranger's words"))
    borrowed = _boost(mallory.actor_id(), mallory.base, borrowed_id)
    unlisted_id = mallory.new_id("objects")
    mallory.serve(
        unlisted_id.split(mallory.base, 1)[1],
        _note(unlisted_id, mallory.actor_id(), "unlisted", to=[f"{mallory.actor_id()}/followers"], cc=[PUBLIC]),
    )
    unlisted = _boost(mallory.actor_id(), mallory.base, unlisted_id)
    for boost in (swapped, borrowed, unlisted):
        assert (await mallory.post(europe.inbox, boost))[0] == 202
    # mallory takes back London's genuine post, as if it had boosted it: nothing changes
    taken_back = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": mallory.new_id(),
        "type": "Undo",
        "actor": mallory.actor_id(),
        "object": _boost(mallory.actor_id(), mallory.base, genuine, audience=london.actor_id),
        "to": [PUBLIC],
    }
    assert (await mallory.post(europe.inbox, taken_back))[0] == 202

    barrier = await _member_writes(london, "nadia", "A barrier", "Everything before this was handled.")
    await eventually(lambda: asyncio.sleep(0, _boosts_of(ann, barrier)), timeout=30)
    await europe.settle()
    kept = {row["post_id"] for row in await _kept(europe)}
    assert kept == {genuine, barrier}
    relayed = [r.activity.get("object") for r in ann.received if r.activity.get("type") == "Announce"]
    assert sorted(relayed) == sorted([genuine, barrier])
    assert not [r for r in ann.received if r.activity.get("type") == "Undo"]
    for quiet in (strangers, other_host):
        assert await inbox_outcome(europe, quiet["id"]) == ("done", None)
    for refused, reason in (
        (private, "serves nothing at"),
        (swapped, "serves a document whose id is"),
        (borrowed, "not to an actor on the host of"),
        (unlisted, "is not addressed to the public"),
    ):
        state, error = await inbox_outcome(europe, refused["id"])
        assert state == "dead" and "is not relayed" in error and reason in error, (state, error)
