"""RFC 9421 HTTP Message Signatures: the ``Signature-Input``/``Signature`` fields and signature bases.

This module is pure text: it parses the two structured fields, builds the exact bytes a
signature covers (the *signature base*, RFC 9421 section 2.5) and formats the fields a signer
sends. Cryptography and policy (which components must be covered, freshness) live in
``federation.signatures``.

Structured fields (RFC 8941) are parsed by a small parser written here rather than a
dependency: we need Dictionaries whose members are Items or Inner Lists with Parameters, and
the canonical re-serialisation of one Inner List (the ``@signature-params`` line). That subset
is about 150 lines and keeps the hot path free of allocations we don't need.

Derived components supported: ``@method``, ``@target-uri``, ``@authority``, ``@scheme``,
``@request-target``, ``@path``, ``@query``. Header components are supported without
component parameters (``;sf``, ``;key``, ``;bs``, ``;req``, ``;tr`` are refused with a clear
error, as is ``@query-param`` and ``@status``): no fediverse server signs with them.

Every parse failure raises :class:`StructuredFieldError` or :class:`ComponentError`, both
``ValueError`` subclasses whose message is meant for a remote admin.
"""

from __future__ import annotations

import base64
import binascii
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = [
    "ComponentError",
    "InnerList",
    "Item",
    "ParsedSignature",
    "StructuredFieldError",
    "Token",
    "build_signature_base",
    "format_signature_fields",
    "parse_dictionary",
    "parse_signature_fields",
    "serialize_inner_list",
    "signature_params_line",
    "wire_bytes",
]


class StructuredFieldError(ValueError):
    """A header is not a valid RFC 8941 structured field."""


class ComponentError(ValueError):
    """A covered component cannot be rebuilt from the request."""


class Token(str):
    """An RFC 8941 Token (serialised bare, unlike a String)."""


BareItem = int | Decimal | str | Token | bytes | bool
HeaderLookup = Callable[[str], "str | None"]


@dataclass(frozen=True)
class Item:
    value: BareItem
    params: dict[str, BareItem] = field(default_factory=dict)


@dataclass(frozen=True)
class InnerList:
    items: list[Item]
    params: dict[str, BareItem] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# RFC 8941 parsing
# ---------------------------------------------------------------------------------------------

_LCALPHA = set(string.ascii_lowercase)
_KEY_START = _LCALPHA | {"*"}
_KEY_CHARS = _LCALPHA | set(string.digits) | set("_-.*")
_TCHAR = set(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~")
_TOKEN_CHARS = _TCHAR | {":", "/"}
_TOKEN_START = set(string.ascii_letters) | {"*"}
_B64_CHARS = set(string.ascii_letters + string.digits + "+/=")


class _Parser:
    __slots__ = ("i", "s")

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def fail(self, what: str) -> StructuredFieldError:
        return StructuredFieldError(f"{what} at character {self.i}")

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def skip_sp(self) -> None:
        while self.peek() == " ":
            self.i += 1

    def skip_ows(self) -> None:
        while self.peek() in (" ", "\t") and self.peek():
            self.i += 1

    def key(self) -> str:
        if self.peek() not in _KEY_START or not self.peek():
            raise self.fail("expected a lowercase key")
        start = self.i
        self.i += 1
        while self.peek() and self.peek() in _KEY_CHARS:
            self.i += 1
        return self.s[start : self.i]

    def params(self) -> dict[str, BareItem]:
        out: dict[str, BareItem] = {}
        while self.peek() == ";":
            self.i += 1
            self.skip_sp()
            k = self.key()
            value: BareItem = True
            if self.peek() == "=":
                self.i += 1
                value = self.bare_item()
            out[k] = value
        return out

    def item(self) -> Item:
        value = self.bare_item()
        return Item(value, self.params())

    def item_or_inner_list(self) -> Item | InnerList:
        if self.peek() != "(":
            return self.item()
        self.i += 1
        items: list[Item] = []
        while True:
            self.skip_sp()
            if self.peek() == ")":
                self.i += 1
                return InnerList(items, self.params())
            items.append(self.item())
            if self.peek() not in (" ", ")") or not self.peek():
                raise self.fail("expected a space or ')' in an inner list")

    def bare_item(self) -> BareItem:
        c = self.peek()
        if not c:
            raise self.fail("expected a value")
        if c in "-0123456789":
            return self.number()
        if c == '"':
            return self.string()
        if c == ":":
            return self.byte_sequence()
        if c == "?":
            return self.boolean()
        if c in _TOKEN_START:
            return self.token()
        raise self.fail(f"unexpected {c!r}")

    def number(self) -> int | Decimal:
        start = self.i
        if self.peek() == "-":
            self.i += 1
        digits_start = self.i
        is_decimal = False
        while True:
            c = self.peek()
            if c and c in string.digits:
                self.i += 1
            elif c == "." and not is_decimal:
                if self.i - digits_start > 12:
                    raise self.fail("decimal has too many integer digits")
                is_decimal = True
                self.i += 1
            else:
                break
            if self.i - digits_start > (16 if is_decimal else 15):
                raise self.fail("number too long")
        text = self.s[start : self.i]
        if self.i == digits_start:
            raise self.fail("expected a digit")
        if is_decimal:
            frac = text.split(".", 1)[1]
            if not frac or len(frac) > 3:
                raise self.fail("decimal needs 1 to 3 fractional digits")
            return Decimal(text)
        return int(text)

    def string(self) -> str:
        self.i += 1
        out: list[str] = []
        while True:
            c = self.peek()
            if not c:
                raise self.fail("unterminated string")
            self.i += 1
            if c == "\\":
                n = self.peek()
                if n not in ('"', "\\") or not n:
                    raise self.fail("bad escape in string")
                out.append(n)
                self.i += 1
            elif c == '"':
                return "".join(out)
            elif not (" " <= c <= "~"):
                raise self.fail("non-printable character in string")
            else:
                out.append(c)

    def token(self) -> Token:
        start = self.i
        self.i += 1
        while self.peek() and self.peek() in _TOKEN_CHARS:
            self.i += 1
        return Token(self.s[start : self.i])

    def byte_sequence(self) -> bytes:
        self.i += 1
        end = self.s.find(":", self.i)
        if end < 0:
            raise self.fail("unterminated byte sequence")
        text = self.s[self.i : end]
        if not set(text) <= _B64_CHARS:
            raise self.fail("byte sequence is not base64")
        self.i = end + 1
        try:
            return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise self.fail("byte sequence is not base64") from None

    def boolean(self) -> bool:
        self.i += 1
        c = self.peek()
        if c not in ("0", "1") or not c:
            raise self.fail("boolean must be ?0 or ?1")
        self.i += 1
        return c == "1"


def parse_dictionary(text: str) -> dict[str, Item | InnerList]:
    """Parse an RFC 8941 Dictionary (later duplicates override earlier ones, as the RFC says)."""
    p = _Parser(text.strip(" "))
    out: dict[str, Item | InnerList] = {}
    while p.peek():
        k = p.key()
        if p.peek() == "=":
            p.i += 1
            out[k] = p.item_or_inner_list()
        else:
            out[k] = Item(True, p.params())
        p.skip_ows()
        if not p.peek():
            break
        if p.peek() != ",":
            raise p.fail("expected ',' between dictionary members")
        p.i += 1
        p.skip_ows()
        if not p.peek():
            raise p.fail("trailing comma")
    return out


# ---------------------------------------------------------------------------------------------
# RFC 8941 serialisation (only what signature parameters need)
# ---------------------------------------------------------------------------------------------


def _ser_bare(v: BareItem) -> str:
    if isinstance(v, bool):
        return "?1" if v else "?0"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, Decimal):
        q = v.quantize(Decimal("0.001"))
        text = format(q, "f").rstrip("0")
        return text + "0" if text.endswith(".") else text
    if isinstance(v, bytes):
        return ":" + base64.b64encode(v).decode("ascii") + ":"
    if isinstance(v, Token):
        return str(v)
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ser_params(params: dict[str, BareItem]) -> str:
    return "".join(f";{k}" if v is True else f";{k}={_ser_bare(v)}" for k, v in params.items())


def _ser_item(item: Item) -> str:
    return _ser_bare(item.value) + _ser_params(item.params)


def serialize_inner_list(inner: InnerList) -> str:
    return "(" + " ".join(_ser_item(i) for i in inner.items) + ")" + _ser_params(inner.params)


# ---------------------------------------------------------------------------------------------
# Signature-Input / Signature
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedSignature:
    label: str
    components: tuple[Item, ...]  # each Item's value is the component name (a str)
    params: dict[str, BareItem]
    params_line: str  # serialised inner list, the value of "@signature-params"
    signature: bytes


def parse_signature_fields(signature_input: str, signature: str) -> ParsedSignature:
    """Pick the first label of ``Signature-Input`` that has a value in ``Signature``."""
    inputs = parse_dictionary(signature_input)
    sigs = parse_dictionary(signature)
    for label, member in inputs.items():
        if label not in sigs:
            continue
        if not isinstance(member, InnerList):
            raise StructuredFieldError(f"Signature-Input member {label!r} is not an inner list")
        sig = sigs[label]
        if not isinstance(sig, Item) or not isinstance(sig.value, bytes):
            raise StructuredFieldError(f"Signature member {label!r} is not a byte sequence")
        for item in member.items:
            if not isinstance(item.value, str) or isinstance(item.value, Token):
                raise StructuredFieldError(f"covered component names must be strings in {label!r}")
        return ParsedSignature(
            label=label,
            components=tuple(member.items),
            params=dict(member.params),
            params_line=serialize_inner_list(member),
            signature=sig.value,
        )
    raise StructuredFieldError("no label of Signature-Input has a matching Signature value")


def _split_target(target: str) -> tuple[str, str | None]:
    path, sep, query = target.partition("?")
    return path, (query if sep else None)


def _derived(name: str, *, method: str, scheme: str, authority: str, target: str) -> str:
    path, query = _split_target(target)
    if name == "@method":
        return method
    if name == "@target-uri":
        return f"{scheme}://{authority}{target}"
    if name == "@authority":
        return authority
    if name == "@scheme":
        return scheme
    if name == "@request-target":
        return target
    if name == "@path":
        return path or "/"
    if name == "@query":
        return "?" + (query or "")
    raise ComponentError(f"derived component {name!r} is not supported")


def build_signature_base(
    components: Sequence[Item],
    params_line: str,
    *,
    method: str,
    scheme: str,
    authority: str,
    target: str,
    header: HeaderLookup,
) -> bytes:
    """The exact bytes signed (RFC 9421 section 2.5).

    ``authority`` is the request's Host, lowercased, without a default port; ``target`` is the
    path and query as received; ``header(name)`` returns the combined field value or None.
    """
    lines: list[str] = []
    seen: set[str] = set()
    for comp in components:
        name = str(comp.value)
        if comp.params:
            raise ComponentError(f"component parameters on {name!r} are not supported")
        if name in seen:
            raise ComponentError(f"component {name!r} is covered twice")
        seen.add(name)
        if name.startswith("@"):
            value = _derived(name, method=method, scheme=scheme, authority=authority, target=target)
        else:
            if name != name.lower():
                raise ComponentError(f"header component {name!r} must be lowercase")
            got = header(name)
            if got is None:
                raise ComponentError(f"signed header {name!r} is missing from the request")
            value = got
        if "\n" in value or "\r" in value:
            raise ComponentError(f"component {name!r} contains a line break")
        lines.append(f'"{name}": {value}')
    lines.append(f'"@signature-params": {params_line}')
    return wire_bytes("\n".join(lines))


def wire_bytes(text: str) -> bytes:
    """Header text back to the bytes that came over the wire (aiohttp decodes with surrogateescape)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def format_signature_fields(
    label: str, components: Sequence[str], params: dict[str, BareItem], signature: bytes
) -> tuple[str, str]:
    """Return (Signature-Input value, Signature value) for one signature."""
    inner = InnerList([Item(c) for c in components], dict(params))
    return f"{label}={serialize_inner_list(inner)}", f"{label}={_ser_bare(signature)}"


def signature_params_line(components: Sequence[str], params: dict[str, BareItem]) -> str:
    return serialize_inner_list(InnerList([Item(c) for c in components], dict(params)))
