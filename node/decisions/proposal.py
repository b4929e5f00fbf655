"""A proposal: the issuer's signed Question or Survey with its ``decision`` policy.

:func:`parse_policy` reads the ``decision`` object the admin POSTs (400 with a hint when a
field is wrong) into the normalised policy that is signed: ``weightMode`` (``ballots`` or
``chapterShare``), ``weights`` (per branch actor id), ``passThreshold``, ``blockShare``,
``chapterQuorum``, ``rollQuorum``, ``turnoutQuorum`` (shares between 0 and 1) and
``tallyDeadline`` (default: one hour after ``endTime``). :func:`policy_of` turns it back into
the :class:`node.decisions.outcome.Policy` every level computes with: only what the issuer
signed counts (a weight anywhere else is never read), and a signed ``Survey`` is a survey
(``Policy.survey``: its questions ask for opinions, none passes or fails). :func:`questions_of` lists the
questions of a proposal (one for a Question, the Survey's ``orderedItems`` otherwise).

:data:`SIGNED_TERMS` are the terms a room adds to its proposal, signed with it (``issuing``).

:func:`check_signed` is how every level checks a document that travels (a proposal, a
tally, an aggregate, an outcome): the proof is from the ``attributedTo`` actor's own
Multikey, fetched before the transaction (an actor that fails is fetched once more, for a
rotated key). It returns the reason it fails, or None.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

from federation.activitystreams import id_of, origin_of
from federation.actors import RemoteActors
from federation.client import FetchError
from federation.proofs import ProofError, proof_verification_method, verify_actor_proof
from node.core.clock import from_epoch, iso, to_epoch
from node.core.errors import ApiError
from node.core.i18n import N_, Message
from node.decisions.leaves import Ballot
from node.decisions.outcome import WEIGHT_MODES, Policy
from node.polls import outbound as polls_out

# Top-level terms a room adds to the proposal it issues (node.projects.voting: ``project``, what the
# outcome means for the project): the composer keeps each as the body gives it (a JSON object) and
# signs it with the proposal, once; any other term of the body is dropped. Each is a term of the
# signed context (node.core.vocabulary) and never changes once the proposal is open; a level reads
# it as the issuer's word, bounded (node.projects.outcome.read_term).
SIGNED_TERMS = ("project",)
SHARES = ("passThreshold", "blockShare", "chapterQuorum", "rollQuorum", "turnoutQuorum")
DEFAULT_TALLY_WINDOW = timedelta(hours=1)
MAX_WEIGHTS = 1000
MAX_WEIGHT = 1000
MAX_DOCUMENT_ID = 2048


def _bad(message: Message, hint: Message | None = None) -> ApiError:
    """A 400 whose message and hint a page shows in the reader's language (a JSON client reads English)."""
    return ApiError(400, message, hint=hint)


def _share(decision: dict, name: str) -> float | None:
    value = decision.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise _bad(N_("decision.{name} must be a share between 0 and 1", name=name), hint=N_("0.5 is half"))
    return float(value)


def _weights(decision: dict) -> dict[str, float]:
    weights = decision.get("weights", {})
    if not isinstance(weights, dict) or len(weights) > MAX_WEIGHTS:
        raise _bad(N_("decision.weights must map at most {count} branch actor ids to numbers", count=MAX_WEIGHTS))
    for branch, weight in weights.items():
        if not isinstance(weight, int | float) or isinstance(weight, bool) or not 0 <= weight <= MAX_WEIGHT:
            raise _bad(
                N_("decision.weights of {branch} must be a number from 0 to {high}", branch=branch, high=MAX_WEIGHT),
                hint=N_("1 counts a branch as usual, 2 twice as much, 0.5 half"),
            )
    return {branch: float(weight) for branch, weight in weights.items()}


def _deadline(decision: dict, end_time: datetime) -> datetime:
    value = decision.get("tallyDeadline")
    if value is None:
        return end_time + DEFAULT_TALLY_WINDOW
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or moment <= end_time:
        raise _bad(
            N_("decision.tallyDeadline must be a date and time with a zone, after endTime"),
            hint=N_("the chapters' tallies are counted after the vote closes: leave it empty for an hour after"),
        )
    return moment


def parse_policy(decision, end_time: datetime) -> dict:
    """The normalised ``decision`` object to sign, or a 400 saying what is wrong."""
    if not isinstance(decision, dict):
        raise _bad(N_("decision must be an object (weightMode, weights, passThreshold, ...)"))
    mode = decision.get("weightMode", "ballots")
    if mode not in WEIGHT_MODES:
        raise _bad(N_("decision.weightMode must be one of {modes}", modes=", ".join(WEIGHT_MODES)))
    policy: dict = {"weightMode": mode}
    if weights := _weights(decision):
        policy["weights"] = weights
    for name in SHARES:
        if (share := _share(decision, name)) is not None:
            policy[name] = share
    policy["tallyDeadline"] = iso(_deadline(decision, end_time))
    return policy


def signed_terms(obj: dict) -> dict:
    """The body's :data:`SIGNED_TERMS`, each a JSON object (a 400 otherwise), to sign with the proposal."""
    found = {}
    for name in SIGNED_TERMS:
        if name not in obj:
            continue
        if not isinstance(obj[name], dict):
            raise _bad(N_("{name} must be an object", name=name))
        found[name] = obj[name]
    return found


def policy_of(proposal: dict) -> Policy:
    """The outcome's policy from the SIGNED proposal only."""
    decision = proposal.get("decision") or {}
    return Policy(
        weight_mode=decision.get("weightMode", "ballots"),
        weights=dict(decision.get("weights") or {}),
        pass_threshold=decision.get("passThreshold"),
        block_share=decision.get("blockShare"),
        chapter_quorum=decision.get("chapterQuorum"),
        roll_quorum=decision.get("rollQuorum"),
        turnout_quorum=decision.get("turnoutQuorum"),
        survey=proposal.get("type") == "Survey",
    )


def times_of(proposal: dict) -> tuple[float, float]:
    """(endTime, tallyDeadline) in epoch seconds."""
    end = datetime.fromisoformat(proposal["endTime"].replace("Z", "+00:00"))
    deadline = datetime.fromisoformat(proposal["decision"]["tallyDeadline"].replace("Z", "+00:00"))
    return to_epoch(end), to_epoch(deadline)


def kind_of(question: dict) -> str:
    return "oneOf" if "oneOf" in question else "anyOf"


def options_of(question: dict) -> list[str]:
    return [entry["name"] if isinstance(entry, dict) else entry for entry in question.get(kind_of(question), [])]


def questions_of(proposal: dict) -> list[dict]:
    """The proposal's questions, each a Question document."""
    if proposal.get("type") == "Survey":
        return [item for item in proposal.get("orderedItems", []) if isinstance(item, dict)]
    return [proposal]


def ballots_of(document: dict) -> dict[str, Ballot]:
    """Each question's id with what a ballot on it may choose, in the proposal's order."""
    return {q["id"]: Ballot(kind_of(q), tuple(options_of(q))) for q in questions_of(document)}


def title_of(document: dict) -> str:
    """What a proposal asks, as plain text (a Survey's name, or the Question's text), for titles."""
    text = document.get("name") if document.get("type") == "Survey" else None
    text = text or document.get("content") or document.get("name") or document.get("id") or ""
    plain = " ".join(html.unescape(re.sub(r"<[^>]*>", " ", str(text))).split())
    return plain if len(plain) <= 200 else plain[:199] + "…"


def shape_error(proposal) -> str | None:
    """What makes a received document no proposal this node would have issued itself, or None.

    A received proposal meets the rules of the local composer (``node.polls.outbound``: 2 to 20
    distinct option names of at most 200 characters, one kind per question, at most 50
    questions) and of :func:`parse_policy`; so one proposal makes at most 51 Creates on a
    chapter, and is passed down once per linked child."""
    if not isinstance(proposal, dict) or proposal.get("type") not in ("Question", "Survey"):
        return "a proposal is a Question or a Survey"
    if not isinstance(proposal.get("decision"), dict) or not _short_id(proposal.get("id")):
        return "a proposal needs an id and a decision"
    issuer = id_of(proposal.get("attributedTo")) or ""
    if not _on_host_of(proposal["id"], issuer):
        return f"a proposal's id is on its issuer's host: {proposal['id']} is not on the host of {issuer}"
    try:
        end, _ = times_of(proposal)
        items = proposal.get("orderedItems") if proposal.get("type") == "Survey" else [proposal]
        if not isinstance(items, list) or not 1 <= len(items) <= polls_out.MAX_SURVEY_QUESTIONS:
            return f"a proposal asks 1 to {polls_out.MAX_SURVEY_QUESTIONS} questions"
        ids = set()
        for item in items:
            if not isinstance(item, dict) or not _short_id(item.get("id")) or item["id"] in ids:
                return "every question of a proposal needs an id of its own"
            if not _on_host_of(item["id"], issuer):
                return f"a proposal's questions are on its issuer's host: {item['id']} is not"
            ids.add(item["id"])
            spec = polls_out.parse_question(item)
            if spec.options != options_of(item):
                return "a question's option names must be written as the issuer's composer writes them"
        policy = parse_policy(proposal["decision"], from_epoch(end))
    except ApiError as error:
        return f"the proposal breaks a rule of this node's composer: {error.error}"
    except (KeyError, TypeError, ValueError, AttributeError):
        return "a proposal needs endTime and decision.tallyDeadline"
    if policy != proposal["decision"]:
        return "the proposal's decision is not in the form its issuer signs"
    return None


def _on_host_of(object_id: str, actor_id: str) -> bool:
    """An object is its author's only on its author's host: no node can re-issue another's proposal id."""
    return bool(actor_id) and origin_of(object_id).netloc.lower() == origin_of(actor_id).netloc.lower()


def _short_id(value) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_DOCUMENT_ID


async def check_signed(remote_actors: RemoteActors, document: dict, now: datetime) -> str | None:
    """Why ``document``'s proof is not its ``attributedTo``'s own, or None when it is."""
    origin = id_of(document.get("attributedTo")) if isinstance(document, dict) else None
    if origin is None:
        return N_("the document names no attributedTo")
    try:
        method = proof_verification_method(document)
    except ProofError as error:
        return N_("the proof: {error}", error=str(error))
    if method.split("#")[0] != origin:
        return N_(
            "the document of {origin} is signed with {method}, a key of another actor", origin=origin, method=method
        )
    reason: str | None = None
    for refresh in (False, True):  # a cached actor may predate a key rotation: fetched once more
        try:
            actor = await remote_actors.get_actor(origin, refresh=refresh)
        except FetchError as error:
            if error.gone:
                return N_("{origin} is gone: {reason}", origin=origin, reason=error.reason)
            raise  # unreachable for now: the inbox tries again later
        try:
            verify_actor_proof(document, actor.data, now=now)
            return None
        except ProofError as error:
            reason = N_("the proof: {error}", error=str(error))
    return reason
