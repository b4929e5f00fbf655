"""The config contract: the documented keys load; mistakes are refused with the key named."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.core.config import ConfigError, load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_example_config_loads_with_database_relative_to_the_file(tmp_path):
    path = write(tmp_path, EXAMPLE.read_text())
    config = load_config(path)
    assert config.node.name == "london" and config.node.level == "chapter"
    assert config.node.host == "127.0.0.1:8080" and config.node.listen_port == 8080
    assert config.storage.database == (tmp_path / "data" / "london.sqlite3").resolve()
    assert config.federation.allow_private_addresses is False and config.federation.authorized_fetch is False
    assert "change-me" not in repr(config)  # the token is kept out of reprs (and so out of logs)


MINIMAL = """
[node]
base_url = "https://chapter.example"
listen = "127.0.0.1:8080"
name = "london"
display_name = "IOPS London"
[storage]
database = "/tmp/x.sqlite3"
[admin]
token = "a-long-secret"
"""


@pytest.mark.parametrize(
    "change, message",
    [
        (('name = "london"', 'name = "London!"'), "name must be"),
        (('base_url = "https://chapter.example"', 'base_url = "chapter.example"'), "base_url must be"),
        (('base_url = "https://chapter.example"', 'base_url = "https://chapter.example/sub"'), "base_url must be"),
        (('listen = "127.0.0.1:8080"', 'listen = "8080"'), "listen must be host:port"),
        (('token = "a-long-secret"', 'token = "short"'), "token must be at least"),
        (("[admin]", '[admin]\ncolour = "red"'), "unknown key(s) in [admin]: colour"),
        (('name = "london"', 'name = "london"\nlevel = "galaxy"'), "level must be one of"),
        (('[storage]\ndatabase = "/tmp/x.sqlite3"', ""), "missing [storage]"),
        (('name = "london"', "name = 5"), "name must be a str"),
        (("[admin]", "[federation]\ninbox_lease_seconds = 10\n[admin]"), "inbox_lease_seconds must be longer"),
        (("[admin]", "[federation]\ndelivery_lease_seconds = 30\n[admin]"), "at least four delivery_timeout_seconds"),
    ],
)
def test_mistakes_are_refused_with_the_key_named(tmp_path, change, message):
    old, new = change
    with pytest.raises(
        ConfigError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(").replace(")", r"\)")
    ):
        load_config(write(tmp_path, MINIMAL.replace(old, new)))


def test_federation_values_are_type_checked(tmp_path):
    with pytest.raises(ConfigError, match="allow_private_addresses must be a bool"):
        load_config(write(tmp_path, MINIMAL + '[federation]\nallow_private_addresses = "yes"\n'))


def test_missing_file_and_bad_toml_say_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="chapterhouse init --config"):
        load_config(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[node\n"))


def test_allowed_networks_are_checked(tmp_path):
    config = load_config(write(tmp_path, MINIMAL + '[federation]\nallowed_networks = ["10.1.0.0/16", "fd00::/8"]\n'))
    assert [str(n) for n in config.federation.networks] == ["10.1.0.0/16", "fd00::/8"]
    with pytest.raises(ConfigError, match="allowed_networks: 'ten' is not a network"):
        load_config(write(tmp_path, MINIMAL + '[federation]\nallowed_networks = ["ten"]\n'))
    with pytest.raises(ConfigError, match="must be a list of networks"):
        load_config(write(tmp_path, MINIMAL + '[federation]\nallowed_networks = "10.0.0.0/8"\n'))
