"""The public web pages: a chapter's profile with its recent public posts, and one post.

Server-rendered, no JavaScript; all text is escaped and post HTML is sanitised again on the
way out. Mastodon links here from the actor's ``url``.
"""

from __future__ import annotations

from html import escape

from aiohttp import web

from node import objects
from node.appkeys import CONFIG, DATABASE, URLS
from node.errors import ApiError
from node.sanitize import clean_html

_STYLE = "body{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;line-height:1.5}" \
         "article{border-top:1px solid #ccc;padding:1rem 0}time{color:#555;font-size:.9rem}"


def _page(title: str, body: str) -> web.Response:
    html = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style></head>'
            f"<body>{body}</body></html>")
    return web.Response(text=html, content_type="text/html", headers={
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:"})


def _post_html(data: dict) -> str:
    title = f"<h2>{escape(data['name'])}</h2>" if isinstance(data.get("name"), str) else ""
    content = clean_html(data["content"]) if isinstance(data.get("content"), str) else ""
    published = escape(str(data.get("published", "")))
    link = escape(str(data.get("id", "")))
    return f'<article>{title}{content}<p><time>{published}</time> · <a href="{link}">link</a></p></article>'


async def profile(request: web.Request) -> web.Response:
    config, urls, db = request.app[CONFIG], request.app[URLS], request.app[DATABASE]
    if request.match_info["username"] != config.node.name:
        raise ApiError(404, f"no chapter named {request.match_info['username']} here")
    activities = await objects.page_outbox(db.reader, config.node.name, offset=0, limit=20)
    posts = []
    for activity in activities:
        if activity.type == "Create" and isinstance(activity.data.get("object"), dict):
            stored = await objects.get(db.reader, activity.data["object"].get("id", ""))
            if stored and stored.deleted is None and stored.visibility == "public":
                posts.append(_post_html(stored.data))
    handle = f"@{config.node.name}@{urls.host}"
    body = (f"<header><h1>{escape(config.node.display_name)}</h1><p><code>{escape(handle)}</code></p>"
            f"<p>{escape(config.node.summary)}</p><p>Follow {escape(handle)} from any fediverse account.</p></header>"
            f"<main>{''.join(posts) or '<p>Nothing published yet.</p>'}</main>")
    return _page(config.node.display_name, body)


def object_page(request: web.Request, stored: objects.StoredObject) -> web.Response:
    config = request.app[CONFIG]
    title = stored.data.get("name") if isinstance(stored.data.get("name"), str) else config.node.display_name
    body = f'<p><a href="{escape(request.app[URLS].profile(stored.author))}">{escape(config.node.display_name)}</a></p>'
    return _page(title, body + _post_html(stored.data))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/@{username}", profile)
