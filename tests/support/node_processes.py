"""One node as several processes on one PostgreSQL schema, as an operator runs it (issue 20).

:class:`NodeProcesses` writes one config per process (``config.example.toml`` with every key, this
node's name and admin token, one ``base_url`` for all, each web process its own ``listen`` port)
and starts ``chapterhouse serve --workers ...`` and ``chapterhouse worker --only ...
--metrics-listen ...`` children from the repository root, each with its own log file. A web
process is ready when ``/healthz`` answers, a worker when its ``/metrics`` does.
:meth:`NodeProcess.kill` is ``kill -9`` (a crash), :meth:`NodeProcess.start` starts it again
with the same command and port. The schema is made fresh (``chtest_<pid>_procs_<n>``) on the
PostgreSQL pass's server (``CHAPTERHOUSE_TEST_POSTGRES``, or the run's throwaway cluster), and
dropped by :meth:`NodeProcesses.close`.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg

from tests.support.nodes import ADMIN_TOKEN
from tests.support.ports import free_port
from tests.support.stores import PREFIX
from tests.support.subprocess_node import REPO_ROOT, _dump_toml

_numbers = itertools.count(1)


@dataclass
class NodeProcess:
    label: str
    command: list[str]  # after `python -m node.cli`
    port: int  # where it answers: the web port, or a worker's metrics port
    directory: Path
    ready_path: str
    process: subprocess.Popen | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.directory / f"{self.label}.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def start(self, *, timeout: float = 30.0) -> NodeProcess:
        if self.running:
            raise RuntimeError(f"{self.label} is already running")
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start #{self.starts} =====\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "node.cli", *self.command],
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        await self._wait_ready(timeout)
        return self

    async def _wait_ready(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while True:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise AssertionError(f"{self.label} exited with {self.process.returncode}:\n{self.log_tail()}")
                try:
                    async with session.get(self.url + self.ready_path, headers=headers) as response:
                        if response.status == 200:
                            return
                except (TimeoutError, aiohttp.ClientError, OSError):
                    pass
                if loop.time() > deadline:
                    self.kill()
                    raise AssertionError(f"{self.label} not ready within {timeout} s:\n{self.log_tail()}")
                await asyncio.sleep(0.05)

    def kill(self) -> None:
        """``kill -9``: nothing in it cleans up."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        if process is not None:
            process.wait(timeout=10)

    def stop(self) -> int | None:
        """SIGTERM, as an operator stops it; its exit status (killed after 15 s if it hangs)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return None if process is None else process.returncode
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
            raise AssertionError(f"{self.label} did not stop on SIGTERM within 15 s:\n{self.log_tail()}") from None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


@dataclass
class NodeProcesses:
    directory: Path
    server: str  # the PostgreSQL server's URL
    name: str = "london"
    overrides: dict[str, dict] = field(default_factory=dict)  # {table: {key: value}} over the example's
    port: int = field(default_factory=free_port)  # base_url's port: the first web process listens there
    processes: dict[str, NodeProcess] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.schema = f"{PREFIX}{os.getpid()}_procs_{next(_numbers)}"
        joiner = "&" if "?" in self.server else "?"
        self.database = f"{self.server}{joiner}search_path={self.schema}"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def actor_id(self) -> str:
        return f"{self.base_url}/users/{self.name}"

    def _config(self, label: str, listen_port: int) -> Path:
        raw = tomllib.loads((REPO_ROOT / "config.example.toml").read_text(encoding="utf-8"))
        raw["node"].update(
            base_url=self.base_url, listen=f"127.0.0.1:{listen_port}", name=self.name, display_name="IOPS London"
        )
        raw["storage"]["database"] = self.database
        raw["admin"]["token"] = ADMIN_TOKEN
        raw["federation"]["allow_private_addresses"] = True
        for table, values in self.overrides.items():
            raw.setdefault(table, {}).update(values)
        path = self.directory / f"{label}.toml"
        path.write_text(_dump_toml(raw), encoding="utf-8")
        return path

    def web(self, label: str, *, workers: str = "none") -> NodeProcess:
        """``chapterhouse serve --workers ...``; the first listens on ``base_url``'s port."""
        first = not any(process.command[0] == "serve" for process in self.processes.values())
        port = self.port if first else free_port()
        config = self._config(label, port)
        command = ["serve", "--config", str(config), "--workers", workers]
        return self._add(NodeProcess(label, command, port, self.directory, "/healthz"))

    def worker(self, label: str, *, only: str = "all") -> NodeProcess:
        """``chapterhouse worker --only ... --name <label> --metrics-listen ...``."""
        port = free_port()
        config = self._config(label, free_port())
        command = ["worker", "--config", str(config), "--only", only, "--name", label]
        command += ["--metrics-listen", f"127.0.0.1:{port}"]
        return self._add(NodeProcess(label, command, port, self.directory, "/metrics"))

    def _add(self, process: NodeProcess) -> NodeProcess:
        self.processes[process.label] = process
        return process

    async def start(self) -> None:
        """Every process at once (on an empty schema: they migrate and make keys together)."""
        await asyncio.gather(*(process.start() for process in self.processes.values()))

    async def query(self, sql: str, *args) -> list[asyncpg.Record]:
        """A statement on the node's schema (PostgreSQL's ``$n`` parameters), outside the node."""
        conn = await asyncpg.connect(self.database)
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    async def close(self) -> None:
        for process in self.processes.values():
            process.kill()
        conn = await asyncpg.connect(self.server)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        finally:
            await conn.close()
