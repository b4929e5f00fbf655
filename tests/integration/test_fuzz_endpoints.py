"""Property-based fuzzing of the node's HTTP surface: malformed input never causes a 5xx.

Hypothesis generates bodies, headers, signatures, JSON-LD shapes, deep nesting, huge arrays
and wrong types, and sends them to a real node over loopback: the inbox (signed and
unsigned), the outbox (with the admin token), WebFinger, NodeInfo, collections and the
pages' forms. Every answer must be below 500 and, when it is an error, JSON with a reason.

The number of examples per target is ``FUZZ_EXAMPLES`` (default 150, a short run for the
suite); a long run by hand: ``FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest tests/integration/test_fuzz_endpoints.py``.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import threading
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.nodes import ADMIN_TOKEN, node_config, start_node
from tests.support.remote_actor import RemoteActor

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

AS_TYPES = [
    "Create",
    "Follow",
    "Undo",
    "Accept",
    "Reject",
    "Delete",
    "Update",
    "Like",
    "Announce",
    "Question",
    "Note",
    "Article",
    "Event",
    "Join",
    "Leave",
    "Add",
    "Remove",
    "Flag",
    "Block",
    "Minutes",
    "Survey",
    "",
]
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=12), inner, max_size=6)),
    max_leaves=30,
)


def activity_shapes(base: str) -> st.SearchStrategy[dict]:
    """Activity-like JSON: the right keys with wrong or odd values, nested objects, lists."""
    ids = st.one_of(
        st.just(f"{base}/x"),
        st.text(max_size=30),
        st.integers(),
        st.none(),
        st.just("https://elsewhere.example/users/a"),
        st.lists(st.text(max_size=10), max_size=3),
    )
    return st.fixed_dictionaries(
        {"type": st.one_of(st.sampled_from(AS_TYPES), json_values)},
        optional={
            "@context": st.one_of(st.just("https://www.w3.org/ns/activitystreams"), json_values),
            "id": ids,
            "actor": ids,
            "to": st.one_of(ids, st.lists(ids, max_size=4)),
            "cc": ids,
            "object": st.one_of(
                ids,
                st.dictionaries(
                    st.sampled_from(
                        [
                            "id",
                            "type",
                            "content",
                            "name",
                            "inReplyTo",
                            "oneOf",
                            "anyOf",
                            "endTime",
                            "startTime",
                            "attributedTo",
                            "to",
                            "target",
                            "meetingDate",
                            "decisions",
                            "location",
                            "options",
                        ]
                    ),
                    json_values,
                    max_size=8,
                ),
            ),
            "target": ids,
            "content": json_values,
            "proof": json_values,
        },
    )


def deep(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


raw_bodies = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(str.encode),
    st.integers(min_value=1, max_value=200).map(lambda d: deep(d).encode()),
    st.integers(min_value=0, max_value=20000).map(lambda n: json.dumps({"type": "Create", "to": ["x"] * n}).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
)
content_types = st.sampled_from(
    [
        "application/activity+json",
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "",
    ]
)
signature_headers = st.dictionaries(
    st.sampled_from(["Signature", "Signature-Input", "Digest", "Content-Digest", "Date", "Authorization", "Host"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=120),
    max_size=5,
)


def _assert_clean(status: int, content_type: str, body: bytes, what: str) -> None:
    assert status < 500, f"{what} answered {status}: {body[:300]!r}"
    if status >= 400 and content_type.startswith("application/json"):
        payload = json.loads(body)
        assert isinstance(payload.get("error"), str) and payload["error"], payload


class ThreadedNode:
    """A real node (and remote actors) on an event loop in a background thread, so that the
    synchronous Hypothesis tests can send plain HTTP requests to it."""

    def __init__(self, tmp_path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.node = self.run(start_node(node_config(tmp_path, "london", max_body_bytes=64 * 1024)))
        self.actors: list[RemoteActor] = []

    def run(self, coroutine, timeout: float = 60):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def remote_actor(self, name: str) -> RemoteActor:
        actor = self.run(RemoteActor(name=name).start())
        self.actors.append(actor)
        return actor

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.node.config.node.listen_port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.getheader("Content-Type", ""), response.read()
        finally:
            conn.close()

    def close(self) -> None:
        for actor in self.actors:
            self.run(actor.stop())
        self.run(self.node.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def fuzz_node(tmp_path):
    threaded = ThreadedNode(tmp_path)
    yield threaded
    threaded.close()


def test_inbox_never_fails_on_malformed_requests(fuzz_node):
    @FUZZ
    @given(body=raw_bodies, content_type=content_types, headers=signature_headers, shared=st.booleans())
    def post(body, content_type, headers, shared):
        path = "/inbox" if shared else "/users/london/inbox"
        status, kind, answer = fuzz_node.request("POST", path, body, {"Content-Type": content_type, **headers})
        _assert_clean(status, kind, answer, "inbox")
        assert status != 202  # nothing unsigned or forged is accepted

    post()


def test_inbox_shapes_signed_by_a_real_actor_never_fail(fuzz_node, caplog):
    """Signed, odd activities: accepted or refused cleanly, and the worker then processes
    every accepted one without a handler crashing."""
    alice = fuzz_node.remote_actor("alice")
    inbox = fuzz_node.node.inbox

    @FUZZ
    @given(activity=activity_shapes(alice.base))
    def post(activity):
        if isinstance(activity.get("id"), str) and activity["id"].startswith(alice.base):
            activity["id"] = alice.new_id()  # fresh ids, so each accepted one is processed
        body = json.dumps(activity).encode()
        status, kind, answer = fuzz_node.request("POST", "/users/london/inbox", body, alice.signed_headers(inbox, body))
        _assert_clean(status, kind, answer, "signed inbox")

    post()
    while fuzz_node.run(fuzz_node.node.inbox_worker.run_single_cycle()):
        pass
    crashes = [r.getMessage() for r in caplog.records if r.levelname == "ERROR" and r.name.startswith("chapterhouse")]
    assert crashes == []


def test_outbox_never_fails_on_malformed_activities(fuzz_node):
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/activity+json"}

    @FUZZ
    @given(activity=st.one_of(activity_shapes(fuzz_node.node.base_url), json_values))
    def post(activity):
        status, kind, answer = fuzz_node.request("POST", "/users/london/outbox", json.dumps(activity).encode(), auth)
        _assert_clean(status, kind, answer, "outbox")

    post()


def test_discovery_and_collections_never_fail(fuzz_node):
    paths = st.sampled_from(
        [
            "/.well-known/webfinger?resource=",
            "/nodeinfo/",
            "/users/",
            "/objects/",
            "/users/london/outbox?page=",
            "/users/london/followers?page=",
            "/@",
            "/login/admin?next=",
        ]
    )

    @FUZZ
    @given(
        path=paths, tail=st.text(max_size=60), accept=st.sampled_from(["*/*", "text/html", "application/activity+json"])
    )
    def get(path, tail, accept):
        status, kind, answer = fuzz_node.request("GET", path + quote(tail, safe=""), headers={"Accept": accept})
        _assert_clean(status, kind, answer, path)

    get()


def test_page_forms_never_fail(fuzz_node):
    forms = sorted(
        {
            route.resource.canonical
            for route in fuzz_node.node.app.router.routes()
            if route.method == "POST"
            and route.resource is not None
            and not route.resource.canonical.endswith(("inbox", "outbox"))
        }
    )
    assert "/login/admin" in forms

    @FUZZ
    @given(
        path=st.sampled_from(forms),
        fields=st.dictionaries(st.text(max_size=15), st.text(max_size=60), max_size=6),
        tail=st.text(alphabet="abc0123456789-", min_size=1, max_size=12),
    )
    def post(path, fields, tail):
        concrete = path.split("{")[0] + tail if "{" in path else path
        status, kind, answer = fuzz_node.request(
            "POST", concrete, urlencode(fields).encode(), {"Content-Type": "application/x-www-form-urlencoded"}
        )
        _assert_clean(status, kind, answer, concrete)

    post()


# --- hostile keyId hosts (issue 10): the same 401 as an unreachable key, never a 5xx --------------

HOSTILE_HOSTS = [
    "a..example",  # an empty label
    ".example",  # an empty first label
    "a" * 64 + ".example",  # a label over 63 characters
    ("b" * 63 + ".") * 5 + "example",  # a name over 253 characters
    "xn--zz-.example",  # invalid IDNA (a broken punycode label)
    "xn--a.example",
    "exa\u00admple.\u00e4\u00df",  # IDNA maps the soft hyphen away (headers are Latin-1)
    "\u00ad.example",  # ... leaving an empty label
    "::1",  # a bare IPv6 address without brackets
    "[::1",  # an unclosed bracket
    "[fe80::1%25eth0]",  # an IPv6 zone
    "ex%61mple.test",  # a percent-encoded host
    "%00.example",
    "user:pass@127.0.0.1",  # user info
    "@example.test",
    "127.0.0.1:99999",  # ports out of range
    "127.0.0.1:-1",
    "127.0.0.1:0",
    "127.0.0.1:http",
    "",  # no host at all
]


def _hostile_key_ids(hosts) -> list[str]:
    return [f"http://{host}/users/alice#main-key" for host in hosts]


def _assert_key_refused(status: int, kind: str, answer: bytes, key_id: str) -> None:
    assert status == 401, f"keyId {key_id!r} answered {status}: {answer[:300]!r}"
    assert kind.startswith("application/json"), kind
    reason = json.loads(answer)["error"]
    assert "signing key" in reason or "keyId" in reason, reason


@pytest.mark.parametrize("key_id", _hostile_key_ids(HOSTILE_HOSTS))
def test_a_hostile_key_id_host_is_a_401_like_an_unreachable_key(fuzz_node, key_id):
    alice = fuzz_node.actors[0] if fuzz_node.actors else fuzz_node.remote_actor("alice")
    inbox = fuzz_node.node.inbox
    body = json.dumps(
        {"id": alice.new_id(), "type": "Follow", "actor": alice.id, "object": fuzz_node.node.actor_id}
    ).encode()
    status, kind, answer = fuzz_node.request(
        "POST", "/users/london/inbox", body, alice.signed_headers(inbox, body, key_id=key_id)
    )
    _assert_key_refused(status, kind, answer, key_id)


hostile_labels = st.one_of(
    st.just(""),
    st.text(alphabet="abz-", min_size=64, max_size=80),
    st.just("xn--"),
    st.just("xn--zz-"),
    st.text(alphabet=st.characters(min_codepoint=0xA0, max_codepoint=0xFF), min_size=1, max_size=8),
    st.text(alphabet="%0123456789abcdef", min_size=1, max_size=9),
    st.just("a"),
    st.just("example"),
)
hostile_hosts = st.one_of(
    st.lists(hostile_labels, min_size=1, max_size=5).map(".".join),
    st.sampled_from(HOSTILE_HOSTS),
    st.tuples(
        st.sampled_from(["127.0.0.1", "example.test", "[::1]", "::1"]), st.integers(min_value=-10, max_value=10**6)
    ).map(lambda hp: f"{hp[0]}:{hp[1]}"),
    st.tuples(st.text(alphabet="ab:%@", max_size=6), st.sampled_from(["127.0.0.1", "example.test"])).map(
        lambda uh: f"{uh[0]}@{uh[1]}"
    ),
)


def test_hostile_key_id_hosts_never_fail(fuzz_node):
    alice = fuzz_node.remote_actor("alice")
    inbox = fuzz_node.node.inbox

    @FUZZ
    @given(host=hostile_hosts)
    def post(host):
        key_id = f"http://{host}/users/alice#main-key"
        body = json.dumps(
            {"id": alice.new_id(), "type": "Follow", "actor": alice.id, "object": fuzz_node.node.actor_id}
        ).encode()
        status, kind, answer = fuzz_node.request(
            "POST", "/users/london/inbox", body, alice.signed_headers(inbox, body, key_id=key_id)
        )
        assert status < 500, f"keyId {key_id!r} answered {status}: {answer[:300]!r}"
        _assert_key_refused(status, kind, answer, key_id)

    post()
