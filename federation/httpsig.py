"""draft-cavage-http-signatures-12, the way Mastodon speaks it.

Pure text, no cryptography: parse the ``Signature`` header (or ``Authorization: Signature ...``),
rebuild the signing string from the request, and format the header a signer sends.

What Mastodon does, and so what we do:

* The signing string is one ``name: value`` line per entry of ``headers=``, joined by ``\\n``;
  ``(request-target)`` is ``<method lowercased> <path>[?query]``; ``(created)``/``(expires)``
  repeat the signature parameters of that name (only meaningful with ``hs2019``).
* Mastodon verifies ``(request-target)`` both with and without the query string (older
  Mastodons signed the bare path): :func:`signing_strings` returns both candidates.
* A header listed in ``headers=`` but absent from the request is an error, not an empty line.
* Several values of one header are joined with ``", "`` (cavage-12 section 2.3, step 4.2).

Parameter names are matched case-insensitively (``keyId``, ``keyid``), values may be quoted
strings (with ``\\`` escapes) or bare tokens. Every malformed input raises
:class:`CavageError`, a ``ValueError`` whose message a remote admin can act on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

__all__ = ["CavageError", "format_signature_header", "parse_signature_header", "signing_strings"]

_MAX_HEADER = 16 * 1024


class CavageError(ValueError):
    """A cavage ``Signature`` header is malformed or names something the request lacks."""


_PARAM = re.compile(
    r'[ \t,]*([A-Za-z0-9_-]+)[ \t]*=[ \t]*(?:"([^"\\]*(?:\\.[^"\\]*)*)"|([^", \t]*))[ \t]*(?:,|\Z)',
    re.DOTALL,
)
_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)
_SEPARATORS_TO_END = re.compile(r"[ \t,]*\Z")


def parse_signature_header(value: str) -> dict[str, str]:
    """Parse ``keyId="...",algorithm="...",headers="...",signature="..."`` into a dict (keys lowercased)."""
    if len(value) > _MAX_HEADER:
        raise CavageError("Signature header is too long")
    out: dict[str, str] = {}
    i, n = 0, len(value)
    while i < n:
        if _SEPARATORS_TO_END.match(value, i):
            break
        m = _PARAM.match(value, i)
        if m is None:
            raise CavageError(f'Signature header is malformed near character {i}: expected name="value" pairs')
        key = m.group(1).lower()
        quoted = m.group(2)
        val = m.group(3) if quoted is None else (_UNESCAPE.sub(r"\1", quoted) if "\\" in quoted else quoted)
        if key in out:
            raise CavageError(f"Signature header repeats the parameter {key!r}")
        out[key] = val
        i = m.end()
    return out


def signing_strings(
    covered: Sequence[str],
    *,
    method: str,
    target: str,
    params: dict[str, str],
    header: Callable[[str], str | None],
) -> tuple[str, ...]:
    """Candidate signing strings: with the query in ``(request-target)`` first, then without.

    ``covered`` are lowercased names from ``headers=``; ``header(name)`` returns the combined
    value of a request header or None.
    """
    path = target.split("?", 1)[0]
    targets = (target, path) if path != target else (target,)
    if "(request-target)" not in covered:
        targets = targets[:1]
    results: list[str] = []
    for tgt in targets:
        lines: list[str] = []
        for name in covered:
            if name == "(request-target)":
                lines.append(f"(request-target): {method.lower()} {tgt}")
            elif name in ("(created)", "(expires)"):
                pname = name[1:-1]
                if not params.get(pname):
                    raise CavageError(f"{name} is signed but the {pname} parameter is missing")
                lines.append(f"{name}: {params[pname]}")
            elif name.startswith("("):
                raise CavageError(f"unknown pseudo-header {name} in headers=")
            else:
                value = header(name)
                if value is None:
                    raise CavageError(f"signed header {name!r} is missing from the request")
                lines.append(f"{name}: {value}")
        results.append("\n".join(lines))
    return tuple(results)


def format_signature_header(key_id: str, algorithm: str, covered: Sequence[str], signature_b64: str) -> str:
    """The ``Signature`` header value Mastodon sends."""
    for v in (key_id, algorithm):
        if '"' in v or "\\" in v or "\n" in v:
            raise ValueError(f"cannot put {v!r} in a Signature header")
    return f'keyId="{key_id}",algorithm="{algorithm}",headers="{" ".join(covered)}",signature="{signature_b64}"'
