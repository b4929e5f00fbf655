"""The helper process of :mod:`federation.verifier`: checks signature claims, batch after batch.

Run as ``python -m federation.verifier_process`` by :class:`federation.verifier.SignatureVerifier`,
never by hand. It reads frames from stdin and answers each with one frame on stdout, in order:

* in: a 4-byte big-endian length, then a pickled list of ``(SignatureClaim, public key PEM)``;
* out: the same framing, a list with one entry per claim: ``None`` (the signature verifies),
  a string (why it does not: a :class:`SignatureError` reason), or ``False`` (the check
  itself failed unexpectedly; the parent then checks that claim on its own).

Pickle is safe here: both ends are the same node, over an inherited pipe; nothing from the
network is unpickled that the parent did not build. Parsed keys stay cached
(:func:`federation.signatures.load_public_key`), as they do in the parent. The process ends
when stdin closes (the parent stopped or died), and ignores Ctrl-C, which reaches the whole
process group: the parent decides when it ends.
"""

from __future__ import annotations

import logging
import pickle
import signal
import struct
import sys
from typing import BinaryIO

from federation.signatures import SignatureClaim, SignatureError, verify_claim

HEADER = struct.Struct(">I")
log = logging.getLogger("chapterhouse.verifier")


def write_frame(stream: BinaryIO, value: object) -> None:
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(payload)) + payload)


def read_frame(stream: BinaryIO) -> object | None:
    """The next frame's value; None at the end of the stream."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (length,) = HEADER.unpack(header)
    payload = stream.read(length)
    if len(payload) < length:
        return None
    return pickle.loads(payload)


def check(claim: SignatureClaim, public_pem: str) -> str | None | bool:
    try:
        verify_claim(claim, public_pem)
    except SignatureError as error:
        return error.reason
    except Exception:  # a bug, not a bad signature: say so, and let the parent check it itself
        log.exception("checking a signature by %s failed", getattr(claim, "key_id", "?"))
        return False
    return None


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    while (batch := read_frame(requests)) is not None:
        write_frame(answers, [check(claim, pem) for claim, pem in batch])
        answers.flush()


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    serve(sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()
