"""Recording what the decisions room sends, in the caller's transaction (delivered by the outbox worker)."""

from __future__ import annotations

from federation import jsonio
from node.core import publish, vocabulary
from node.core.clock import to_epoch
from node.core.db import Connection
from node.core.urls import Urls
from node.decisions import documents


async def send(conn: Connection, urls: Urls, username: str, activity: dict, inbox: str | None, now) -> None:
    await publish.record(
        conn, urls=urls, username=username, activity=activity, inboxes=[inbox] if inbox else [], now=to_epoch(now)
    )


async def send_document(
    conn: Connection, urls: Urls, username: str, document: dict, *, to: str, inbox: str | None, now
) -> None:
    """An ``Add`` of a signed roll, tally, aggregate, exclusions or outcome (unchanged) to ``to``."""
    add = documents.decision_delivery(
        urls, actor=urls.actor(username), document=document, proposal=document["proposal"], to=to, now=now
    )
    await send(conn, urls, username, add, inbox, now)


def proof_value(document_text: str | None) -> str | None:
    """The proof value of a stored signed document: what names exactly that document in a refusal."""
    return proof_value_of(jsonio.loads(document_text)) if document_text else None


def proof_value_of(document: dict) -> str | None:
    proof = document.get("proof")
    value = proof.get("proofValue") if isinstance(proof, dict) else None
    return value if isinstance(value, str) else None


async def send_refusal(
    conn: Connection, urls: Urls, username: str, refusal: dict, refused: dict, *, to: str, inbox, now
) -> None:
    """A ``Reject`` of a chapter's tally, whose ``result`` is the signed, structured ``DecisionRefusal``."""
    reject = vocabulary.activity(
        "Reject",
        urls,
        actor=urls.actor(username),
        now=now,
        object=refused,
        context_value=vocabulary.signed_context(),
        to=[to],
        content=refusal["reason"],
    )
    reject["result"] = refusal
    await send(conn, urls, username, reject, inbox, now)
