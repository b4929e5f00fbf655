"""The PostgreSQL server of a ``--store postgres`` run: the one ``CHAPTERHOUSE_TEST_POSTGRES`` names,
or a throwaway cluster of the run's own.

The throwaway cluster is Debian's ``postgresql`` (installed by ``make test``): ``initdb`` into a
temporary folder, listening on a Unix socket only (no TCP port to collide with), stopped and
deleted when the run ends. As root (CI), the cluster runs as the ``postgres`` user, as
PostgreSQL refuses root. Either way the run drops its nodes' schemas at the end, and on start
those of earlier runs whose process is gone.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from tests.support.stores import PREFIX

ENVIRONMENT = "CHAPTERHOUSE_TEST_POSTGRES"


@dataclass
class TestServer:
    url: str
    folder: Path | None = None  # the throwaway cluster's, when the run made one
    user: str | None = None

    def stop(self) -> None:
        asyncio.run(_drop_schemas(self.url, mine=True))
        if self.folder is not None:
            _as(self.user, [_binary("pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop"])
            shutil.rmtree(self.folder, ignore_errors=True)


def start_for_tests() -> TestServer:
    url = os.environ.get(ENVIRONMENT)
    server = TestServer(url) if url else _throwaway()
    asyncio.run(_drop_schemas(server.url, mine=False))
    return server


def _binary(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or (
        [shutil.which(name)] if shutil.which(name) else []
    )
    if not found:
        raise RuntimeError(
            f"--store postgres needs {ENVIRONMENT} (a server's URL) or Debian's postgresql package for a"
            " throwaway cluster: apt-get install postgresql (make test installs it)"
        )
    return found[-1]


def _as(user: str | None, command: list[str]) -> None:
    prefix = ["runuser", "-u", user, "--"] if user else []
    subprocess.run(prefix + command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _throwaway() -> TestServer:
    user = "postgres" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="chapterhouse-pg-"))
    if user:
        shutil.chown(folder, user)
    data, socket = folder / "data", folder
    _as(user, [_binary("initdb"), "-D", str(data), "-A", "trust", "-U", "chapterhouse", "--no-sync"])
    options = f"-c listen_addresses='' -c unix_socket_directories='{socket}' -c fsync=off -c max_connections=400"
    _as(user, [_binary("pg_ctl"), "-D", str(data), "-o", options, "-w", "-l", str(folder / "log"), "start"])
    return TestServer(f"postgresql://chapterhouse@/postgres?host={socket}", folder=folder, user=user)


async def _drop_schemas(url: str, *, mine: bool) -> None:
    """Drop this run's schemas (``mine``), or those of runs whose process has ended."""
    conn = await asyncpg.connect(url)
    try:
        names = [
            row[0] for row in await conn.fetch("SELECT nspname FROM pg_namespace WHERE nspname LIKE $1", PREFIX + "%")
        ]
        for name in names:
            pid = int(name[len(PREFIX) :].split("_")[0])
            if (pid == os.getpid()) if mine else not _alive(pid):
                await conn.execute(f'DROP SCHEMA "{name}" CASCADE')
    finally:
        await conn.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
