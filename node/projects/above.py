"""The projects of the levels above this node, read from their nodes by ActivityPub (network, no table).

A project lives on the node whose members it concerns, often the region or the international. A
member of a chapter has no account there (and no Mastodon account to act from), so the chapter's
own pages show the projects of every level above and let the member take part from here
(``node.projects.above_pages``), acting as their ``Person`` (``node.projects.acting``).

**The levels** are this node's linked parent and the parents above it, nearest first
(:func:`node.branches.ancestry.ancestors`, each actor document taken from the remote actor cache
when this process fetched it less than :data:`CACHE_SECONDS` ago). Each is named by its actor
document (:func:`node.branches.names.from_document`: its display name and place, never its URL).

**What a level shows.** Its actor names its ``projects`` collection: a public
``OrderedCollection`` of ``Article`` s (``name`` the title, ``content`` the aim and the default,
``url`` the project's page there), its items inline or on its ``first`` page, embedded or by id.
A project's own document (fetched by id) may carry ``defaultOption`` (the default alone), a
``drafts`` collection and its ``replies`` (the thread): a draft is an ``Article`` with
``inReplyTo`` (or ``context``) the project's id, a reply a ``Note`` in reply to it. When the
project's node offers no list of drafts, the drafts this node's members wrote there and that
node accepted are fetched by id (``node.projects.above_acts``), so a member at least sees those.

**Fetching.** Every GET is signed by this node's Group actor (levels in authorized-fetch mode
answer it), waits at most :data:`FETCH_SECONDS`, reads at most :data:`MAX_BYTES`, and its answer
(or its failure) is kept in a small cache per application (:class:`Cache`, by URL) for
:data:`CACHE_SECONDS`, at most :data:`MAX_KEPT` answers and :data:`MAX_CACHE_BYTES` in all (the
oldest forgotten first: a hostile level serving documents of :data:`MAX_BYTES` each fills
8 MB, not 500 times 512 KB), so a page costs the levels nothing most of the time and a level that is
down costs one wait a minute, not one per page. A member's act forgets the cache (the page they
come back to shows what the node now holds), and while an act of theirs waits for its answer, or
was answered less than :data:`CACHE_SECONDS` ago, their pages read afresh (``fresh``), so what the
answer changed shows at once. A level that cannot be reached is shown as "could not be reached
now", never as an error page.

**What is trusted.** Nothing but the shape: a document must be of the expected type and its id on
its level's host (a project or draft claimed from elsewhere is dropped); lists are cut at
:data:`MAX_ITEMS`; a project asked for by id must be on the host of a level above, and for a
level nothing is fetched off its host (:meth:`Fetcher.on`: a collection, a page or an item named
by an id elsewhere is skipped, so a hostile level cannot make this node sign GETs to hosts of
its choosing; what it embeds is shown as its word); its HTML is sanitised where it is shown
(``safe_html``), its texts escaped.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace

from aiohttp import web

from federation import jsonio
from federation.activitystreams import id_of, origin_of
from federation.actors import RemoteActor
from federation.client import FederationClient, FetchError, Signer
from node.branches import ancestry, link_store, names
from node.core.actors import signer_for
from node.core.appkeys import CONFIG, DATABASE, FEDERATION_CLIENT, KEYRING, REMOTE_ACTORS, URLS
from node.core.objects import as_list, primary_type
from node.core.sanitize import clean_html

FETCH_SECONDS = 3.0
CACHE_SECONDS = 60.0
MAX_BYTES = 512 * 1024
MAX_ITEMS = 50
MAX_KEPT = 500  # cached answers; past it the oldest is forgotten
MAX_CACHE_BYTES = 8 * 1024 * 1024  # the cached documents' JSON in all; past it the oldest are forgotten


def size_of(value: dict | FetchError) -> int:
    """What a cached answer weighs: its document's JSON (as fetched, at most MAX_BYTES), or its error's text."""
    return len(str(value)) if isinstance(value, FetchError) else len(jsonio.dumps(value))


class Cache:
    """Fetched documents (or why they could not be fetched) by URL, each for ``life`` seconds; at
    most ``MAX_KEPT`` of them and ``MAX_CACHE_BYTES`` in all, the oldest forgotten first."""

    def __init__(self, life: float = CACHE_SECONDS) -> None:
        self.life = life
        self.kept: OrderedDict[str, tuple[float, dict | FetchError, int]] = OrderedDict()  # oldest first
        self.bytes = 0

    def get(self, url: str) -> dict | FetchError | None:
        found = self.kept.get(url)
        if found is None or time.monotonic() - found[0] > self.life:
            return None
        return found[1]

    def put(self, url: str, value: dict | FetchError) -> None:
        self._drop(url)
        size = size_of(value)
        while self.kept and (len(self.kept) >= MAX_KEPT or self.bytes + size > MAX_CACHE_BYTES):
            self._drop(next(iter(self.kept)))
        self.kept[url] = (time.monotonic(), value, size)
        self.bytes += size

    def _drop(self, url: str) -> None:
        found = self.kept.pop(url, None)
        if found is not None:
            self.bytes -= found[2]

    def forget(self) -> None:
        self.kept.clear()
        self.bytes = 0


ABOVE_CACHE: web.AppKey[Cache] = web.AppKey("projects_above_cache", Cache)


@dataclass(frozen=True)
class Item:
    """A project, a draft or a reply as its node serves it."""

    id: str
    title: str
    content: str  # sanitised HTML
    url: str | None
    author: str | None
    published: str | None
    default: str | None = None
    parent: str | None = None  # what it replies to (a draft: its project)


@dataclass(frozen=True)
class Level:
    branch: names.BranchName
    projects: list[Item] | None  # None: it could not be reached now


@dataclass(frozen=True)
class Project:
    item: Item
    level: names.BranchName
    drafts: list[Item] = field(default_factory=list)
    thread: list[Item] = field(default_factory=list)


@dataclass(frozen=True)
class Fetcher:
    client: FederationClient
    signer: Signer
    cache: Cache
    fresh: bool = False  # read afresh (and keep what was read), while the member waits for an answer
    within: str | None = None  # the level's actor: nothing off its host is fetched

    def on(self, level: str) -> Fetcher:
        """This fetcher, fetching only from the host of ``level`` (an actor id)."""
        return replace(self, within=level)

    async def document(self, url: str) -> dict:
        if self.within is not None and not same_host(url, self.within):
            raise FetchError(f"{url} is not on the host of {self.within}: not fetched")
        kept = None if self.fresh else self.cache.get(url)
        if isinstance(kept, FetchError):
            raise kept
        if kept is not None:
            return kept
        try:
            async with asyncio.timeout(FETCH_SECONDS):
                found = await self.client.get_json(url, signer=self.signer, max_bytes=MAX_BYTES)
        except TimeoutError:
            error = FetchError(f"GET {url} took longer than {FETCH_SECONDS} s")
            self.cache.put(url, error)
            raise error from None
        except FetchError as error:
            self.cache.put(url, error)
            raise
        self.cache.put(url, found)
        return found

    async def maybe(self, value) -> dict | None:
        """An embedded document as it is, one given by id fetched; None when it cannot be had."""
        if isinstance(value, dict):
            return value
        if not isinstance(value, str):
            return None
        try:
            return await self.document(value)
        except FetchError:
            return None


def same_host(url: str, other: str) -> bool:
    one, two = origin_of(url), origin_of(other)
    return bool(one.netloc) and (one.scheme, one.netloc.lower()) == (two.scheme, two.netloc.lower())


def fetcher_of(app: web.Application, *, fresh: bool = False) -> Fetcher:
    keys = app[KEYRING][app[CONFIG].node.name]
    return Fetcher(app[FEDERATION_CLIENT], signer_for(app[URLS], keys), app[ABOVE_CACHE], fresh)


def forget(app: web.Application) -> None:
    app[ABOVE_CACHE].forget()


# --- documents and collections


def _text(value) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def item_of(document: dict | None, host_of: str, kinds: tuple[str, ...] = ("Article",)) -> Item | None:
    """The document as an item, if it is of ``kinds`` and its id on the host of ``host_of``."""
    if not isinstance(document, dict) or primary_type(document) not in kinds:
        return None
    object_id = id_of(document)
    if object_id is None or origin_of(object_id) != origin_of(host_of):
        return None
    url = id_of(as_list(document.get("url"))[0]) if document.get("url") else None
    return Item(
        id=object_id,
        title=_text(document.get("name")) or "",
        content=clean_html(_text(document.get("content")) or ""),
        url=url if url is not None and url.startswith(("https://", "http://")) else None,
        author=id_of(document.get("attributedTo")),
        published=_text(document.get("published")),
        default=_text(document.get("defaultOption")),
        parent=id_of(document.get("inReplyTo")) or id_of(document.get("context")),
    )


async def items_of(fetcher: Fetcher, collection) -> list[dict]:
    """A collection's items (inline, or on its first page), each embedded or fetched, at most MAX_ITEMS."""
    collection = await fetcher.maybe(collection)
    if collection is None:
        return []
    listed = collection.get("orderedItems", collection.get("items"))
    if listed is None and collection.get("first") is not None:
        page = await fetcher.maybe(collection["first"])
        listed = page.get("orderedItems", page.get("items")) if page is not None else None
    found = await asyncio.gather(*(fetcher.maybe(x) for x in as_list(listed)[:MAX_ITEMS]))
    return [x for x in found if x is not None]


# --- the levels above


async def chain(app: web.Application) -> list[str]:
    """The actor ids of the levels above this node, nearest first (none without a linked parent)."""
    parent = await link_store.linked_parent(app[DATABASE].reader)
    if parent is None:
        return []
    here = app[URLS].actor(app[CONFIG].node.name)
    return await ancestry.ancestors(app[REMOTE_ACTORS], parent.peer_id, local=here, max_age=CACHE_SECONDS)


async def level_actor(app: web.Application, actor_id: str) -> RemoteActor | None:
    try:
        return await app[REMOTE_ACTORS].get_actor(actor_id, max_age=CACHE_SECONDS)
    except FetchError:
        return None


async def _level(app: web.Application, fetcher: Fetcher, actor_id: str) -> Level:
    actor = await level_actor(app, actor_id)
    if actor is None:
        return Level(await names.name_of(app[DATABASE].reader, actor_id), None)
    branch = names.from_document(actor.id, actor.data)
    collection = id_of(actor.data.get("projects"))
    if collection is None:
        return Level(branch, [])
    fetcher = fetcher.on(actor.id)
    try:
        await fetcher.document(collection)
    except FetchError:
        return Level(branch, None)
    found = [item_of(document, actor.id) for document in await items_of(fetcher, collection)]
    return Level(branch, [item for item in found if item is not None])


async def levels(app: web.Application, *, fresh: bool = False) -> list[Level]:
    """Each level above with its projects (or None where it could not be reached now)."""
    fetcher = fetcher_of(app, fresh=fresh)
    return list(await asyncio.gather(*(_level(app, fetcher, actor_id) for actor_id in await chain(app))))


async def level_of(app: web.Application, object_id: str) -> RemoteActor | None:
    """The level above whose host ``object_id`` is on, or None (this node fetches nothing else)."""
    for actor_id in await chain(app):
        if origin_of(actor_id) == origin_of(object_id):
            return await level_actor(app, actor_id)
    return None


# --- one project


def _replies_to(document: dict, project_id: str) -> bool:
    return project_id in (id_of(document.get("inReplyTo")), id_of(document.get("context")))


async def _drafts(fetcher: Fetcher, document: dict, replies: list[dict], known: list[str], host: str) -> list[Item]:
    listed = await items_of(fetcher, document.get("drafts")) if document.get("drafts") else []
    listed += [r for r in replies if primary_type(r) == "Article"]
    listed += [d for d in await asyncio.gather(*(fetcher.maybe(i) for i in known[:MAX_ITEMS])) if d is not None]
    drafts: dict[str, Item] = {}
    for found in listed:
        item = item_of(found, host) if _replies_to(found, document["id"]) else None
        if item is not None:
            drafts.setdefault(item.id, item)
    return list(drafts.values())


async def project(
    app: web.Application, project_id: str, known_drafts: list[str], *, fresh: bool = False
) -> Project | None:
    """The project at ``project_id`` of a level above, its drafts and thread; None when it is no such
    project. A :class:`FetchError` when its node cannot be reached now."""
    actor = await level_of(app, project_id)
    if actor is None:
        return None
    fetcher = fetcher_of(app, fresh=fresh).on(actor.id)
    document = await fetcher.document(project_id)
    item = item_of(document, actor.id)
    if item is None or item.id != project_id:
        return None
    replies = await items_of(fetcher, document.get("replies")) if document.get("replies") else []
    thread = [item_of(r, r.get("id") or "", ("Note",)) for r in replies if _replies_to(r, project_id)]
    return Project(
        item=item,
        level=names.from_document(actor.id, actor.data),
        drafts=await _drafts(fetcher, document, replies, known_drafts, actor.id),
        thread=[reply for reply in thread if reply is not None],
    )


async def draft(app: web.Application, draft_id: str) -> Item | None:
    """A draft of a project above, fetched (for the revision form); None when it is none."""
    actor = await level_of(app, draft_id)
    if actor is None:
        return None
    return item_of(await fetcher_of(app).on(actor.id).document(draft_id), actor.id)
