"""A first start ends in one line that says what to do, never a traceback or a hung process."""

from __future__ import annotations

import errno
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from node.core.config import ConfigError, load_config
from node.core.preflight import explain, problems, warnings

ROOT = Path(__file__).resolve().parents[2]
CHAPTERHOUSE = [sys.executable, "-m", "node.cli"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CHAPTERHOUSE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


def config_file(tmp_path: Path, **node: str) -> Path:
    text = (ROOT / "config.example.toml").read_text()
    for key, value in node.items():
        text = text.replace(
            next(line for line in text.splitlines() if line.startswith(f"{key} =")), f'{key} = "{value}"'
        )
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_init_writes_a_config_with_a_random_token_and_says_where(tmp_path):
    result = run("init", "--config", "config.toml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "config.toml" in result.stdout and "admin token" in result.stdout
    config = load_config(tmp_path / "config.toml")
    assert config.admin.token != "change-me" and len(config.admin.token) >= 40
    again = run("init", "--config", "config.toml", cwd=tmp_path)
    assert again.returncode == 2 and "exists already" in again.stderr  # never overwrites


def test_the_example_token_refuses_to_start_off_loopback(tmp_path):
    config = load_config(config_file(tmp_path, listen="0.0.0.0:8080"))
    assert "change-me" in problems(config)[0] and "127.0.0.1" in problems(config)[0]
    assert not [p for p in problems(load_config(config_file(tmp_path, listen="127.0.0.1:0"))) if "token" in p]


def test_a_port_in_use_is_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        path = config_file(tmp_path, listen=f"127.0.0.1:{port}", base_url=f"http://127.0.0.1:{port}")
        result = run("serve", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "already in use" in result.stderr and "[node] listen" in result.stderr


def test_an_unwritable_data_folder_is_one_line(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    text = (
        config_file(tmp_path)
        .read_text()
        .replace('database = "data/london.sqlite3"', 'database = "a-file/london.sqlite3"')
    )
    path = tmp_path / "config.toml"
    path.write_text(text)
    result = run("serve", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0, result.stderr
    assert "cannot make the data folder" in result.stderr and "[storage] database" in result.stderr


def test_a_read_only_database_and_a_port_in_use_are_explained(tmp_path):
    config = load_config(config_file(tmp_path))
    assert "read-only" in explain(sqlite3.OperationalError("attempt to write a readonly database"), config)
    assert "already in use" in explain(OSError(errno.EADDRINUSE, "in use"), config)


def test_base_url_and_listen_that_disagree_get_a_warning(tmp_path):
    config = load_config(config_file(tmp_path, base_url="http://127.0.0.1:9000", listen="127.0.0.1:8080"))
    assert "9000" in warnings(config)[0] and "8080" in warnings(config)[0]
    assert warnings(load_config(config_file(tmp_path))) == []


def test_unknown_tables_and_keys_are_refused_by_name(tmp_path):
    path = config_file(tmp_path)
    path.write_text(path.read_text() + "\n[nodes]\nname = 'x'\n")
    with pytest.raises(ConfigError, match=r"unknown table\(s\) \[nodes\]"):
        load_config(path)
    path = config_file(tmp_path)
    path.write_text(path.read_text().replace("[node]\n", "[node]\ncolor = '#000000'\n"))
    with pytest.raises(ConfigError, match=r"unknown key.*color"):
        load_config(path)


def test_the_page_keys_are_checked(tmp_path):
    for key, value, says in (
        ("colour", "red", "#rrggbb"),
        ("language", "fr", "language"),
        ("timezone", "Mars/Olympus", "IANA"),
        ("logo_url", "ftp://x", "logo_url"),
    ):
        path = config_file(tmp_path, **{key: value})
        with pytest.raises(ConfigError, match=says):
            load_config(path)
