"""``chapterhouse link`` and ``chapterhouse unlink`` against running nodes: WebFinger, the outbox, the outcome."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from node.cli import main
from tests.support.nodes import ADMIN_TOKEN
from tests.support.tree import host_of, tree_config, wait_linked, wait_unlinked


def _config_file(tmp_path, config) -> str:
    path = tmp_path / f"{config.node.name}.toml"
    path.write_text(
        f'[node]\nbase_url = "{config.node.base_url}"\nlisten = "{config.node.listen}"\nname = "{config.node.name}"\n'
        f'display_name = "{config.node.display_name}"\nlevel = "{config.node.level}"\n\n'
        f'[storage]\ndatabase = "{config.storage.url or config.storage.database}"\n\n[admin]\ntoken = "{ADMIN_TOKEN}"\n'
    )
    return str(path)


@pytest.fixture
def root_logging():
    """``main`` configures the root logger, as the command does; put the test run's back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


async def test_link_and_unlink_from_the_command_line(make_node, tmp_path, capsys, root_logging):
    london_config = tree_config(tmp_path, "london", "chapter")
    europe = await make_node(
        config=tree_config(tmp_path, "europe", "region", accept_children_from=(host_of(london_config.node),))
    )
    london = await make_node(config=london_config)
    path = _config_file(tmp_path, london_config)

    handle = f"@europe@{host_of(europe.config.node)}"
    assert await asyncio.to_thread(main, ["link", "--config", path, handle]) == 0
    outcome = json.loads(capsys.readouterr().out)
    assert outcome["status"] == 201 and outcome["type"] == "Join"
    await wait_linked(london, europe)

    assert await asyncio.to_thread(main, ["link", "--config", path, handle]) == 1  # a second time: refused
    assert "already linked" in json.loads(capsys.readouterr().out)["error"]

    assert await asyncio.to_thread(main, ["unlink", "--config", path]) == 0
    assert json.loads(capsys.readouterr().out)["type"] == "Leave"
    await wait_unlinked(london, europe)
    assert await asyncio.to_thread(main, ["unlink", "--config", path]) == 1
    assert "no parent" in json.loads(capsys.readouterr().out)["error"]
