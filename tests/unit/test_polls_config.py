"""The [polls] section of the configuration."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from node.core.config import ConfigError, parse_config

BASE = {
    "node": {
        "base_url": "https://london.example",
        "listen": "127.0.0.1:8080",
        "name": "london",
        "display_name": "IOPS London",
    },
    "storage": {"database": "data/london.sqlite3"},
    "admin": {"token": "a-long-admin-token"},
}


def test_polls_update_interval_defaults_to_a_minute():
    assert parse_config(BASE, relative_to=Path("/tmp")).polls.update_interval_seconds == 60.0


def test_polls_update_interval_is_read():
    config = parse_config({**BASE, "polls": {"update_interval_seconds": 5}}, relative_to=Path("/tmp"))
    assert config.polls.update_interval_seconds == 5


@pytest.mark.parametrize(
    "polls, message",
    [
        ({"update_interval_seconds": 0}, "must be positive"),
        ({"update_interval_seconds": "soon"}, "must be a float"),
        ({"interval": 5}, "unknown key(s) in [polls]"),
    ],
)
def test_bad_polls_settings_are_refused_with_the_key_named(polls, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config({**BASE, "polls": polls}, relative_to=Path("/tmp"))
