"""pytest-side harness for the independent ``bovine`` ActivityPub peer.

The peer itself (tests/peers/bovine_peer/peer.py) runs in its own virtual environment
(``<repo>/.venv-bovine``) because bovine pins ``cryptography<46`` and ``pyld<3``, which
clash with the project's venv.  This module only uses the stdlib, aiohttp and pytest:
it never imports bovine.

Use from a conftest::

    from tests.peers.bovine import bovine_python, bovine_peer  # noqa: F401

    async def test_something(bovine_peer):
        alice = await bovine_peer("alice")
        found = await alice.lookup("london@127.0.0.1:8081")

or directly::

    peer = BovinePeer(ensure_bovine_venv(), name="alice")
    await peer.start()          # free 127.0.0.1 port
    ...
    await peer.stop()

Creating the venv by hand (e.g. as a CI pre-step)::

    python tests/peers/bovine.py
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.ports import free_port

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
PEER_DIR = HERE / "bovine_peer"
PEER_SCRIPT = PEER_DIR / "peer.py"
REQUIREMENTS = PEER_DIR / "requirements.txt"
VENV_DIR = REPO_ROOT / ".venv-bovine"
STAMP_FILE = VENV_DIR / ".requirements.sha256"
MIN_PYTHON = (3, 11)


class BovineVenvError(RuntimeError):
    """The bovine venv could not be created or populated."""


class BovinePeerError(RuntimeError):
    """A control request to the bovine peer failed, or the peer did not start."""

    def __init__(self, message: str, status: int | None = None, payload: Any = None):
        super().__init__(message)
        self.status = status
        self.payload = payload


# --------------------------------------------------------------------------- venv
def _say(message: str) -> None:
    print(f"[bovine-venv] {message}", file=sys.stderr, flush=True)


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _requirements_hash() -> str:
    digest = hashlib.sha256(REQUIREMENTS.read_bytes())
    digest.update(b"\0" + PEER_SCRIPT.name.encode())  # bump-able salt
    return digest.hexdigest()


def _python_version(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    try:
        major, minor = (int(x) for x in out.stdout.split())
    except ValueError:
        return None
    return major, minor


def _base_python() -> str:
    """The interpreter used to create the venv: $BOVINE_VENV_PYTHON, else the system
    python3, else the interpreter running the tests; the first that is >= 3.11."""
    candidates = [
        os.environ.get("BOVINE_VENV_PYTHON"),
        shutil.which("python3"),
        "/usr/bin/python3",
        sys.executable,
    ]
    tried = []
    for candidate in candidates:
        if not candidate or candidate in tried:
            continue
        tried.append(candidate)
        version = _python_version(candidate)
        if version is not None and version >= MIN_PYTHON:
            return candidate
    raise BovineVenvError(f"no Python >= {MIN_PYTHON[0]}.{MIN_PYTHON[1]} found to create {VENV_DIR} (tried {tried})")


def _run_logged(cmd: list[str], log: Path, what: str) -> None:
    env = dict(os.environ, PIP_NO_INPUT="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    with log.open("a") as fh:
        fh.write(f"\n$ {' '.join(cmd)}\n")
        fh.flush()
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        raise BovineVenvError(f"{what} failed (exit {proc.returncode}); full log: {log}\n--- last lines ---\n{tail}")


def ensure_bovine_venv() -> Path:
    """Create/update ``<repo>/.venv-bovine`` from requirements.txt; return its python.

    Idempotent and fast when up to date: it only compares a stored hash of
    requirements.txt.  A file lock serialises concurrent callers (pytest-xdist).
    """
    python = _venv_python(VENV_DIR)
    wanted = _requirements_hash()

    def up_to_date() -> bool:
        try:
            return python.exists() and STAMP_FILE.read_text().strip() == wanted
        except OSError:
            return False

    if up_to_date():
        return python

    import fcntl

    # Outside the work tree (nothing to clean up / ignore), one lock per venv path.
    lock_path = Path(tempfile.gettempdir()) / (
        "chapterhouse-bovine-venv-" + hashlib.sha256(str(VENV_DIR).encode()).hexdigest()[:12] + ".lock"
    )
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if up_to_date():
                return python
            started = time.monotonic()
            log = Path(tempfile.gettempdir()) / "chapterhouse-bovine-venv.log"
            log.write_text("")
            reuse = python.exists() and _python_version(str(python)) is not None
            if not reuse:
                if VENV_DIR.exists():
                    _say(f"removing broken venv {VENV_DIR}")
                    shutil.rmtree(VENV_DIR)
                base = _base_python()
                _say(f"creating {VENV_DIR} with {base} (log: {log})")
                _run_logged([base, "-m", "venv", str(VENV_DIR)], log, "creating the bovine venv")
            else:
                _say(f"requirements changed, updating {VENV_DIR} (log: {log})")
            with contextlib.suppress(OSError):
                STAMP_FILE.unlink()
            _say(f"pip install -r {REQUIREMENTS} ...")
            _run_logged(
                [
                    str(python),
                    "-m",
                    "pip",
                    "install",
                    "--no-input",
                    "--disable-pip-version-check",
                    "-r",
                    str(REQUIREMENTS),
                ],
                log,
                "pip install of the bovine peer requirements",
            )
            _run_logged(
                [str(python), "-c", "import bovine, aiohttp, bovine.crypto, bovine.clients"],
                log,
                "importing bovine in the bovine venv",
            )
            STAMP_FILE.write_text(wanted + "\n")
            _say(f"ready in {time.monotonic() - started:.1f}s: {python}")
            return python
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- peer
class BovinePeer:
    """A bovine-driven ActivityPub actor running as a separate process."""

    def __init__(
        self,
        python: Path | str,
        name: str = "alice",
        host: str = "127.0.0.1",
        log_dir: Path | str | None = None,
        auto_accept: bool = True,
        request_timeout: float = 60.0,
    ):
        self.python = str(python)
        self.name = name
        self.host = host
        self.port: int | None = None
        self.auto_accept = auto_accept
        self.request_timeout = request_timeout
        self.log_dir = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="bovine-peer-"))
        self.log_path: Path | None = None
        self.actor_id: str | None = None
        self.process: subprocess.Popen | None = None
        self._log_fh = None

    # -- identity -------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self.port is None:
            raise BovinePeerError(f"bovine peer {self.name} is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def account(self) -> str:
        """WebFinger handle, e.g. ``alice@127.0.0.1:8090``."""
        return f"{self.name}@{self.host}:{self.port}"

    @property
    def inbox(self) -> str:
        return f"{self.actor_id}/inbox"

    def log_tail(self, lines: int = 60) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def _where(self) -> str:
        return f"bovine peer {self.name!r} (log: {self.log_path})"

    # -- lifecycle --------------------------------------------------------------------
    async def start(self, port: int | None = None, timeout: float = 30.0) -> BovinePeer:
        """Start the peer (on ``port`` or a free 127.0.0.1 port); wait for /_control/ready."""
        attempts = 1 if port is not None else 3
        last_error: Exception | None = None
        for _ in range(attempts):
            self.port = port if port is not None else free_port(self.host)
            try:
                await self._start_once(timeout)
                return self
            except BovinePeerError as exc:
                last_error = exc
                self.terminate()
                if "address already in use" not in self.log_tail().lower():
                    break
        raise last_error  # type: ignore[misc]

    async def _start_once(self, timeout: float) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.log_dir / f"bovine-peer-{self.name}-{self.port}.log"
        self._log_fh = self.log_path.open("w")
        cmd = [self.python, str(PEER_SCRIPT), "--port", str(self.port), "--host", self.host, "--name", self.name]
        if not self.auto_accept:
            cmd.append("--no-auto-accept")
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
        env.pop("PYTHONPATH", None)
        env.pop("VIRTUAL_ENV", None)
        self.process = subprocess.Popen(
            cmd,
            stdout=self._log_fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=str(PEER_DIR),
            env=env,
        )
        deadline = time.monotonic() + timeout
        last = None
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise BovinePeerError(
                        f"{self._where()} exited with code {self.process.returncode} while starting:\n{self.log_tail()}"
                    )
                try:
                    async with session.get(f"{self.base_url}/_control/ready") as resp:
                        if resp.status == 200:
                            data = await resp.json(content_type=None)
                            self.actor_id = data["actor"]
                            return
                        last = f"HTTP {resp.status}"
                except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
                    last = repr(exc)
                await asyncio.sleep(0.1)
        raise BovinePeerError(f"{self._where()} not ready after {timeout}s (last: {last}):\n{self.log_tail()}")

    def terminate(self) -> None:
        """Synchronous stop (safe to call twice, from any thread or teardown)."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if self._log_fh is not None:
            self._log_fh.close()
            self._log_fh = None

    async def stop(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.terminate)

    async def __aenter__(self) -> BovinePeer:
        if self.process is None:
            await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    # -- control API ---------------------------------------------------------------
    async def _control(self, method: str, path: str, payload: dict | None = None) -> Any:
        url = f"{self.base_url}/_control/{path}"
        timeout = aiohttp.ClientTimeout(total=self.request_timeout)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.request(method, url, json=payload) as resp:
                    text = await resp.text()
                    status = resp.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            alive = self.process is not None and self.process.poll() is None
            raise BovinePeerError(
                f"{self._where()}: {method} /_control/{path} failed: {exc!r} "
                f"(process {'running' if alive else 'not running'})\n{self.log_tail(30)}"
            ) from exc
        try:
            data = json.loads(text) if text else None
        except ValueError:
            data = text
        if status >= 400:
            raise BovinePeerError(
                f"{self._where()}: {method} /_control/{path} {json.dumps(payload)[:500]} "
                f"-> HTTP {status}: {text[:2000]}",
                status=status,
                payload=data,
            )
        return data

    async def lookup(self, account: str) -> dict:
        """WebFinger ``account`` (user@host:port) with bovine, then GET the actor
        signed. Returns ``{"actor_id", "actor", "status"}``."""
        return await self._control("POST", "lookup", {"account": account})

    async def follow(self, actor_id: str, inbox: str | None = None) -> dict:
        """Send a signed Follow. Returns ``{"follow_id", "status", "body", "activity", ...}``."""
        payload = {"actor_id": actor_id}
        if inbox:
            payload["inbox"] = inbox
        return await self._control("POST", "follow", payload)

    async def undo_follow(self, follow_id: str) -> dict:
        """Send Undo{Follow} (full Follow embedded). Returns ``{"id", "status", ...}``."""
        return await self._control("POST", "undo-follow", {"follow_id": follow_id})

    async def send(self, inbox: str, activity: dict) -> dict:
        """Sign and POST ``activity`` (actor/id/@context filled in if absent).
        Returns ``{"status", "body", "id", "activity", "error"}``."""
        return await self._control("POST", "send", {"inbox": inbox, "activity": activity})

    async def fetch(self, url: str) -> dict:
        """bovine-signed GET. Returns ``{"status", "document", "body", "error"}``."""
        return await self._control("POST", "fetch", {"url": url})

    async def received(self) -> list[dict]:
        """Everything that hit the inbox, in arrival order:
        ``[{"verified", "signer", "error", "activity", "headers", "path", "seq"}]``."""
        return await self._control("GET", "received")

    async def sent(self) -> list[dict]:
        """Outgoing deliveries (including automatic Accepts of Follows)."""
        return await self._control("GET", "sent")

    async def set_auto_accept(self, enabled: bool) -> None:
        await self._control("POST", "config", {"auto_accept": enabled})

    async def reset(self) -> None:
        await self._control("POST", "reset", {})

    async def wait_for(self, predicate: Callable[[dict], bool], timeout: float = 10.0, interval: float = 0.1) -> dict:
        """Poll received() until an entry satisfies ``predicate``; return that entry."""
        deadline = time.monotonic() + timeout
        entries: list[dict] = []
        while True:
            entries = await self.received()
            for entry in entries:
                try:
                    if predicate(entry):
                        return entry
                except (KeyError, TypeError, AttributeError):
                    continue
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(interval)
        summary = (
            "\n".join(
                f"  #{e.get('seq')} {((e.get('activity') or {}).get('type'))} "
                f"id={((e.get('activity') or {}).get('id'))} verified={e.get('verified')} "
                f"signer={e.get('signer')} error={e.get('error')}"
                for e in entries
            )
            or "  (nothing received)"
        )
        raise TimeoutError(f"{self._where()}: no matching inbox entry within {timeout}s; received:\n{summary}")


# ------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def bovine_python() -> Path:
    """Path of the python in the (created on demand) bovine venv."""
    try:
        return ensure_bovine_venv()
    except BovineVenvError as exc:
        pytest.fail(f"could not prepare the bovine peer venv: {exc}", pytrace=False)


@pytest.fixture
def bovine_peer(bovine_python, tmp_path) -> Callable[..., Awaitable[BovinePeer]]:
    """Factory: ``peer = await bovine_peer("alice")`` starts a bovine peer on a free
    127.0.0.1 port; all peers are stopped at teardown. Logs live under tmp_path."""
    peers: list[BovinePeer] = []

    async def factory(name: str = "alice", *, auto_accept: bool = True, port: int | None = None) -> BovinePeer:
        peer = BovinePeer(bovine_python, name=name, log_dir=tmp_path / "bovine-logs", auto_accept=auto_accept)
        peers.append(peer)
        await peer.start(port)
        print(f"bovine peer {name}: {peer.actor_id} (log: {peer.log_path})")
        return peer

    yield factory
    for peer in peers:
        peer.terminate()


if __name__ == "__main__":
    print(ensure_bovine_venv())
