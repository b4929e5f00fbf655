"""Backups: a consistent copy of a live database, and putting one back.

``backup`` uses SQLite's online backup API: the copy is one consistent snapshot even while
the node keeps writing (readers never block the WAL writer), and it is checked with
``PRAGMA integrity_check`` before it is reported done. ``restore`` refuses to run while a
node holds the database (it takes the node's exclusive lock file), checks the backup, keeps
the replaced database aside as ``<name>.before-restore``, and copies the backup in place.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from node.core.db import DatabaseInUse, hold_exclusive_lock


class BackupError(Exception):
    """The backup or restore cannot be done; the message says why and what to do."""


def _check(path: Path) -> int:
    """Integrity-check a database file; return how many migrations its ledger records (0 for a
    database from before the ledger, which the next start upgrades)."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
            ledger = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
            version = conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] if ledger.fetchone() else 0
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a usable SQLite database: {error}") from None
    if verdict != "ok":
        raise BackupError(f"{path} fails its integrity check: {verdict}")
    return version


def backup(database: Path, destination: Path) -> int:
    """Copy the live database to ``destination``; return how many migrations the copy records."""
    if not database.exists():
        raise BackupError(f"no database at {database}; check [storage] database in the config")
    if destination.exists():
        raise BackupError(f"{destination} exists; choose a new file name (backups never overwrite)")
    destination.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(database, timeout=30)
    target = sqlite3.connect(destination)
    try:
        source.backup(target, pages=1024)
    finally:
        target.close()
        source.close()
    return _check(destination)


def restore(backup_file: Path, database: Path) -> Path | None:
    """Put ``backup_file`` in place of ``database`` (the node must be stopped)."""
    _check(backup_file)
    database.parent.mkdir(parents=True, exist_ok=True)
    try:
        lock = hold_exclusive_lock(database)
    except DatabaseInUse:
        raise BackupError(f"{database} is in use: stop the node first, then restore") from None
    try:
        kept = None
        if database.exists():
            with sqlite3.connect(database) as conn:  # fold the WAL in, so the kept copy is whole
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            kept = database.with_name(database.name + ".before-restore")
            shutil.copy2(database, kept)
        for suffix in ("-wal", "-shm"):
            database.with_name(database.name + suffix).unlink(missing_ok=True)
        tmp = database.with_name(database.name + ".restoring")
        shutil.copy2(backup_file, tmp)
        tmp.replace(database)  # atomic on one filesystem: never a half-copied database
        return kept
    finally:
        lock.close()
