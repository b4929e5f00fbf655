"""What aiohttp's HTTP parser refuses still gets the node's JSON refusal (issue 10).

Requests that never reach the application (a request line or headers that cannot be parsed,
a header over 8 KB, too many headers, a missing Host, an Expect the node does not know) are
sent over raw sockets, as a broken client or a scanner would; each answer must be a 4xx with
a JSON body ``{"error", "hint"}``, like every other refusal.
"""

from __future__ import annotations

import asyncio
import json

import pytest

BIG = "a" * 9000

BROKEN_REQUESTS = {
    "header over 8 KB": f"GET /healthz HTTP/1.1\r\nHost: h\r\nX-Big: {BIG}\r\n\r\n",
    "header name over 8 KB": f"GET /healthz HTTP/1.1\r\nHost: h\r\nX-{BIG}: 1\r\n\r\n",
    "request line over 8 KB": f"GET /{BIG} HTTP/1.1\r\nHost: h\r\n\r\n",
    "too many headers": "GET /healthz HTTP/1.1\r\nHost: h\r\n" + "".join(f"X-{i}: 1\r\n" for i in range(200)) + "\r\n",
    "missing Host": "GET /healthz HTTP/1.1\r\n\r\n",
    "garbage request line": "HELLO\r\n\r\n",
    "bad method": "G(T /healthz HTTP/1.1\r\nHost: h\r\n\r\n",
    "bad version": "GET /healthz HTTP/7.5\r\nHost: h\r\n\r\n",
    "bad header line": "GET /healthz HTTP/1.1\r\nHost: h\r\nno colon here\r\n\r\n",
    "bad Content-Length": "POST /inbox HTTP/1.1\r\nHost: h\r\nContent-Length: ten\r\n\r\n",
    "Content-Length and chunked": (
        "POST /inbox HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ),
    "bad chunk size": "POST /inbox HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
    "unknown Expect": "GET /healthz HTTP/1.1\r\nHost: h\r\nExpect: teapot\r\n\r\n",
}


async def raw_exchange(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        length = int(headers.get("content-length", "0"))
        body = await asyncio.wait_for(reader.readexactly(length), 10)
        return int(lines[0].split()[1]), headers, body
    finally:
        writer.close()


@pytest.mark.parametrize("what", list(BROKEN_REQUESTS))
async def test_a_request_the_parser_refuses_gets_a_json_4xx(make_node, what):
    node = await make_node("london", start_workers=False)
    status, headers, body = await raw_exchange(node.config.node.listen_port, BROKEN_REQUESTS[what].encode("latin-1"))
    assert 400 <= status < 500, (status, body)
    assert headers.get("content-type", "").startswith("application/json"), (headers, body)
    answer = json.loads(body)
    assert isinstance(answer["error"], str) and answer["error"], answer
    assert isinstance(answer["hint"], str) and answer["hint"], answer


async def test_the_connection_still_serves_after_a_good_request(make_node):
    node = await make_node("london", start_workers=False)
    status, _headers, body = await raw_exchange(
        node.config.node.listen_port, b"GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n"
    )
    assert status == 200 and json.loads(body) == {"status": "ok"}
