"""A proposal: the issuer's signed Question or Survey with its ``decision`` policy.

:func:`parse_policy` reads the ``decision`` object the admin POSTs (400 with a hint when a
field is wrong) into the normalised policy that is signed: ``weightMode`` (``ballots`` or
``chapterShare``), ``weights`` (per branch actor id), ``passThreshold``, ``blockShare``,
``chapterQuorum``, ``rollQuorum``, ``turnoutQuorum`` (shares between 0 and 1) and
``tallyDeadline`` (default: one hour after ``endTime``). :func:`policy_of` turns it back into
the :class:`node.decisions.outcome.Policy` every level computes with: only what the issuer
signed counts (a weight anywhere else is never read). :func:`questions_of` lists the
questions of a proposal (one for a Question, the Survey's ``orderedItems`` otherwise).

:func:`check_signed` is how every level checks a document that travels (a proposal, a
tally, an aggregate, an outcome): the proof is from the ``attributedTo`` actor's own
Multikey, fetched before the transaction (an actor that fails is fetched once more, for a
rotated key). It returns the reason it fails, or None.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from federation.activitystreams import id_of
from federation.actors import RemoteActors
from federation.client import FetchError
from federation.multikey import find_multikey
from federation.proofs import ProofError, proof_verification_method, verify_proof
from node.core.clock import iso, to_epoch
from node.core.errors import ApiError
from node.decisions.outcome import WEIGHT_MODES, Policy

SHARES = ("passThreshold", "blockShare", "chapterQuorum", "rollQuorum", "turnoutQuorum")
DEFAULT_TALLY_WINDOW = timedelta(hours=1)


def _bad(message: str, hint: str | None = None) -> ApiError:
    return ApiError(400, message, hint=hint)


def _share(decision: dict, name: str) -> float | None:
    value = decision.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise _bad(f"decision.{name} must be a share between 0 and 1", hint="0.5 is half")
    return float(value)


def _weights(decision: dict) -> dict[str, float]:
    weights = decision.get("weights", {})
    if not isinstance(weights, dict):
        raise _bad("decision.weights must map branch actor ids to numbers")
    for branch, weight in weights.items():
        if not isinstance(weight, int | float) or isinstance(weight, bool) or weight < 0:
            raise _bad(f"decision.weights of {branch} must be a number of at least 0")
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
        raise _bad("decision.tallyDeadline must be a date and time with a zone, after endTime")
    return moment


def parse_policy(decision, end_time: datetime) -> dict:
    """The normalised ``decision`` object to sign, or a 400 saying what is wrong."""
    if not isinstance(decision, dict):
        raise _bad("decision must be an object (weightMode, weights, passThreshold, ...)")
    mode = decision.get("weightMode", "ballots")
    if mode not in WEIGHT_MODES:
        raise _bad(f"decision.weightMode must be one of {', '.join(WEIGHT_MODES)}")
    policy: dict = {"weightMode": mode}
    if weights := _weights(decision):
        policy["weights"] = weights
    for name in SHARES:
        if (share := _share(decision, name)) is not None:
            policy[name] = share
    policy["tallyDeadline"] = iso(_deadline(decision, end_time))
    return policy


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


def shape_error(proposal) -> str | None:
    """What makes a received document no proposal we can copy, or None."""
    if not isinstance(proposal, dict) or proposal.get("type") not in ("Question", "Survey"):
        return "a proposal is a Question or a Survey"
    if not isinstance(proposal.get("decision"), dict) or not isinstance(proposal.get("id"), str):
        return "a proposal needs an id and a decision"
    try:
        times_of(proposal)
    except (KeyError, TypeError, ValueError, AttributeError):
        return "a proposal needs endTime and decision.tallyDeadline"
    questions = questions_of(proposal)
    if not questions or any(len(options_of(q)) < 2 or not isinstance(q.get("id"), str) for q in questions):
        return "every question of a proposal needs an id and at least two options"
    return None


async def check_signed(remote_actors: RemoteActors, document: dict, now: datetime) -> str | None:
    """Why ``document``'s proof is not its ``attributedTo``'s own, or None when it is."""
    origin = id_of(document.get("attributedTo")) if isinstance(document, dict) else None
    if origin is None:
        return "the document names no attributedTo"
    try:
        method = proof_verification_method(document)
    except ProofError as error:
        return f"the proof: {error}"
    if method.split("#")[0] != origin:
        return f"the document of {origin} is signed with {method}, a key of another actor"
    reason = None
    for refresh in (False, True):
        try:
            actor = await remote_actors.get_actor(origin, refresh=refresh)
        except FetchError as error:
            if error.gone:
                return f"{origin} is gone: {error.reason}"
            raise  # unreachable for now: the inbox tries again later
        try:
            key = find_multikey(actor.data, method)
            if key is None:
                raise ProofError(f"{origin} publishes no Multikey {method}")
            verify_proof(document, key, now=now)
            return None
        except (ProofError, ValueError) as error:
            reason = f"the proof does not verify with {method}: {error}"
    return reason
