"""Installed from its wheel, the node has what it needs: ``chapterhouse init`` writes a config
from the packaged example and ``chapterhouse serve`` answers a GET of its actor.

The wheel is built from a copy of the source (so concurrent builds never share a ``build/``
folder), installed with ``--no-deps`` into a fresh virtual environment without system site
packages, and its dependencies are found offline: one ``.pth`` line puts this environment's
site-packages after the fresh one's own, so ``node`` is imported from the wheel (checked) and
``pip check`` confirms that the wheel's declared dependencies are all there.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

from node.core.config import load_config
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("federation", "node", "inbox", "outbox", "pyproject.toml", "README.md", "config.example.toml")
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc")


def _run(*args: str | Path, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result


def _wheel(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=SKIP)
        else:
            shutil.copy2(ROOT / name, source / name)
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp_path / "dist", source, cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("chapterhouse-*.whl")
    return wheel


def _fresh_venv(tmp_path: Path, wheel: Path) -> Path:
    venv = tmp_path / "fresh"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel, cwd=tmp_path)
    fresh_site = Path(
        _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).stdout.strip()
    )
    (fresh_site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def _serve_answers_its_actor(venv: Path, config: Path, port: int) -> dict:
    node = subprocess.Popen(
        [venv / "bin" / "chapterhouse", "serve", "--config", config],
        cwd=config.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/users/london", headers={"Accept": "application/activity+json"}
        )
        deadline = time.monotonic() + 30
        while True:
            assert node.poll() is None, f"serve ended: {node.stdout.read().decode() if node.stdout else ''}"
            try:
                with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback only
                    return json.loads(response.read())
            except OSError:
                assert time.monotonic() < deadline, "serve never answered within 30 s"
                time.sleep(0.2)
    finally:
        node.send_signal(signal.SIGINT)
        try:
            node.wait(timeout=15)
        except subprocess.TimeoutExpired:
            node.kill()
            node.wait()


def test_the_wheel_installed_in_a_fresh_venv_inits_and_serves(tmp_path):
    venv = _fresh_venv(tmp_path, _wheel(tmp_path))
    python = venv / "bin" / "python"
    where = _run(python, "-c", "import node; print(node.__file__)", cwd=tmp_path).stdout
    assert where.startswith(str(venv)), f"node imported from {where}, not from the wheel"
    _run(sys.executable, "-m", "pip", "--python", python, "check", cwd=tmp_path)  # every declared dependency is there

    home = tmp_path / "home"
    home.mkdir()
    made = _run(venv / "bin" / "chapterhouse", "init", "--config", "config.toml", cwd=home)
    assert "admin token" in made.stdout
    config = home / "config.toml"
    port = free_port()
    text = config.read_text().replace("127.0.0.1:8080", f"127.0.0.1:{port}")
    config.write_text(text)
    assert load_config(config).admin.token != "change-me"

    actor = _serve_answers_its_actor(venv, config, port)
    assert actor["id"] == f"http://127.0.0.1:{port}/users/london" and actor["type"] == "Group"
    assert (home / "data" / "london.sqlite3").exists()


def test_the_packaged_example_config_is_the_top_level_one():
    packaged = (ROOT / "node" / "config.example.toml").read_text()
    assert packaged == (ROOT / "config.example.toml").read_text(), (
        "node/config.example.toml (shipped in the wheel for `chapterhouse init`) differs from config.example.toml:"
        " edit the top-level one, then `cp config.example.toml node/config.example.toml`"
    )
