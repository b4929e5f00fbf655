"""Telling members: a voter's receipt and an exclusion in direct Notes, and the outcome in a public Note.

Every Note is written in the chapter's language (``[node] language``, :func:`chapter_language`;
its ``contentMap`` says so): its sentences are catalog messages (``node.core.i18n.N_``), filled in and
escaped by :func:`_html`. A decision is named by its own question or title
(:func:`node.decisions.proposal.title_of`), never by its id: the words are link text, the chapter's
copy (where a browser lands on the decision's page) and the results are ``href`` only.

- The receipt (:func:`send_receipts`): the decision, the receipt code (``<code>``, the member
  copies it), where their answers' proof and the results will be once the tally is signed.
- The exclusion (:func:`tell_excluded`): which decision, and that their ballot counts in the other
  chapter whose roll holds them too.
- The outcome (:func:`tell_members`, :func:`told`): a news item (a public Note to the followers)
  whose ``name`` is the title of its page and of the news list. For a proposal a room recognises
  (``registry.outcome_words``: a project's vote) it is what the outcome means, e.g. "Project
  «title»: «draft» adopted" or that the default stands, and the text lists each draft's figures;
  for a survey, "Results of the survey «title»" and each question's leading answer(s) (a tie said
  as one, ``words.answers``); for a proposal, "Outcome: <the question>" and the organisation's
  outcome with the share that agreed, as the decision's pages say it (``words.outcome``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from html import escape

from inbox.handlers import InboxContext
from node.core import follows, publish, vocabulary
from node.core.clock import iso, to_epoch
from node.core.db import Connection
from node.core.i18n import N_, SOURCE_LANGUAGE, Formatter, Language, Message, load_languages, zone
from node.decisions import copy_store, proposal, results, store, words
from outbox.compose import Authoring, create_of


def authoring(ctx: InboxContext) -> Authoring:
    """What the polls room's document builders need, from an inbox handler's context."""
    return Authoring(ctx.config, ctx.urls, ctx.remote_actors, ctx.chapter, ctx.now, ctx.registry)


@cache
def _language(code: str) -> Language:
    languages = load_languages(SOURCE_LANGUAGE)
    return languages.get(code) or languages.default


def chapter_language(octx: Authoring) -> Language:
    """The language the chapter publishes in (its catalogs compiled once per process)."""
    return _language(octx.config.node.language)


def _html(language: Language, message: Message, **tags: str) -> str:
    """``message`` in ``language`` as HTML: its words escaped, and each parameter named in ``tags``
    wrapped in that element (``code``, ``a href="..."``: the caller escapes the attribute)."""
    parts = {}
    for name, value in message.params.items():
        text = escape(language.gettext(value) if isinstance(value, Message) else str(value))
        parts[name] = f"<{tags[name]}>{text}</{tags[name].split()[0]}>" if name in tags else text
    return escape(language.translations.gettext(message.msgid), quote=False).format(**parts)


def _link(url: str) -> str:
    return f'a href="{escape(url)}"'


async def _named(conn: Connection, proposal_id: str) -> tuple[str, str]:
    """(the decision's question or title, the page a member opens for it: this chapter's copy)."""
    prop = await store.require_proposal(conn, proposal_id)
    copy = await copy_store.copy_of(conn, proposal_id)
    return proposal.title_of(prop.document), copy["copy_id"] if copy is not None else proposal_id


def _note(octx: Authoring, content: str, to: list[str], cc: list[str]) -> dict:
    note_id = octx.urls.new_object_id()
    note = {
        "@context": vocabulary.context(),
        "id": note_id,
        "type": "Note",
        "attributedTo": octx.actor_id,
        "content": content,
        "published": iso(octx.now),
        "url": note_id,
        "to": to,
        "cc": cc,
    }
    return vocabulary.with_language(note, octx.config.node.language)


def _create(octx: Authoring, note: dict) -> dict:
    return create_of(octx, note, {"to": note["to"], "cc": note["cc"]})


async def _publish_note(conn: Connection, octx: Authoring, note: dict, inboxes: list[str]) -> None:
    create = _create(octx, note)
    await publish.record(
        conn,
        urls=octx.urls,
        username=octx.username,
        activity=create,
        inboxes=inboxes,
        now=to_epoch(octx.now),
        new_object=note,
    )


@dataclass(frozen=True)
class Receipt:
    """A counted ballot's receipt, for its voter (sent to ``sender``, whose key signed the ballot)."""

    voter: str
    sender: str
    question: str
    receipt: str
    proposal_id: str
    proof_url: str  # where the receipt's inclusion proof is served, once the tally is signed


def _receipt_note(octx: Authoring, receipt: Receipt, title: str, page: str) -> dict:
    language = chapter_language(octx)
    counted = N_(
        "Your ballot on “{decision}” is counted. Your receipt, the same for every question of this decision: {receipt}",
        decision=title,
        receipt=receipt.receipt,
    )
    later = N_(
        "Once the vote closes and the chapter's tally is signed, you can check {answers} and see {results}."
        " Keep the receipt to yourself.",
        answers=N_("your answers and their proof"),
        results=N_("the results"),
    )
    content = (
        f"<p>{_html(language, counted, decision=_link(page), receipt='code')}</p>"
        f"<p>{_html(language, later, answers=_link(receipt.proof_url), results=_link(receipt.proposal_id + '/results'))}</p>"
    )
    return _note(octx, content, [receipt.voter], [])


async def tell_excluded(conn: Connection, octx: Authoring, proposal_id: str, voters: list[str]) -> None:
    """Members the issuer's exclusions count in another chapter: told, each alone, why their ballot
    here does not count (a member of this node without an inbox sees it on the copy's page)."""
    inboxes = await octx.remote_actors.store.delivery_inboxes(conn, voters)
    title, page = await _named(conn, proposal_id)
    told = N_(
        "You are on the roll of another chapter of the organisation too. For the decision “{decision}”,"
        " your ballot counts there, once; a ballot sent here is not counted.",
        decision=title,
    )
    content = f"<p>{_html(chapter_language(octx), told, decision=_link(page))}</p>"
    published = []
    for voter in voters:
        note = _note(octx, content, [voter], [])
        published.append((_create(octx, note), note, [inboxes[voter]] if voter in inboxes else []))
    if published:
        await publish.record_many(
            conn, urls=octx.urls, username=octx.username, published=published, now=to_epoch(octx.now)
        )


async def send_receipts(conn: Connection, octx: Authoring, receipts: list[Receipt], inboxes) -> None:
    """Each voter's receipt, to them alone (a direct Note): with it they find their leaf and its
    proof under the signed root. ``inboxes``: where each sender's deliveries go (an actor not
    cached gets none; the Note is still kept, as for any direct Note whose inbox is unknown)."""
    named = {proposal_id: await _named(conn, proposal_id) for proposal_id in {r.proposal_id for r in receipts}}
    published = []
    for receipt in receipts:
        note = _receipt_note(octx, receipt, *named[receipt.proposal_id])
        create = _create(octx, note)
        published.append((create, note, [inboxes[receipt.sender]] if receipt.sender in inboxes else []))
    if published:
        await publish.record_many(
            conn, urls=octx.urls, username=octx.username, published=published, now=to_epoch(octx.now)
        )


def _outcome_words(octx: Authoring, outcome: dict) -> Message:
    """The outcome and the share that agreed, as the decision's pages say them."""
    said = words.outcome(outcome.get("result"), _formatter(octx)) or {"words": N_("Unknown outcome"), "agreement": None}
    if said["agreement"] is None:
        return said["words"]
    return N_("{outcome} ({agreement})", outcome=said["words"], agreement=said["agreement"])


def _formatter(octx: Authoring) -> Formatter:
    return Formatter(octx.config.node.language, zone(octx.config.node.timezone))


@dataclass(frozen=True)
class Told:
    """A news item's words: its title, its first sentence (naming the decision, linked) and its lines."""

    title: Message
    first: Message
    lines: list[Message]


def _turnout(title: str, result: dict, fmt: Formatter) -> Message:
    return N_(
        "The whole organisation voted on “{decision}”: {voters} of {electorate} members took part.",
        decision=title,
        voters=fmt.number(result.get("voters") or 0),
        electorate=fmt.number(result.get("electorate") or 0),
    )


def _survey_lines(octx: Authoring, result: dict, fmt: Formatter) -> list[Message]:
    """Each question's leading answer(s), after the outcome's status when it is not a survey's (no quorum)."""
    questions = [q for q in result.get("questions") or [] if isinstance(q, dict)]
    lines = [] if result.get("status") == "survey" else [_outcome_words(octx, {"result": result})]
    for question, answer in zip(questions, words.answers(questions, fmt), strict=True):
        text = proposal.title_of({"content": question.get("content") or question.get("name") or ""})
        lines.append(N_("{question}: {answer}", question=text, answer=answer or N_("Unknown outcome")))
    return lines


def told(octx: Authoring, prop: store.Proposal, outcome: dict) -> Told:
    """What the news item says: a project's result when a room recognises the proposal
    (``registry.outcome_words``), a survey's leading answers, or a proposal's outcome."""
    fmt, title = _formatter(octx), proposal.title_of(prop.document)
    found = outcome.get("result")
    result: dict = found if isinstance(found, dict) else {}
    said = results.meaning(octx.registry.outcome_words, prop.document, result, fmt)
    if said is not None:
        return Told(said["headline"], _turnout(title, result, fmt), list(said["lines"]))
    if prop.document.get("type") == "Survey":
        survey = N_("Results of the survey «{survey}»", survey=title)
        return Told(survey, _turnout(title, result, fmt), _survey_lines(octx, result, fmt))
    decided = N_(
        "The decision of the whole organisation on “{decision}”: {outcome}",
        decision=title,
        outcome=_outcome_words(octx, outcome),
    )
    return Told(N_("Outcome: {question}", question=title), decided, [])


async def tell_members(conn: Connection, octx: Authoring, prop: store.Proposal, outcome: dict) -> None:
    """The outcome, public to the chapter's followers, when this node holds a copy: a news item in
    the chapter's language, titled by what it means (:func:`told`)."""
    copy = await copy_store.copy_of(conn, prop.id)
    if copy is None:
        return
    language, said = chapter_language(octx), told(octx, prop, outcome)
    items = "".join(f"<li>{_html(language, line)}</li>" for line in said.lines)
    content = (
        f"<p>{_html(language, said.first, decision=_link(copy['copy_id']))}</p>"
        + (f"<ul>{items}</ul>" if items else "")
        + f'<p><a href="{escape(prop.id)}/results">{escape(language.gettext(N_("See the results")))}</a></p>'
    )
    followers = octx.urls.followers(octx.username)
    note = _note(octx, content, [vocabulary.PUBLIC], [followers])
    note["name"] = language.gettext(said.title)
    await _publish_note(conn, octx, note, await follows.follower_inboxes(conn, octx.username))
