"""A Chapterhouse node run as a child process, so a test can ``kill -9`` it and start it again.

The node gets its own TOML config (``config.example.toml`` with every key it has, and this
node's name, port, database and admin token), SQLite file and loopback port; it is started
as ``python -m node.cli serve --config PATH`` from the repository root with its output
appended to a log file. :meth:`SubprocessNode.kill` sends SIGKILL (no
cleanup runs in the child: exactly a crash), :meth:`SubprocessNode.restart` starts it again on
the same port and the same database. Use it through a fixture that calls ``kill()`` in a
``finally`` so no child outlives its test.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import aiohttp

from tests.support.nodes import ADMIN_TOKEN, free_port
from tests.support.stores import TEST_POOL_SIZE, database_address, on_postgres

REPO_ROOT = Path(__file__).resolve().parents[2]


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {value!r} as a TOML value")


def _dump_toml(raw: dict) -> str:
    """Tables of plain values (all config.example.toml has) back to TOML text."""
    lines = []
    for section, table in raw.items():
        if not isinstance(table, dict):
            raise TypeError(f"top-level key {section} is not a table")
        lines.append(f"[{section}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in table.items()]
        lines.append("")
    return "\n".join(lines)


class SubprocessNode:
    def __init__(
        self,
        directory: Path,
        name: str = "london",
        *,
        port: int | None = None,
        overrides: dict[str, dict] | None = None,
    ) -> None:
        self.name = name
        self.overrides = overrides or {}  # {table: {key: value}} written over config.example.toml's
        self.port = port or free_port()
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.config_path = directory / f"{name}.toml"
        self.database = database_address(directory / f"{name}.sqlite3", name)  # a path, or a PostgreSQL URL
        self.log_path = directory / f"{name}.log"
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self._write_config()

    # --- addresses, as on tests.support.nodes.RunningNode (so tests.support.c2s works with both) ---

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def actor_id(self) -> str:
        return f"{self.base_url}/users/{self.name}"

    @property
    def inbox(self) -> str:
        return f"{self.actor_id}/inbox"

    @property
    def outbox(self) -> str:
        return f"{self.actor_id}/outbox"

    @property
    def shared_inbox(self) -> str:
        return f"{self.base_url}/inbox"

    # --- lifecycle ------------------------------------------------------------------------------

    def _write_config(self) -> None:
        """config.example.toml with every key it has, and this node's name, port, database and token."""
        raw = tomllib.loads((REPO_ROOT / "config.example.toml").read_text(encoding="utf-8"))
        raw["node"].update(
            base_url=self.base_url,
            listen=f"127.0.0.1:{self.port}",
            name=self.name,
            display_name=f"IOPS {self.name.title()}",
            summary=f"The {self.name} chapter.",
        )
        raw["storage"]["database"] = self.database
        if on_postgres():
            raw["storage"]["pool_size"] = TEST_POOL_SIZE
        raw["admin"]["token"] = ADMIN_TOKEN
        raw.setdefault("federation", {})["allow_private_addresses"] = True
        for table, values in self.overrides.items():
            raw.setdefault(table, {}).update(values)
        self.config_path.write_text(_dump_toml(raw), encoding="utf-8")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def start(self, *, timeout: float = 30.0) -> SubprocessNode:
        """Start the child and wait (at most ``timeout`` seconds) until ``GET /healthz`` answers 200.

        On the first start only, a port taken meanwhile (by an outgoing connection) is replaced
        with a fresh one; a restart keeps its port, since ids already went out with it.
        """
        for attempt in range(5):
            try:
                return await self._start_once(timeout)
            except AssertionError:
                if self.starts > 1 or attempt == 4 or "address already in use" not in self.log_tail().lower():
                    raise
                self.port = free_port()
                self._write_config()
                self.starts = 0
        raise AssertionError("unreachable")

    async def _start_once(self, timeout: float) -> SubprocessNode:
        if self.running:
            raise RuntimeError(f"{self.name} is already running (pid {self.process.pid})")
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start #{self.starts} on port {self.port} =====\n".encode())
            log.flush()
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            self.process = subprocess.Popen(
                [sys.executable, "-m", "node.cli", "serve", "--config", str(self.config_path)],
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        await self._wait_healthy(timeout)
        return self

    async def _wait_healthy(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        last = "no answer yet"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while True:
                if self.process.poll() is not None:
                    raise AssertionError(
                        f"{self.name} exited with {self.process.returncode} before it was healthy;"
                        f" log tail:\n{self.log_tail()}"
                    )
                try:
                    async with session.get(f"{self.base_url}/healthz") as response:
                        if response.status == 200:
                            return
                        last = f"HTTP {response.status}"
                except (TimeoutError, aiohttp.ClientError, OSError) as error:
                    last = f"{type(error).__name__}: {error}"
                if loop.time() > deadline:
                    self.kill()
                    raise AssertionError(
                        f"{self.name} not healthy within {timeout}s ({last}); log tail:\n{self.log_tail()}"
                    )
                await asyncio.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the child (a crash: nothing in it gets to clean up) and reap it."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    async def restart(self, *, timeout: float = 30.0) -> SubprocessNode:
        """Kill (if running) and start again on the same port and the same database."""
        self.kill()
        return await self.start(timeout=timeout)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])
