"""The chapter's settings that its admin edits on the pages (``site_settings``): the home page's summary.

The config's ``[node] summary`` is the default until the admin writes another on the
dashboard; the home page shows the stored one.
"""

from __future__ import annotations

from aiohttp import web

from node.core.appkeys import CLOCK, CONFIG, DATABASE
from node.core.clock import to_epoch
from node.core.db import fetch_value
from node.core.migrations import Migration

MIGRATIONS = [
    Migration(
        11,
        "web: site settings",
        """
    -- node/web/settings.py: what the admin edits on the pages (the chapter's summary)
    CREATE TABLE site_settings (
        key        TEXT PRIMARY KEY,
        value      TEXT NOT NULL,
        changed_at REAL NOT NULL
    );
    """,
    )
]


async def summary(request: web.Request) -> str:
    stored = await fetch_value(request.app[DATABASE].reader, "SELECT value FROM site_settings WHERE key = 'summary'")
    return stored if stored is not None else request.app[CONFIG].node.summary


async def set_summary(request: web.Request, text: str) -> None:
    async with request.app[DATABASE].transaction() as conn:
        await conn.execute(
            "INSERT INTO site_settings (key, value, changed_at) VALUES ('summary', ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value, changed_at = excluded.changed_at",
            (text, to_epoch(request.app[CLOCK].now())),
        )


async def home_context(request: web.Request) -> dict:
    return {"summary": await summary(request)}
