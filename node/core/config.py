"""The node's configuration: a TOML file read once into frozen dataclasses.

Unknown tables and keys are refused (a typo should not silently fall back to a default), and
every error names the key and says what to write instead.

Why not ``msgspec`` Structs (weighed for issue 19): the type and unknown-key checks are already
one generic function over the dataclasses' fields (``_section``), and what is written by hand
are the checks no ``Meta(gt=0)`` expresses (a bare-origin ``base_url``, ``listen``'s host and
port, a language we have catalogs for, an IANA zone, a colour) with messages that say what to
write, which msgspec's (``Expected `int`, got `str` - at `$.federation...```) do not. Structs
would also change how the tests and tools build and ``replace`` a ``Config``, and add a compiled
dependency for a file read once at start, for no check the node lacks today.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from node.core.i18n import available_languages

LEVELS = ("chapter", "region", "nation", "international")
_USERNAME = re.compile(r"^[a-z0-9_]{1,64}$")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
EXAMPLE_TOKEN = "change-me"  # noqa: S105 - config.example.toml's: a node off loopback refuses to start with it
_SCALARS: dict[str, type | tuple[type, ...]] = {"bool": bool, "int": int, "float": (int, float), "str": str}
TABLES = ("node", "storage", "admin", "federation", "polls", "accounts", "server", "tree", "projects")


class ConfigError(Exception):
    """The configuration cannot be used; the message says which key and how to fix it."""


@dataclass(frozen=True)
class NodeConfig:
    base_url: str
    listen: str
    name: str
    display_name: str
    level: str = "chapter"
    summary: str = ""
    manually_approves_followers: bool = False
    follow_requests_membership: bool = False
    location: str = ""  # a place name, shown on the actor as a ``Place`` (the branch tree's facts)
    founded: str = ""  # an ISO date (YYYY-MM-DD), when the branch was founded
    language: str = "en"  # what the chapter publishes in (contentMap) and the pages' default
    timezone: str = "UTC"  # an IANA zone: dates and times on the pages are shown in it
    logo_url: str = ""  # an https: (or data:) image shown beside the name on every page
    colour: str = "#9b1c31"  # the pages' accent colour, #rrggbb

    @property
    def host(self) -> str:
        """host[:port] as it appears in ids and in acct: handles."""
        return urlsplit(self.base_url).netloc

    @property
    def listen_host(self) -> str:
        return self.listen.rsplit(":", 1)[0].strip("[]")

    @property
    def listen_port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])


POSTGRES_SCHEMES = ("postgresql://", "postgres://")


@dataclass(frozen=True)
class StorageConfig:
    """Where the node keeps everything: a SQLite file (``database``, the default) or, when ``url``
    is a ``postgresql://`` address (``[storage] database`` or ``DATABASE_URL``), PostgreSQL."""

    database: Path | None = None
    url: str | None = field(default=None, repr=False)  # PostgreSQL's address: may hold a password
    pool_size: int = 8  # PostgreSQL: reading connections per process (the writer is one more)
    keep_processed_days: float = 30.0  # processed inbox items (and their bodies) are deleted after this; 0: kept
    keep_delivered_days: float = 30.0  # delivered (or given up) delivery rows are deleted after this; 0: kept
    prune_interval_seconds: float = 3600.0  # how often the pruning runs (expired sessions go then too)
    prune_batch_rows: int = 500  # rows per DELETE: the write lock is held for one batch at a time

    @property
    def postgres(self) -> bool:
        return self.url is not None

    @property
    def sqlite_file(self) -> Path:
        """The SQLite file; a clear error for the commands that only a SQLite node has."""
        if self.database is None:
            raise ConfigError(
                "this node keeps its data in PostgreSQL, not a SQLite file: back it up with pg_dump"
                " (see the README's deployment section)"
            )
        return self.database

    def describe(self) -> str:
        """Where the data is, for logs: the file, or the PostgreSQL address without its password."""
        if self.url is None:
            return str(self.database)
        from node.core.postgres import redacted

        return redacted(self.url)


@dataclass(frozen=True)
class AdminConfig:
    token: str = field(repr=False)


@dataclass(frozen=True)
class FederationConfig:
    allow_private_addresses: bool = False
    authorized_fetch: bool = False
    max_body_bytes: int = 1024 * 1024
    max_fetch_bytes: int = 1024 * 1024
    fetch_timeout_seconds: float = 10.0
    delivery_timeout_seconds: float = 15.0
    delivery_concurrency: int = 32
    user_agent: str = "Chapterhouse/0.1"
    inbox_per_host_per_minute: float = 1200.0  # inbox POSTs a remote host may make (then 429 + Retry-After)
    inbox_per_host_burst: int = 600
    inbox_per_actor_per_minute: float = 300.0  # and one remote actor
    inbox_per_actor_burst: int = 120
    max_recipients: int = 1000  # addresses (to, cc, bto, bcc, audience) an incoming activity may carry
    allowed_networks: tuple[str, ...] = ()  # private networks reachable even without allow_private_addresses
    key_fetches_per_host: int = 2  # signing-key fetches running at once to one host; more wait their turn
    key_fetches_total: int = 16  # and in total
    key_fetches_per_responsive_host: int = 8  # to a host whose fetches answer quickly (back to per_host when not)
    key_fetches_waiting_per_host: int = 1000  # fetches waiting their turn for one host; past it refused at once
    key_fetch_wait_seconds: float = 10.0  # how long a request may wait for its key fetch's turn
    key_fetch_slow_seconds: float = 2.0  # a host whose key fetch takes longer is slow: its waiting ones are refused
    key_fetch_per_host_per_minute: float = 60.0  # failed or slow key fetches one host may cause (then refused)
    key_fetch_per_host_burst: int = 30
    key_fetch_failure_seconds: float = 120.0  # a key that could not be fetched is not tried again for this long
    inbox_prepare_timeout_seconds: float = 15.0  # all the network work of one received item (then retried later)
    inbox_lease_seconds: float = 120.0  # a claimed received item is due again after this if its worker died
    delivery_lease_seconds: float = 300.0  # and a claimed delivery (node.core.processes)

    @property
    def networks(self):
        from federation.addresses import parse_networks

        return parse_networks(self.allowed_networks)


@dataclass(frozen=True)
class AccountsConfig:
    """Throttles on password sign-in (``/login``, ``/login/admin``) and sign-up (``/join``)."""

    login_per_account_per_minute: float = 1.0  # sign-in attempts on one account (the admin's too); past it 429
    login_per_account_burst: int = 10
    login_per_address_per_minute: float = 6.0  # sign-in attempts from one IP address
    login_per_address_burst: int = 30
    signups_per_address_per_minute: float = 0.1  # new accounts from one IP address (6 an hour)
    signups_per_address_burst: int = 5


@dataclass(frozen=True)
class ServerConfig:
    """The HTTP server's bounds on connections (node/web/guard.py)."""

    max_connections: int = 512  # open connections at once; past it the longest idle one is closed
    header_timeout_seconds: float = 15.0  # to send a request's headers (from connecting, or the last answer)
    body_timeout_seconds: float = 30.0  # to send a request's body; past it 408


@dataclass(frozen=True)
class PollsConfig:
    update_interval_seconds: float = 60.0  # how often dirty polls send one coalesced Update(Question)


@dataclass(frozen=True)
class TreeConfig:
    """The branch tree (node/branches): who may become a child automatically, and how often to report."""

    accept_children_from: tuple[str, ...] = ()  # host[:port] whose link requests are accepted without the admin
    allow_skipping_levels: bool = True  # false: a parent must be exactly one level up
    report_interval_seconds: float = 60.0  # signed reports to the parent go out at most this often


@dataclass(frozen=True)
class ProjectsConfig:
    """Members' projects (node/projects): who may start one, when a draft qualifies, how it goes to the vote."""

    approval_required: bool = False  # true: a new project waits for the admin's approval before it opens
    signatory_quorum: str = "5%"  # a draft qualifies with this many signatories: "5%" of the subtree's members, or "25"
    like_signs: bool = False  # true: a member's Like of a draft (from Mastodon) signs it, and its Undo withdraws
    put_to_vote: str = "admin"  # "admin": the admin's button puts qualifying drafts to the vote; "auto": at once
    vote_days: float = 14.0  # how long the vote stays open
    tally_days: float = 2.0  # after the close, how long the levels have to report their tallies

    def quorum(self, subtree_members: int) -> int:
        """The signatories a draft needs, for a subtree of this many members (at least 1)."""
        text = self.signatory_quorum.strip()
        if text.endswith("%"):
            share = float(text[:-1]) / 100
            return max(1, math.ceil(share * subtree_members - 1e-9))
        return max(1, int(text))


@dataclass(frozen=True)
class Config:
    node: NodeConfig
    storage: StorageConfig
    admin: AdminConfig
    federation: FederationConfig = FederationConfig()
    polls: PollsConfig = PollsConfig()
    accounts: AccountsConfig = AccountsConfig()
    server: ServerConfig = ServerConfig()
    tree: TreeConfig = TreeConfig()
    projects: ProjectsConfig = ProjectsConfig()

    def with_federation(self, **changes: Any) -> Config:
        return replace(self, federation=replace(self.federation, **changes))


def _section(raw: dict, name: str, cls: type, *, required: bool = True) -> dict:
    table = raw.get(name)
    if table is None:
        if required:
            raise ConfigError(f"missing [{name}] table; copy it from config.example.toml")
        return {}
    if not isinstance(table, dict):
        raise ConfigError(f"[{name}] must be a table")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"unknown key(s) in [{name}]: {', '.join(unknown)}; known keys: {', '.join(sorted(known))}")
    for f in fields(cls):
        if f.name in table and f.type in ("bool", "int", "float", "str"):
            value = table[f.name]
            expected = _SCALARS[f.type]
            if not isinstance(value, expected) or (f.type in ("int", "float") and isinstance(value, bool)):
                raise ConfigError(f"[{name}] {f.name} must be a {f.type}, not {value!r}")
    return dict(table)


def parse_config(raw: dict, *, relative_to: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Build a Config from parsed TOML; paths are resolved against ``relative_to``; a
    ``DATABASE_URL`` in ``environ`` (the process's environment by default) wins over
    ``[storage] database``."""
    unknown_tables = sorted(set(raw) - set(TABLES))
    if unknown_tables:
        raise ConfigError(
            f"unknown table(s) {', '.join(f'[{t}]' for t in unknown_tables)}; "
            f"known tables: {', '.join(f'[{t}]' for t in TABLES)}"
        )
    node = NodeConfig(
        **_require(_section(raw, "node", NodeConfig), "node", ("base_url", "listen", "name", "display_name"))
    )
    storage = _storage(
        _require(_section(raw, "storage", StorageConfig), "storage", ("database",)),
        relative_to,
        (os.environ if environ is None else environ).get("DATABASE_URL"),
    )
    admin = AdminConfig(**_require(_section(raw, "admin", AdminConfig), "admin", ("token",)))
    federation_raw = _section(raw, "federation", FederationConfig, required=False)
    if "allowed_networks" in federation_raw:
        networks = federation_raw["allowed_networks"]
        if not isinstance(networks, list) or not all(isinstance(n, str) for n in networks):
            raise ConfigError('[federation] allowed_networks must be a list of networks, like ["10.1.0.0/16"]')
        federation_raw["allowed_networks"] = tuple(networks)
    federation = FederationConfig(**federation_raw)
    polls = PollsConfig(**_section(raw, "polls", PollsConfig, required=False))
    accounts = AccountsConfig(**_section(raw, "accounts", AccountsConfig, required=False))
    server = ServerConfig(**_section(raw, "server", ServerConfig, required=False))
    tree = _tree(_section(raw, "tree", TreeConfig, required=False))
    projects = ProjectsConfig(**_section(raw, "projects", ProjectsConfig, required=False))
    config = Config(
        node=node,
        storage=storage,
        admin=admin,
        federation=federation,
        polls=polls,
        accounts=accounts,
        server=server,
        tree=tree,
        projects=projects,
    )
    validate(config)
    return config


def _tree(table: dict) -> TreeConfig:
    if "accept_children_from" in table:
        hosts = table["accept_children_from"]
        if not isinstance(hosts, list) or not all(isinstance(h, str) and h for h in hosts):
            raise ConfigError(
                '[tree] accept_children_from must be a list of hosts, like ["region.example", "127.0.0.1:8081"]'
            )
        table["accept_children_from"] = tuple(h.lower() for h in hosts)
    return TreeConfig(**table)


def _require(table: dict, name: str, keys: tuple[str, ...]) -> dict:
    missing = [k for k in keys if k not in table]
    if missing:
        raise ConfigError(f"[{name}] needs {', '.join(missing)}; see config.example.toml")
    return table


_QUORUM = re.compile(r"^\s*(\d+(\.\d+)?%|\d+)\s*$")


def _validate_projects(projects: ProjectsConfig) -> None:
    text = projects.signatory_quorum
    if not _QUORUM.match(text) or ("%" in text and float(text.strip().rstrip("%")) > 100):
        raise ConfigError(
            f'[projects] signatory_quorum is a share of the members ("5%") or a count ("25"),'
            f" not {projects.signatory_quorum!r}"
        )
    if projects.put_to_vote not in ("admin", "auto"):
        raise ConfigError(f'[projects] put_to_vote is "admin" or "auto", not {projects.put_to_vote!r}')
    if not 0 < projects.vote_days <= 366 or not 0 < projects.tally_days <= 60:
        raise ConfigError("[projects] vote_days is more than 0 and at most 366, tally_days more than 0 and at most 60")


def validate(config: Config) -> None:
    parts = urlsplit(config.node.base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") or parts.query:
        raise ConfigError(
            f"[node] base_url must be a bare origin like https://chapter.example, not {config.node.base_url!r}"
        )
    if not _USERNAME.match(config.node.name):
        raise ConfigError(f"[node] name must be 1-64 of a-z, 0-9 and _, not {config.node.name!r}")
    if config.node.level not in LEVELS:
        raise ConfigError(f"[node] level must be one of {', '.join(LEVELS)}, not {config.node.level!r}")
    host, sep, port = config.node.listen.rpartition(":")
    if not sep or not host or not (port.isascii() and port.isdigit()):
        raise ConfigError(f"[node] listen must be host:port, like 127.0.0.1:8080, not {config.node.listen!r}")
    _validate_pages(config.node)
    _validate_projects(config.projects)
    if len(config.admin.token) < 8:
        raise ConfigError("[admin] token must be at least 8 characters; use a long random string")
    try:
        _ = config.federation.networks  # parsed here so that a bad network is a config error
    except ValueError as error:
        raise ConfigError(f"[federation] allowed_networks: {error}") from None
    for key in (
        "max_body_bytes",
        "max_fetch_bytes",
        "delivery_concurrency",
        "inbox_per_host_per_minute",
        "inbox_per_host_burst",
        "inbox_per_actor_per_minute",
        "inbox_per_actor_burst",
        "max_recipients",
        "key_fetches_per_host",
        "key_fetches_total",
        "key_fetches_waiting_per_host",
        "key_fetches_per_responsive_host",
        "key_fetch_per_host_per_minute",
        "key_fetch_per_host_burst",
    ):
        if getattr(config.federation, key) < 1:
            raise ConfigError(f"[federation] {key} must be positive")
    for f in fields(AccountsConfig):
        if getattr(config.accounts, f.name) <= 0:
            raise ConfigError(f"[accounts] {f.name} must be positive")
    if config.federation.key_fetch_failure_seconds < 0:
        raise ConfigError("[federation] key_fetch_failure_seconds must be 0 or more")
    _validate_retention(config.storage)
    for key in ("key_fetch_wait_seconds", "key_fetch_slow_seconds"):
        if not getattr(config.federation, key) > 0:
            raise ConfigError(f"[federation] {key} must be positive")
    if not config.federation.inbox_prepare_timeout_seconds > 0:
        raise ConfigError("[federation] inbox_prepare_timeout_seconds must be positive (15 is a good start)")
    _validate_leases(config.federation)
    for f in fields(ServerConfig):
        if getattr(config.server, f.name) <= 0:
            raise ConfigError(f"[server] {f.name} must be positive")
    if config.polls.update_interval_seconds <= 0:
        raise ConfigError("[polls] update_interval_seconds must be positive")
    if config.tree.report_interval_seconds <= 0:
        raise ConfigError("[tree] report_interval_seconds must be positive")
    _validate_founded(config.node.founded)


def _validate_leases(federation: FederationConfig) -> None:
    """A lease must outlast the work on what it claims (else another process may take the row meanwhile)."""
    if not federation.inbox_lease_seconds > federation.inbox_prepare_timeout_seconds:
        raise ConfigError(
            "[federation] inbox_lease_seconds must be longer than inbox_prepare_timeout_seconds"
            f" ({federation.inbox_prepare_timeout_seconds:g}); 120 is a good start"
        )
    if not federation.delivery_lease_seconds >= 4 * federation.delivery_timeout_seconds:
        raise ConfigError(
            "[federation] delivery_lease_seconds must be at least four delivery_timeout_seconds"
            f" ({4 * federation.delivery_timeout_seconds:g}); 300 is a good start"
        )


def _validate_retention(storage: StorageConfig) -> None:
    for key in ("keep_processed_days", "keep_delivered_days"):
        if getattr(storage, key) < 0:
            raise ConfigError(f"[storage] {key} must be 0 (keep forever) or more")
    if not storage.prune_interval_seconds > 0 or storage.prune_batch_rows < 1:
        raise ConfigError("[storage] prune_interval_seconds and prune_batch_rows must be positive")


def _validate_founded(founded: str) -> None:
    if not founded:
        return
    try:
        date.fromisoformat(founded)
    except ValueError:
        raise ConfigError(f"[node] founded must be a date like 2021-03-14, not {founded!r}") from None


def _validate_pages(node: NodeConfig) -> None:
    """The keys that shape the pages: the language, the time zone, the logo and the colour."""
    if node.language not in available_languages():
        raise ConfigError(f"[node] language must be one of {', '.join(available_languages())}, not {node.language!r}")
    try:
        ZoneInfo(node.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"[node] timezone must be an IANA time zone like Europe/London, not {node.timezone!r}"
        ) from None
    if node.logo_url and not node.logo_url.startswith(("https://", "data:image/", "/")):
        raise ConfigError(f"[node] logo_url must be an https: URL (or a data:image/ URL), not {node.logo_url!r}")
    if not _COLOUR.match(node.colour):
        raise ConfigError(f"[node] colour must be #rrggbb, like #9b1c31, not {node.colour!r}")


def uses_example_token(config: Config) -> bool:
    return config.admin.token == EXAMPLE_TOKEN


def _storage(raw: dict, relative_to: Path, database_url: str | None) -> StorageConfig:
    if "url" in raw:
        raise ConfigError('[storage] has no key "url": put a PostgreSQL address in database (or DATABASE_URL)')
    address = database_url or raw["database"]
    if not isinstance(address, str) or not address:
        raise ConfigError('[storage] database must be a file path or a "postgresql://user@host/db" address')
    if address.startswith(POSTGRES_SCHEMES):
        return StorageConfig(**{**raw, "database": None, "url": address})
    if "://" in address:
        raise ConfigError(
            f"[storage] database {address.split('://')[0]}://... is not a store Chapterhouse knows:"
            " a SQLite file path or a postgresql:// address"
        )
    database = Path(address)
    return StorageConfig(
        **{**raw, "database": database if database.is_absolute() else (relative_to / database).resolve()}
    )


def load_config(path: Path | str) -> Config:
    """Read and check a TOML config file."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"no config file at {path}; write one with `chapterhouse init --config {path}`"
            " (a copy of config.example.toml with a new admin token) and edit it"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None
    try:
        return parse_config(raw, relative_to=path.resolve().parent)
    except TypeError as error:  # a value of the wrong shape reached a dataclass
        raise ConfigError(f"{path}: {error}") from None
