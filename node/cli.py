"""The ``chapterhouse`` command: ``serve`` runs a node from a config file."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from aiohttp import web

from node.config import ConfigError, load_config


def _serve(args: argparse.Namespace) -> int:
    from node.app import make_app

    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"chapterhouse: {error}", file=sys.stderr)
        return 2
    app = make_app(config)
    print(f"chapterhouse: {config.node.display_name} (@{config.node.name}@{config.node.host}) "
          f"on http://{config.node.listen}, database {config.storage.database}", flush=True)
    web.run_app(app, host=config.node.listen_host, port=config.node.listen_port, print=None,
                access_log_format='%a "%r" %s %b %Tfs')
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chapterhouse", description="A federated chapter server (ActivityPub).")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run a node")
    serve.add_argument("--config", type=Path, default=Path("config.toml"), help="path to the TOML config")
    serve.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    serve.set_defaults(run=_serve)
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
