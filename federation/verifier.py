"""Signature checks on another core: a helper process verifies claims, many per round trip.

Why: checking one RSA-2048 signature costs about 45 µs of CPU, the largest single cost of
taking an inbox POST, and the only one that needs neither the event loop nor the request.
On the event loop it competes with everything else the node does; in a helper process it
runs on another core (``benchmarks/bench_inbox.py`` measures the difference).

How: one child process, :mod:`federation.verifier_process`, over its stdin and stdout.
Claims that arrive while a batch is out go together in the next one (as the inbox intake
groups its commits): under load one round trip carries tens of checks, and a lone request
pays one round trip, a fraction of a millisecond. At most :data:`IN_FLIGHT` batches are out
at once, so the child always has the next batch waiting while the parent reads the last.

Parsing the signature, the freshness and digest checks and the key lookup stay in the
parent (:mod:`federation.verification`); only the ``(claim, public key)`` pair travels.

Faults lose nothing: if the child dies, every check that was out (and every check until a
new child is up, one second later) is done in this process instead, and the node keeps
answering. With ``enabled=False`` (``[federation] verify_signatures_in_helper = false``)
every check runs in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import sys
from collections import deque

from federation.signatures import SignatureClaim, SignatureError, verify_claim
from federation.verifier_process import HEADER

log = logging.getLogger("chapterhouse.verifier")

IN_FLIGHT = 2
MAX_BATCH = 256
RESTART_SECONDS = 1.0
_UNCHECKED = False  # the child could not answer: check in this process


class SignatureVerifier:
    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._process: asyncio.subprocess.Process | None = None
        self._waiting: list[tuple[SignatureClaim, str, asyncio.Future]] = []
        self._out: deque[list[asyncio.Future]] = deque()
        self._wake = asyncio.Event()
        self._supervisor: asyncio.Task | None = None
        self._stopping = False
        self.checks = 0
        self.batches = 0  # round trips to the child, for tests and curiosity
        self.checked_here = 0  # checks done in this process (disabled, child down, or child failed)

    @property
    def running(self) -> bool:
        return self._process is not None

    @property
    def pid(self) -> int | None:
        """The helper process's id while it runs."""
        return self._process.pid if self._process is not None else None

    async def start(self) -> None:
        if self.enabled:
            self._stopping = False
            self._supervisor = asyncio.create_task(self._supervise(), name="signature-verifier")

    async def stop(self) -> None:
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None

    async def verify(self, claim: SignatureClaim, public_pem: str) -> None:
        """Check ``claim`` with the key in ``public_pem``; raise :class:`SignatureError` if it does not verify."""
        if self._process is not None:
            future = asyncio.get_running_loop().create_future()
            self._waiting.append((claim, public_pem, future))
            self._wake.set()
            answer = await future
            if answer is None:
                return
            if answer is not _UNCHECKED:
                raise SignatureError(answer, key_id=claim.key_id)
        self.checked_here += 1
        verify_claim(claim, public_pem)

    # --- the child --------------------------------------------------------------------------

    async def _supervise(self) -> None:
        """Keep one child running; restart it a second after it dies."""
        while not self._stopping:
            try:
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "federation.verifier_process",
                    stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
            except OSError as error:
                log.warning("signature verifier: could not start the helper process (%s); checking here", error)
                await asyncio.sleep(RESTART_SECONDS)
                continue
            self._process = process
            sender = asyncio.create_task(self._send(process), name="signature-verifier-send")
            try:
                await self._receive(process)
            finally:
                self._process = None
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                    await sender
                self._give_back_everything()
                await _end(process)
            if not self._stopping:
                log.warning("signature verifier: the helper process ended (exit %s); checking here until it is back",
                            process.returncode)
                await asyncio.sleep(RESTART_SECONDS)

    async def _send(self, process: asyncio.subprocess.Process) -> None:
        """Write batches while there is room; a write to a child that died ends this (and
        :meth:`_receive` sees the end of its output and gives the checks back)."""
        assert process.stdin is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._waiting and len(self._out) < IN_FLIGHT:
                batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
                self._out.append([future for _, _, future in batch])
                payload = pickle.dumps([(claim, pem) for claim, pem, _ in batch], protocol=pickle.HIGHEST_PROTOCOL)
                process.stdin.write(HEADER.pack(len(payload)) + payload)
                self.batches += 1
                self.checks += len(batch)
            await process.stdin.drain()

    async def _receive(self, process: asyncio.subprocess.Process) -> None:
        """Hand each answer frame to the batch it answers, in order; return when the child is gone."""
        assert process.stdout is not None
        while True:
            try:
                (length,) = HEADER.unpack(await process.stdout.readexactly(HEADER.size))
                answers = pickle.loads(await process.stdout.readexactly(length))
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            if not self._out:
                log.error("signature verifier: the helper process answered a batch that was never sent; restarting it")
                return
            for future, answer in zip(self._out.popleft(), answers):
                if not future.done():  # a request whose client left was cancelled
                    future.set_result(answer)
            self._wake.set()  # room for the next batch

    def _give_back_everything(self) -> None:
        """The child is gone: every check out or waiting is done by its caller instead."""
        while self._out:
            for future in self._out.popleft():
                if not future.done():
                    future.set_result(_UNCHECKED)
        waiting, self._waiting = self._waiting, []
        for _, _, future in waiting:
            if not future.done():
                future.set_result(_UNCHECKED)


async def _end(process: asyncio.subprocess.Process) -> None:
    """Close the child's stdin (it ends by itself), and kill it if it does not within a second."""
    if process.stdin is not None and not process.stdin.is_closing():
        process.stdin.close()
    try:
        await asyncio.wait_for(process.wait(), timeout=1.0)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
