"""Talking to other servers: everything the node needs to trust and be trusted.

Modules, each with one job:

- ``signatures`` (front door), ``httpsig`` (draft-cavage), ``rfc9421``, ``digests``: HTTP
  message signatures, verified and made with ``cryptography`` and cached key objects. The
  ``httpsig`` package re-parses PEM on every call and is tens of times slower to verify
  (``benchmarks/bench_signatures.py`` measures it); the tests still use it as an
  independent signer, to prove we verify what others send.
- ``verification``: the whole "who signed this request" flow (claim, key, verify, refetch
  once on failure for key rotation), returning who signed or raising why not.
- ``client``: the one outbound HTTP client: signed GETs and POSTs, the cavage-then-RFC 9421
  "double knock", size caps, timeouts, checked redirects.
- ``addresses``: where the node may connect (no private, loopback or link-local addresses
  unless the config allows them), checked at DNS resolution so rebinding cannot slip past.
- ``actors``: the remote actor and key cache (memory and database); ``fetchgate``: bounds on
  key fetches (per host and in total, a budget per host, failures remembered a while).
- ``multikey``, ``proofs``: FEP-521a Ed25519 Multikeys and FEP-8b32 object proofs
  (``eddsa-jcs-2022``), for signed objects that are relayed and still checked.
- ``jsonld``: JSON-LD with an offline document loader over bundled contexts; it never
  fetches a context at run time.
- ``jsonio``: fast JSON (orjson) with a nesting limit.
- ``activitystreams``: one value or a list, an id or an object, and where an id lives
  (``origin_of``, a fast ``urlsplit`` for the common shape).

This package knows no web routes: it takes methods, URLs, headers and bodies, and answers
with values or errors that say what went wrong.
"""
