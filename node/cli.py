"""The ``chapterhouse`` command: ``serve`` a node, ``backup`` and ``restore`` its database, ``link`` and
``unlink`` it in the branch tree (client-to-server POSTs to the running node's own outbox)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from node.core import logs
from node.core.config import ConfigError, load_config


def _serve(args: argparse.Namespace) -> int:
    from node.web.app import make_app
    from node.web.server import serve

    config = load_config(args.config)
    app = make_app(config)
    print(f"chapterhouse: {config.node.display_name} (@{config.node.name}@{config.node.host}) "
          f"on http://{config.node.listen}, database {config.storage.database}", flush=True)
    asyncio.run(serve(app, config.node.listen_host, config.node.listen_port, access_log_format='%a "%r" %s %b %Tfs'))
    return 0


def _backup(args: argparse.Namespace) -> int:
    from node.core.backup import backup

    config = load_config(args.config)
    version = backup(config.storage.database, args.to)
    print(f"chapterhouse: backed up {config.storage.database} to {args.to} (schema {version}, integrity ok)")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from node.core.backup import restore

    config = load_config(args.config)
    kept = restore(args.backup, config.storage.database)
    note = f"; the replaced database is kept as {kept}" if kept else ""
    print(f"chapterhouse: restored {args.backup} to {config.storage.database}{note}")
    return 0


def _link(args: argparse.Namespace) -> int:
    import asyncio

    from node.branches.cli import link

    return asyncio.run(link(load_config(args.config), args.parent))


def _unlink(args: argparse.Namespace) -> int:
    import asyncio

    from node.branches.cli import unlink

    return asyncio.run(unlink(load_config(args.config)))


def main(argv: list[str] | None = None) -> int:
    from node.core.backup import BackupError

    parser = argparse.ArgumentParser(prog="chapterhouse", description="A federated chapter server (ActivityPub).")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--log-format", default="text", choices=["text", "json"], help="json: one object per line")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run a node")
    serve.set_defaults(run=_serve)
    backup = commands.add_parser("backup", help="write a consistent copy of the database (safe while it runs)")
    backup.add_argument("--to", type=Path, required=True, help="the new backup file")
    backup.set_defaults(run=_backup)
    restore = commands.add_parser("restore", help="put a backup in place of the database (node stopped)")
    restore.add_argument("backup", type=Path, help="a file written by `chapterhouse backup`")
    restore.set_defaults(run=_restore)
    link = commands.add_parser("link", help="ask another node to be this node's parent in the branch tree")
    link.add_argument("parent", help="the parent's handle, @name@host (WebFinger), or its actor id")
    link.set_defaults(run=_link)
    unlink = commands.add_parser("unlink", help="leave this node's parent in the branch tree")
    unlink.set_defaults(run=_unlink)
    for command in (serve, backup, restore, link, unlink):
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
