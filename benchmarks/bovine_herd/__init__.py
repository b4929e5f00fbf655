"""bovine-herd, the peer server of the inbox benchmark, in its own virtual environment.

bovine pins ``cryptography<46`` and ``pyld<3``, which clash with the project's venv, so it
lives in ``<repo>/.venv-bovine-herd`` (gitignored), created on first use from the pinned
``requirements.txt`` beside this file and reused while that file is unchanged (a stamp holds
its hash), as ``tests/peers/bovine.py`` does for the test peer. ``server.py`` runs inside
that venv; nothing here imports bovine.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements.txt"
SERVER = HERE / "server.py"
VENV = HERE.parents[1] / ".venv-bovine-herd"
STAMP = VENV / ".requirements.sha256"


class Unavailable(RuntimeError):
    """bovine-herd could not be installed or started; the message says why."""


def ensure_venv(log: Path) -> Path:
    """The venv's python, creating or updating the venv if the requirements changed."""
    python = VENV / "bin" / "python"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if python.exists() and STAMP.exists() and STAMP.read_text().strip() == wanted:
        return python
    print(f"  preparing {VENV} for bovine-herd (log: {log}) ...", flush=True)
    with log.open("a") as out:
        if not python.exists():
            if VENV.exists():
                shutil.rmtree(VENV)
            base = shutil.which("python3") or sys.executable
            _run([base, "-m", "venv", str(VENV)], out)
        _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(REQUIREMENTS)], out)
        _run([str(python), "-c", "import bovine_herd, hypercorn, quart"], out)
    STAMP.write_text(wanted + "\n")
    return python


def _run(cmd: list[str], out) -> None:
    out.write(f"$ {' '.join(cmd)}\n")
    out.flush()
    try:
        done = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise Unavailable(f"{cmd[0]} {cmd[1]} ...: {error}") from None
    if done.returncode != 0:
        raise Unavailable(f"`{' '.join(cmd[:4])} ...` failed with exit {done.returncode}")
