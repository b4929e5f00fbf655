"""The ``chapterhouse`` command: ``init`` a config, ``serve`` a node, ``backup`` and ``restore`` its database,
move it from SQLite to PostgreSQL (``migrate-store``: :mod:`node.core.store_migration`),
``link`` and ``unlink`` it in the branch tree (client-to-server POSTs to the running node's own outbox).

``init`` writes a config from ``config.example.toml`` with a new random admin token and says
where; the example it reads is the one shipped in the package (``node/config.example.toml``,
kept identical to the top-level one by a test), so ``init`` works installed from a wheel. ``serve`` checks first (:mod:`node.core.preflight`) and ends with one line saying what
to do when the node cannot start (a port in use, an unwritable data folder, a read-only
database, the example token off loopback), and warns when ``base_url`` and ``listen`` disagree.
On PostgreSQL a node may run in several processes (:mod:`node.core.processes`): ``serve
--workers none`` serves HTTP only, and ``worker --only inbox,delivery,...`` runs background work
without HTTP; a SQLite node is one ``serve`` process, and both options refuse it in one line.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.resources
import secrets
import sqlite3
import sys
from pathlib import Path

from node.core import logs
from node.core.config import EXAMPLE_TOKEN, ConfigError, load_config
from node.core.db import DatabaseInUse

GC_YOUNG_ALLOCATIONS = 20_000  # gc.set_threshold's first value for `chapterhouse serve` (Python's default: 700)

EXAMPLE_CONFIG = importlib.resources.files("node").joinpath("config.example.toml")  # package data


def _init(args: argparse.Namespace) -> int:
    """A new config from the example, with a random admin token; never overwrites one."""
    target: Path = args.config
    if target.exists():
        print(f"chapterhouse: {target} exists already; edit it, or remove it to start again", file=sys.stderr)
        return 2
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    token = secrets.token_urlsafe(32)
    text = text.replace(f'token = "{EXAMPLE_TOKEN}"', f'token = "{token}"', 1)
    target.write_text(text, encoding="utf-8")
    target.chmod(0o600)
    print(
        f"chapterhouse: wrote {target} with a new random admin token ([admin] token in that file; "
        "the admin signs in with it at /login/admin). Edit [node] there before others follow the chapter."
    )
    return 0


def _serve(args: argparse.Namespace) -> int:
    from node.core.preflight import explain, problems, warnings
    from node.core.processes import describe
    from node.web.app import make_app
    from node.web.server import serve

    config = load_config(args.config)
    found = problems(config)
    if found:
        print(f"chapterhouse: {found[0]}", file=sys.stderr)
        return 2
    for warning in warnings(config):
        print(f"chapterhouse: warning: {warning}", file=sys.stderr)
    workers = _workers_to_run(args.workers, config)
    if workers is None:
        return 2
    app = make_app(config, start_workers=workers)
    print(
        f"chapterhouse: {config.node.display_name} (@{config.node.name}@{config.node.host}) "
        f"on http://{config.node.listen}, database {config.storage.describe()}, workers {describe(workers)}",
        flush=True,
    )
    print(
        f"chapterhouse: open {config.node.base_url}/ ; the admin signs in at {config.node.base_url}/login/admin "
        f"with [admin] token from {args.config}",
        flush=True,
    )
    # Python's cyclic collector runs a young-generation pass every 700 net allocations, and every
    # inbox request allocates hundreds of short-lived containers: under load that was thousands of
    # passes a second. Fewer, larger passes: in six pairs of alternating rounds of the inbox bench
    # (10,000 requests each, a loaded machine), CPU per accepted request 5-17 % lower in every pair;
    # accepted/s higher in four pairs of six (benchmarks/README.md, issue 23); peak memory unchanged.
    gc.set_threshold(GC_YOUNG_ALLOCATIONS, 50, 100)
    try:
        asyncio.run(
            serve(app, config.node.listen_host, config.node.listen_port, access_log_format='%a "%r" %s %b %Tfs')
        )
    except (OSError, sqlite3.Error, DatabaseInUse) as error:
        print(f"chapterhouse: {explain(error, config)}", file=sys.stderr)
        return 2
    return 0


def _workers_to_run(text: str, config) -> frozenset[str] | None:
    """``serve --workers``: the workers named (None, having said why, when they cannot be had)."""
    from node.core.processes import ALL_WORKERS, WorkersError, parse_workers

    try:
        workers = parse_workers(text)
    except WorkersError as error:
        print(f"chapterhouse: --workers: {error}", file=sys.stderr)
        return None
    if workers != ALL_WORKERS and not config.storage.postgres:
        print(
            f"chapterhouse: --workers {text}: a SQLite file is served by one process, which runs every worker;"
            ' leave --workers out (several processes need PostgreSQL: [storage] database = "postgresql://...")',
            file=sys.stderr,
        )
        return None
    return workers


def _worker(args: argparse.Namespace) -> int:
    """``chapterhouse worker``: the node's background work in a process of its own (PostgreSQL only)."""
    import asyncpg

    from node.core.processes import WorkersError, describe, parse_workers, process_name
    from node.web.app import make_app
    from node.web.server import work

    config = load_config(args.config)
    if not config.storage.postgres:
        print(
            f"chapterhouse: worker: this node keeps its data in the SQLite file {config.storage.database}, which one"
            " process serves: run `chapterhouse serve` (it runs every worker). Separate workers need PostgreSQL"
            ' ([storage] database = "postgresql://...", or DATABASE_URL).',
            file=sys.stderr,
        )
        return 2
    try:
        workers = parse_workers(args.only)
        metrics_at = _host_port(args.metrics_listen) if args.metrics_listen else None
    except (WorkersError, ValueError) as error:
        print(f"chapterhouse: worker: {error}", file=sys.stderr)
        return 2
    name = process_name("worker", args.name)
    app = make_app(config, start_workers=workers, process_name=name)
    print(f"chapterhouse: worker {name} runs {describe(workers)} on {config.storage.describe()}", flush=True)
    try:
        asyncio.run(work(app, metrics_at))
    except (OSError, asyncpg.PostgresError) as error:  # said in one line, as serve does
        from node.core.preflight import explain

        print(f"chapterhouse: worker {name}: {explain(error, config)}", file=sys.stderr)
        return 2
    return 0


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--metrics-listen must be host:port, like 127.0.0.1:9101, not {text!r}")
    return host.strip("[]"), int(port)


def _backup(args: argparse.Namespace) -> int:
    from node.core.backup import backup

    config = load_config(args.config)
    version = backup(config.storage.sqlite_file, args.to)
    print(
        f"chapterhouse: backed up {config.storage.database} to {args.to} ({version} migrations recorded, integrity ok)"
    )
    return 0


def _restore(args: argparse.Namespace) -> int:
    from node.core.backup import restore

    config = load_config(args.config)
    kept = restore(args.backup, config.storage.sqlite_file)
    note = f"; the replaced database is kept as {kept}" if kept else ""
    print(f"chapterhouse: restored {args.backup} to {config.storage.database}{note}")
    return 0


def _migrate_store(args: argparse.Namespace) -> int:
    from node.core.postgres import redacted
    from node.core.store_migration import StoreMigrationError, endpoints, migrate_store
    from node.web.app import all_migrations

    try:
        source, target = endpoints(args.source, args.target, args.config)
        copied = asyncio.run(migrate_store(source, target, all_migrations()))
    except StoreMigrationError as error:
        print(f"chapterhouse: {error}", file=sys.stderr)
        return 2
    print(f"chapterhouse: copied {source} to {redacted(target)}")
    print("\n".join(copied.summary()))
    print(
        "chapterhouse: now set [storage] database (or DATABASE_URL) to that address and start the node;"
        f" {source} is left as it was"
    )
    return 0


def _link(args: argparse.Namespace) -> int:
    import asyncio

    from node.branches.cli import link

    return asyncio.run(link(load_config(args.config), args.parent))


def _unlink(args: argparse.Namespace) -> int:
    import asyncio

    from node.branches.cli import unlink

    return asyncio.run(unlink(load_config(args.config)))


def _verify(args: argparse.Namespace) -> int:
    from node.decisions.verify import main as verify

    return verify(args.proposal, args.allow_private_addresses)


def _migrate(args: argparse.Namespace) -> int:
    """``chapterhouse migrate``: apply the migrations the store lacks, and say which (a node's start
    does the same; run it before starting the processes of a new version)."""
    from node.core.db import make_store
    from node.web.app import all_migrations

    config = load_config(args.config)

    async def run() -> tuple[list[tuple[str, int]], int]:
        store = make_store(config.storage, all_migrations())
        await store.open()
        try:
            return store.applied, len(all_migrations())
        finally:
            await store.close()

    try:
        applied, known = asyncio.run(run())
    except (OSError, sqlite3.Error, DatabaseInUse) as error:
        from node.core.preflight import explain

        print(f"chapterhouse: migrate: {explain(error, config)}", file=sys.stderr)
        return 2
    where = config.storage.describe()
    if not applied:
        print(f"chapterhouse: {where} is up to date ({known} migrations recorded)")
    else:
        names = ", ".join(f"{room} {number}" for room, number in applied)
        print(f"chapterhouse: applied {len(applied)} migration(s) to {where}: {names}")
    return 0


def _store_commands(commands) -> argparse.ArgumentParser:
    """``migrate`` (returned, to take ``--config``) and ``migrate-store``."""
    migrate = commands.add_parser("migrate", help="apply the migrations the database lacks (as a start does)")
    migrate.set_defaults(run=_migrate)
    move = commands.add_parser("migrate-store", help="copy a stopped node's SQLite file into an empty PostgreSQL store")
    move.add_argument(
        "--from", dest="source", type=Path, help="the SQLite file (default: [storage] database of --config)"
    )
    move.add_argument(
        "--to", dest="target", help="postgresql://user@host/db[?search_path=schema] (default: DATABASE_URL)"
    )
    move.add_argument("--config", type=Path, help="the node's TOML config, for its SQLite file")
    move.set_defaults(run=_migrate_store)
    return migrate


def _process_commands(commands) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """``serve`` and ``worker``: the processes of a node (several on PostgreSQL: node.core.processes)."""
    serve = commands.add_parser("serve", help="run a node")
    serve.add_argument(
        "--workers",
        default="all",
        help="the background work this process runs: all (the default), none, or some of"
        " inbox,delivery,polls,decisions,tree (PostgreSQL: the rest runs in `chapterhouse worker` processes)",
    )
    serve.set_defaults(run=_serve)
    worker = commands.add_parser(
        "worker", help="run the node's background work in a process serving no HTTP (PostgreSQL only)"
    )
    worker.add_argument(
        "--only", default="all", help="some of inbox,delivery,polls,decisions,tree (default: all of them)"
    )
    worker.add_argument("--name", help="this process's name in /metrics (default: worker-<pid>)")
    worker.add_argument("--metrics-listen", help="host:port where this worker answers /metrics (admin token)")
    worker.set_defaults(run=_worker)
    return serve, worker


def main(argv: list[str] | None = None) -> int:
    from node.core.backup import BackupError

    parser = argparse.ArgumentParser(prog="chapterhouse", description="A federated chapter server (ActivityPub).")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--log-format", default="text", choices=["text", "json"], help="json: one object per line")
    commands = parser.add_subparsers(dest="command", required=True)

    init = commands.add_parser("init", help="write a new config with a random admin token")
    init.set_defaults(run=_init)
    serve, worker = _process_commands(commands)
    backup = commands.add_parser("backup", help="write a consistent copy of the database (safe while it runs)")
    backup.add_argument("--to", type=Path, required=True, help="the new backup file")
    backup.set_defaults(run=_backup)
    restore = commands.add_parser("restore", help="put a backup in place of the database (node stopped)")
    restore.add_argument("backup", type=Path, help="a file written by `chapterhouse backup`")
    restore.set_defaults(run=_restore)
    migrate = _store_commands(commands)
    link = commands.add_parser("link", help="ask another node to be this node's parent in the branch tree")
    link.add_argument("parent", help="the parent's handle, @name@host (WebFinger), or its actor id")
    link.set_defaults(run=_link)
    unlink = commands.add_parser("unlink", help="leave this node's parent in the branch tree")
    unlink.set_defaults(run=_unlink)
    verify = commands.add_parser(
        "verify", help="check a decision from its public documents: proofs, leaves, roots, counts and outcome"
    )
    verify.add_argument("proposal", help="the proposal's id (its URL)")
    verify.add_argument(
        "--allow-private-addresses", action="store_true", help="also fetch from loopback and private addresses"
    )
    verify.set_defaults(run=_verify)
    for command in (init, serve, worker, backup, restore, migrate, link, unlink):
        command.add_argument("--config", type=Path, default=Path("config.toml"), help="path to the TOML config")

    args = parser.parse_args(argv)
    logs.configure(args.log_level, args.log_format)
    try:
        return args.run(args)
    except (ConfigError, BackupError) as error:
        print(f"chapterhouse: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
