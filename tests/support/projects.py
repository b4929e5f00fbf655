"""The projects tests' tree: world (international) <- region <- chapter, on real nodes on loopback."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

from node.core.clock import to_epoch
from node.core.config import ProjectsConfig
from node.membership import members
from node.projects import store
from tests.support.c2s import eventually
from tests.support.tree import host_of, link, tree_config, tree_of, wait_linked


async def three_levels(
    make_node, tmp_path, member_ids: list[str] = (), *, world_projects: ProjectsConfig | None = None
) -> dict:
    """world <- region <- chapter, linked, once world holds the chapter's report; ``member_ids`` are
    active members of the chapter; ``world_projects`` is world's ``[projects]`` (the default's else)."""
    chapter_config = tree_config(tmp_path, "chapter", "chapter")
    region_config = tree_config(tmp_path, "region", "region", accept_children_from=(host_of(chapter_config.node),))
    world_config = tree_config(tmp_path, "world", "international", accept_children_from=(host_of(region_config.node),))
    if world_projects is not None:
        world_config = replace(world_config, projects=world_projects)
    nodes = {
        "world": await make_node(config=world_config),
        "region": await make_node(config=region_config),
        "chapter": await make_node(config=chapter_config),
    }
    async with nodes["chapter"].db.transaction() as conn:
        for actor_id in member_ids:
            await members.upsert_member(
                conn, chapter="chapter", actor_id=actor_id, state="active", now=to_epoch(datetime.now(UTC))
            )
    assert (await link(nodes["region"], nodes["world"]))[0] == 201
    await wait_linked(nodes["region"], nodes["world"])
    assert (await link(nodes["chapter"], nodes["region"]))[0] == 201
    await wait_linked(nodes["chapter"], nodes["region"])

    async def chapter_reported():
        return any(child["children"] for child in (await tree_of(nodes["world"]))["children"])

    await eventually(chapter_reported, timeout=20)
    return nodes


async def project_with_drafts(node, signatures: dict[str, list[str]]) -> tuple[str, list[str]]:
    """A project with one draft per entry of ``signatures`` (its title -> who signed it)."""
    project_id = f"{node.base_url}/objects/{uuid.uuid4()}"
    drafts = []
    async with node.db.transaction() as conn:
        await store.insert_project(
            conn,
            project_id=project_id,
            title="Our charter",
            aim="Give the organisation a charter.",
            default_option="Keep the statutes as they are.",
            started_by=f"{node.base_url}/users/ann",
            opened=True,
            now=1000.0,
        )
        for number, title in enumerate(signatures):
            draft_id = f"{node.base_url}/objects/{uuid.uuid4()}"
            drafts.append(draft_id)
            await store.insert_draft(
                conn,
                draft_id=draft_id,
                project_id=project_id,
                title=title,
                text=f"The text of {title}.",
                author=f"{node.base_url}/users/ann",
                now=1000.0 + number,
            )
            for actor in signatures[title]:
                await store.sign(conn, draft_id, actor, via="page", activity_id=None, now=1000.0 + number)
    return project_id, drafts
