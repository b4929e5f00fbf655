"""Checks before a node starts, so that a first start ends with one line saying what to do, never a traceback.

:func:`problems` looks at the config before anything opens: the example admin token on a
node reachable from other machines, a data folder that cannot be made or written, a
read-only database file, a port already in use; :func:`warnings` at a ``base_url`` that
disagrees with ``listen`` (ids would name an address nobody reaches). :func:`explain` turns
what still fails while starting (another node holds the database, SQLite refuses to write)
into the same kind of line.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

from node.core.config import Config, uses_example_token
from node.core.db import DatabaseInUse

LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _token_problem(config: Config) -> str | None:
    if uses_example_token(config) and not is_loopback(config.node.listen_host):
        return (
            "[admin] token is still the example's 'change-me' and the node listens on "
            f"{config.node.listen_host}, reachable from other machines: set a long random token in the config "
            "(python3 -c 'import secrets; print(secrets.token_urlsafe(32))'), or listen on 127.0.0.1"
        )
    return None


def _storage_problem(database: Path) -> str | None:
    folder = database.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return (
            f"cannot make the data folder {folder} ({error.strerror or error}): make it writable for this user, "
            "or point [storage] database somewhere writable"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"the data folder {folder} is not writable: give this user write access, or change [storage] database"
    if database.exists() and not os.access(database, os.W_OK):
        return f"the database {database} is read-only: give this user write access (chmod u+w), or restore a copy"
    return None


def _port_problem(config: Config) -> str | None:
    host, port = config.node.listen_host, config.node.listen_port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            return explain(error, config)
    return None


def problems(config: Config) -> list[str]:
    """What stops this node from starting, each in one line that says what to do."""
    database = config.storage.database
    found = [_token_problem(config), None if database is None else _storage_problem(database)]
    if not any(found):
        found.append(_port_problem(config))
    return [problem for problem in found if problem]


def warnings(config: Config) -> list[str]:
    parts = urlsplit(config.node.base_url)
    if parts.scheme == "http" and is_loopback(parts.hostname or "") and parts.port != config.node.listen_port:
        return [
            f"[node] base_url {config.node.base_url} names port {parts.port or 80} but the node listens on "
            f"{config.node.listen}: ids and links will point where nothing answers; make them agree"
        ]
    if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
        return [
            f"[node] base_url {config.node.base_url} is plain http on a public name: Mastodon federates only "
            "over https; put a TLS proxy in front and use https:// (see README, Running a real node)"
        ]
    return []


def _postgres_problem(error: BaseException, where: str) -> str | None:
    """PostgreSQL's refusals at start, as what to do (the address is shown without its password)."""
    name = type(error).__name__
    if isinstance(error, OSError) and error.errno in (errno.ECONNREFUSED, errno.ENOENT):
        return f"cannot reach PostgreSQL at {where}: start the server, or fix [storage] database (or DATABASE_URL)"
    if name == "InvalidCatalogNameError":
        return f"PostgreSQL has no such database ({where}): create it with createdb, or fix the address"
    if name in ("InvalidPasswordError", "InvalidAuthorizationSpecificationError"):
        return f"PostgreSQL refused the user or password of {where}: fix the address, or the server's pg_hba.conf"
    if name.endswith("Error") and type(error).__module__.startswith("asyncpg"):
        return f"PostgreSQL at {where} refused to start the node ({error}): see the server's log"
    return None


def explain(error: BaseException, config: Config) -> str:
    """What failed while starting, as one line that says what to do."""
    listen = config.node.listen
    if isinstance(error, DatabaseInUse):
        return f"{error}"
    if config.storage.postgres:
        found = _postgres_problem(error, config.storage.describe())
        if found:
            return found
    if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
        return (
            f"{listen} is already in use (another node or program): stop it, or change the port in "
            "[node] listen (and base_url) in the config"
        )
    if isinstance(error, OSError) and error.errno in (errno.EACCES, errno.EPERM):
        return f"not allowed to listen on {listen} ({error.strerror}): use a port above 1023 in [node] listen"
    if isinstance(error, OSError) and error.errno == errno.EADDRNOTAVAIL:
        return f"{config.node.listen_host} is not an address of this machine: fix [node] listen"
    if isinstance(error, sqlite3.OperationalError) and "readonly" in str(error):
        return (
            f"the database {config.storage.database} is read-only: give this user write access to it and "
            "its folder, or restore a writable copy"
        )
    if isinstance(error, sqlite3.Error):
        return f"the database {config.storage.database} cannot be used ({error}): check the file and its folder"
    return f"cannot start: {error}"
