"""The chapter's cache of what the levels above serve (``node.projects.above.Cache``) is bounded by
bytes as well as by count: a hostile parent serving documents of ``MAX_BYTES`` each fills at most
``MAX_CACHE_BYTES``, and the oldest answers are forgotten first, never the whole cache at once."""

from __future__ import annotations

from federation import jsonio
from federation.client import FetchError
from node.projects import above


def document(n: int, size: int) -> dict:
    return {"id": f"https://parent.example/objects/{n}", "type": "Article", "content": "x" * size}


def kept(cache: above.Cache, urls: list[str]) -> list[str]:
    return [url for url in urls if cache.get(url) is not None]


def test_documents_as_large_as_a_level_may_serve_fill_the_cache_up_to_its_bytes_only():
    cache = above.Cache()
    urls = [f"https://parent.example/objects/{n}" for n in range(100)]
    for n, url in enumerate(urls):
        cache.put(url, document(n, above.MAX_BYTES - 200))
    held = kept(cache, urls)
    weight = sum(len(jsonio.dumps(cache.get(url))) for url in held)
    assert weight <= above.MAX_CACHE_BYTES < 100 * above.MAX_BYTES
    assert held == urls[-len(held) :]  # the newest are kept, the oldest were forgotten first
    assert len(held) == above.MAX_CACHE_BYTES // above.MAX_BYTES  # and the cache is used to its bound


def test_past_the_count_the_oldest_answer_is_forgotten_not_the_whole_cache():
    cache = above.Cache()
    urls = [f"https://parent.example/objects/{n}" for n in range(above.MAX_KEPT + 10)]
    for n, url in enumerate(urls):
        cache.put(url, document(n, 10) if n % 2 else FetchError(f"GET {url} answered 500", status=500))
    assert kept(cache, urls) == urls[10:]


def test_an_answer_put_again_is_counted_once_and_becomes_the_newest():
    cache = above.Cache()
    size = above.MAX_BYTES - 200
    first, urls = "https://parent.example/objects/first", [f"https://parent.example/objects/{n}" for n in range(20)]
    cache.put(first, document(0, size))
    for n, url in enumerate(urls[:10]):
        cache.put(url, document(n, size))
        cache.put(first, document(0, size))  # read afresh: the same URL again, not a second entry
    for n, url in enumerate(urls[10:]):
        cache.put(url, document(n, size))
    assert cache.get(first) is not None  # put again last before the newest: not among the oldest
    assert cache.get(urls[0]) is None
    cache.forget()
    assert kept(cache, [first, *urls]) == [] and cache.bytes == 0
