"""Which URL hosts the node could ever connect to (issue 10): hostile keyIds, actor ids and
inboxes are refused with a reason by ``federation.addresses``, before any DNS or socket."""

from __future__ import annotations

import pytest

from federation.addresses import BlockedAddress, check_url, host_problem


@pytest.mark.parametrize(
    "url, words",
    [
        ("http://a..example/k", "valid host name"),
        ("http://" + "a" * 64 + ".example/k", "valid host name"),
        ("http://" + ("b" * 63 + ".") * 5 + "example/k", "valid host name"),
        ("http://\u00ad.example/k", "valid host name"),
        ("http://::1/k", "not a valid URL"),
        ("http://[::1/k", "not a valid URL"),
        ("http://ex%61mple.test/k", "percent-encoded"),
        ("http://[fe80::1%25eth0]/k", "percent-encoded"),
        ("http://user:pass@example.test/k", "user info"),
        ("http://example.test:99999/k", "not a valid URL"),
        ("http://example.test:0/k", "port 0"),
        ("http:///k", "no host"),
    ],
)
def test_hostile_hosts_are_refused_with_the_reason(url, words):
    assert words in host_problem(url)
    with pytest.raises(BlockedAddress, match=words.split()[0]):
        check_url(url, allow_private=True)


@pytest.mark.parametrize(
    "url",
    [
        "http://example.test/k",
        "https://b\u00fccher.example/k",
        "http://[::1]:8080/k",
        "http://127.0.0.1:1/k",
        "https://example.test./k",
        "http://xn--bcher-kva.example/k",
    ],
)
def test_ordinary_hosts_pass(url):
    assert host_problem(url) is None
    check_url(url, allow_private=True)
