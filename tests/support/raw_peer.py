"""A hand-written HTTP/1.1 server on loopback that misbehaves on purpose, one way at a time.

aiohttp's server always answers properly; a peer that stalls, trickles its answer byte by byte
or hangs up half way needs raw sockets. :class:`RawPeer` reads each request (request line,
headers, ``Content-Length`` body), records it, and answers as its ``behaviour`` says:

- ``"ok"``: a well-formed answer (``status``, default 202, with ``body``);
- ``"status"``: the same, with any status (500, 410, ...), kept for clarity at call sites;
- ``"silent"``: reads the request, never answers (waits until the client hangs up);
- ``"hang_up_mid_request"``: reads the headers and half the request body, then closes;
- ``"cut_body"``: a complete status line and headers announcing the whole ``body``, half of
  it, then closes;
- ``"trickle"``: the whole answer, status line first, one byte every ``trickle_seconds``;
- ``"trickle_body"``: status line, headers and the body's first byte at once, then the rest of
  the body one byte every ``trickle_seconds``;
- ``"gated"``: waits for :meth:`open_gate`, then answers like ``"ok"``.

Every connection is closed after one answer (``Connection: close``). :meth:`stop` closes the
listening socket and every open connection, so no handler outlives the test.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass


@dataclass
class RawRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


BEHAVIOURS = ("ok", "status", "silent", "hang_up_mid_request", "cut_body", "trickle", "trickle_body", "gated")


class RawPeer:
    def __init__(
        self,
        *,
        behaviour: str = "ok",
        status: int = 202,
        body: bytes = b"{}",
        content_type: str = "application/json",
        trickle_seconds: float = 0.3,
    ) -> None:
        self.behaviour = behaviour
        self.status = status
        self.body = body
        self.content_type = content_type
        self.trickle_seconds = trickle_seconds
        self.requests: list[RawRequest] = []
        self.in_flight = 0
        self._gate = asyncio.Event()
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task] = set()
        self._server: asyncio.base_events.Server | None = None
        self._stopping = False
        self.port = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve_json(self, document: dict, *, content_type: str = "application/activity+json") -> None:
        self.body, self.content_type = json.dumps(document).encode(), content_type

    def open_gate(self) -> None:
        self._gate.set()

    async def start(self) -> RawPeer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        self._stopping = True
        self._gate.set()
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def _answer(self) -> bytes:
        reason = {200: "OK", 202: "Accepted", 410: "Gone", 500: "Internal Server Error"}.get(self.status, "Whatever")
        head = (
            f"HTTP/1.1 {self.status} {reason}\r\nContent-Type: {self.content_type}\r\n"
            f"Content-Length: {len(self.body)}\r\nConnection: close\r\n\r\n"
        )
        return head.encode("latin-1") + self.body

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self.behaviour in BEHAVIOURS, f"unknown behaviour {self.behaviour!r}"
        self._writers.add(writer)
        self._tasks.add(asyncio.current_task())
        self.in_flight += 1
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            request_line, *lines = head.split("\r\n")
            method, path, _ = request_line.split(" ", 2)
            headers = {}
            for line in lines:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            behaviour = self.behaviour
            if behaviour == "hang_up_mid_request":
                body = await reader.readexactly(length // 2)
                self.requests.append(RawRequest(method, path, headers, body))
                return  # closes in finally, without a word
            body = await reader.readexactly(length)
            self.requests.append(RawRequest(method, path, headers, body))
            answer = self._answer()
            if behaviour in ("ok", "status"):
                writer.write(answer)
                await writer.drain()
            elif behaviour == "gated":
                await self._gate.wait()
                writer.write(answer)
                await writer.drain()
            elif behaviour == "silent":
                await reader.read()  # until the client gives up and closes
            elif behaviour == "cut_body":
                head_end = answer.index(b"\r\n\r\n") + 4
                writer.write(answer[: head_end + len(self.body) // 2])
                await writer.drain()
            elif behaviour in ("trickle", "trickle_body"):
                start = answer.index(b"\r\n\r\n") + 5 if behaviour == "trickle_body" else 0
                if start:
                    writer.write(answer[:start])
                    await writer.drain()
                for index in range(start, len(answer)):
                    if self._stopping or writer.is_closing() or reader.at_eof():
                        return
                    await asyncio.sleep(self.trickle_seconds)
                    writer.write(answer[index : index + 1])
                    await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            pass  # the client went away (as it should, once its timeout passed), or sent nonsense
        except asyncio.CancelledError:
            pass  # stop(): end quietly (asyncio logs a handler task that ends cancelled)
        finally:
            self._tasks.discard(asyncio.current_task())
            self.in_flight -= 1
            self._writers.discard(writer)
            writer.close()
