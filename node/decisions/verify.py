"""``chapterhouse verify <proposal>``: anyone redoes a decision from its public documents.

No account, no key and no trust in any node is needed, only the public documents:
``<proposal>/results`` (the proposal as its issuer signed it, each chapter's tally exactly as
signed, the issuer's signed outcome), each chapter's actor (its published Multikey) and each
tally's leaves (on the chapter's own host, served after the close). It checks every proof,
recounts every leaf (``leaves.recount``: shape, canonical order, every stated figure),
rebuilds every Merkle root, then recomputes each question's counts and the outcome under the
signed policy (``outcome.decide``: a survey's leading options too) and compares them with what
``/results`` and the signed outcome say. It prints a line per chapter and a verdict, and exits 1 on any mismatch.

What it cannot check from public documents: the roll of a chapter that did not report (the
issuer's signed outcome states it), and who is on each roll (rolls are never served). Like
the node, it refuses to fetch from private and loopback addresses unless
``--allow-private-addresses`` is given (a local federation, or a test).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from federation.activitystreams import id_of, origin_of
from federation.client import FederationClient, FetchError, make_session
from federation.proofs import ProofError, proof_verification_method, verify_actor_proof
from node.core.clock import Clock
from node.decisions import leaves, outcome, proposal


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def ok(self, line: str) -> None:
        self.lines.append(f"ok    {line}")

    def fail(self, line: str) -> None:
        self.lines.append(f"FAIL  {line}")
        self.failures.append(line)


class Fetcher:
    def __init__(self, client: FederationClient) -> None:
        self.client = client
        self.actors: dict[str, dict] = {}

    async def json(self, url: str, accept: str = "application/activity+json") -> dict:
        return await self.client.get_json(url, signer=None, accept=accept)

    async def proof_error(self, document: dict, author: str | None) -> str | None:
        """Why ``document`` is not signed by ``author``'s own published Multikey, or None."""
        try:
            method = proof_verification_method(document)
            if author is None or method.split("#")[0] != author:
                return f"signed with {method}, not a key of {author}"
            if author not in self.actors:
                self.actors[author] = await self.json(author)
            verify_actor_proof(document, self.actors[author])
        except (ProofError, FetchError) as error:
            return str(error)
        return None


def _paths(branches: list[dict], above: tuple[str, ...] = ()) -> dict[str, tuple[dict, tuple[str, ...]]]:
    """Each chapter of the results tree with the branches above it (nearest first)."""
    found: dict[str, tuple[dict, tuple[str, ...]]] = {}
    for branch in branches:
        if branch.get("children"):
            found.update(_paths(branch["children"], (branch["id"], *above)))
        else:
            found[branch["id"]] = (branch, above)
    return found


async def check_chapter(
    fetcher: Fetcher, report: Report, prop: dict, chapter: str, branch: dict
) -> leaves.Recount | None:
    """The chapter's tally, checked from its proof to its leaves; its recount, or None when it fails."""
    tally = branch.get("tally")
    status = branch.get("status")
    if status not in ("reported", "refused") or not isinstance(tally, dict):
        report.ok(f"{chapter}: {status} (in the denominator only)")
        return None
    if (
        tally.get("type") != "DecisionTally"
        or id_of(tally.get("attributedTo")) != chapter
        or id_of(tally.get("proposal")) != prop["id"]
    ):
        report.fail(f"{chapter}: the document shown is not this chapter's tally of this proposal")
        return None
    if status == "refused":
        checked = await _checked(fetcher, prop, chapter, tally)
        why = "its proof, leaves and figures check out" if isinstance(checked, leaves.Recount) else checked
        report.ok(f"{chapter}: refused ({branch.get('reason')}); {why} (in the denominator only)")
        return None
    checked = await _checked(fetcher, prop, chapter, tally)
    if isinstance(checked, str):
        report.fail(f"{chapter}: {checked}")
        return None
    report.ok(f"{chapter}: {checked.voters} voters of a roll of {tally['rollSize']}, proof, leaves and root check out")
    return checked


async def _checked(fetcher: Fetcher, prop: dict, chapter: str, tally: dict) -> leaves.Recount | str:
    """The tally's recount, or what does not check out (its proof, its leaves, its figures, its root)."""
    error = await fetcher.proof_error(tally, chapter)
    url = tally.get("leaves")
    if not isinstance(url, str) or origin_of(url).netloc != origin_of(chapter).netloc:
        error = error or "its leaves are not on its own host"
    if error is not None or not isinstance(url, str):
        return str(error)
    try:
        page = (await fetcher.json(url)).get("orderedItems")
        served: list = page if isinstance(page, list) else []
        counted = leaves.recount(proposal.ballots_of(prop), served)
    except (FetchError, leaves.LeafError) as failure:
        return f"its leaves: {failure}"
    problems = leaves.claim_problems(tally, counted)
    if tally.get("merkleRoot") != leaves.merkle_root(served):
        problems.append("the Merkle root does not match the leaves")
    return "; ".join(problems) if problems else counted


def _counts(question: dict) -> dict:
    return {o.get("name"): o.get("count") for o in question.get("options", []) if isinstance(o, dict)}


def _compare(report: Report, what: str, claimed: Any, computed: Any) -> None:
    if claimed != computed:
        report.fail(f"{what}: the results say {claimed!r}, the documents give {computed!r}")


Counted = dict[str, tuple[leaves.Recount, tuple[str, ...], int]]  # chapter -> (recount, path, roll)
Silent = dict[str, tuple[int, tuple[str, ...]]]  # chapter -> (roll, path), in the denominator only


async def verify(fetcher: Fetcher, proposal_id: str) -> Report:
    report = Report()
    results = await fetcher.json(f"{proposal_id}/results", accept="application/json")
    prop = results.get("signedProposal") or {}
    error = await fetcher.proof_error(prop, id_of(prop.get("attributedTo")))
    if error is None and prop.get("id") != proposal_id:
        error = f"the signed proposal shown is {prop.get('id')}"
    (report.fail if error else report.ok)(f"the proposal {proposal_id}: {error or 'signed by its issuer'}")
    if error is not None:
        return report
    signed = results.get("signedOutcome")
    if not isinstance(signed, dict):
        report.fail("no signed outcome yet: the decision is not final")
        return report
    error = await fetcher.proof_error(signed, id_of(prop.get("attributedTo")))
    if error is None and id_of(signed.get("proposal")) != proposal_id:
        error = f"it is the outcome of {signed.get('proposal')}"
    (report.fail if error else report.ok)(f"the outcome: {error or 'signed by the issuer'}")
    counted, silent = await _chapters(fetcher, report, prop, results, signed)
    voters = sum(r.voters for r, _, _ in counted.values())
    _compare(report, "the voters", results.get("voters"), voters)
    _compare(report, "the signed outcome's voters", signed["result"].get("voters"), voters)
    for number, question in enumerate(proposal.questions_of(prop)):
        _question(report, prop, results, signed, number, question, counted, silent)
    return report


async def _chapters(
    fetcher: Fetcher, report: Report, prop: dict, results: dict, signed: dict
) -> tuple[Counted, Silent]:
    """Each chapter's tally checked; (those counted, those in the denominator only)."""
    stated = {c["id"]: c for c in signed.get("result", {}).get("chapters", [])}
    counted: Counted = {}
    silent: Silent = {}
    for chapter, (branch, path) in _paths(results.get("branches", [])).items():
        found = await check_chapter(fetcher, report, prop, chapter, branch)
        roll = int((stated.get(chapter) or {}).get("roll", branch.get("roll") or 0))
        if found is not None:
            _compare(report, f"{chapter}'s roll", roll, branch["tally"]["rollSize"])
            counted[chapter] = (found, path, branch["tally"]["rollSize"])
        else:
            silent[chapter] = (roll, path)
    return counted, silent


def _question(
    report: Report,
    prop: dict,
    results: dict,
    signed: dict,
    number: int,
    question: dict,
    counted: Counted,
    silent: Silent,
) -> None:
    """One question redone under the signed policy, compared with /results and the signed outcome."""
    rows = [
        outcome.ChapterTally(
            c, roll, path, True, r.questions[question["id"]].voters, r.questions[question["id"]].counts
        )
        for c, (r, path, roll) in counted.items()
    ] + [outcome.ChapterTally(c, roll, path) for c, (roll, path) in silent.items()]
    policy = proposal.policy_of(prop)
    decided = outcome.decide(policy, rows)
    shown: dict = next((q for q in results.get("questions", []) if q.get("id") == question["id"]), {})
    mine: dict = next((q for q in signed["result"].get("questions", []) if q.get("id") == question["id"]), {})
    totals = {o["name"]: sum(row.counts.get(o["name"], 0) for row in rows) for o in shown.get("options", [])}
    n = number + 1
    _compare(report, f"question {n}'s counts", _counts(shown), totals)
    _compare(report, f"the signed counts of question {n}", _counts(mine), totals)
    _compare(report, f"question {n}'s outcome", (shown.get("outcome") or {}).get("status"), decided.status)
    _compare(report, f"the signed outcome of question {n}", (mine.get("outcome") or {}).get("status"), decided.status)
    if policy.survey:  # a survey's question says which option(s) lead
        said = [(entry.get("outcome") or {}).get("leading") for entry in (shown, mine)]
        _compare(report, f"the leading answers of question {n}", said, [list(decided.leading)] * 2)
    voters = sum(row.voters for row in rows)
    _compare(report, f"the voters of question {n}", [shown.get("votersCount"), mine.get("votersCount")], [voters] * 2)
    if number == 0:
        _compare(report, "the outcome", (results.get("outcome") or {}).get("status"), decided.status)
        _compare(report, "the signed outcome", signed["result"].get("status"), decided.status)
        _compare(report, "the electorate", results.get("electorate"), decided.electorate)
        _compare(report, "the signed electorate", signed["result"].get("electorate"), decided.electorate)
        report.lines.append(f"      {decided.status}: {decided.reason}")


async def run(proposal_id: str, *, allow_private: bool, timeout: float = 20.0) -> int:
    session = make_session(allow_private=allow_private, user_agent="chapterhouse-verify", concurrency=4)
    async with session:
        client = FederationClient(
            session,
            clock=Clock(),
            allow_private=allow_private,
            max_fetch_bytes=64 * 1024 * 1024,
            fetch_timeout=timeout,
            delivery_timeout=timeout,
        )
        try:
            report = await verify(Fetcher(client), proposal_id)
        except FetchError as error:
            print(f"chapterhouse verify: could not fetch what the proposal needs: {error}")
            return 1
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            print(f"chapterhouse verify: the documents served are malformed ({type(error).__name__}: {error})")
            return 1
    print("\n".join(report.lines))
    if report.failures:
        print(f"MISMATCH: {len(report.failures)} check(s) failed")
        return 1
    print("VERIFIED: every proof, leaf, root and figure checks out")
    return 0


def main(proposal_id: str, allow_private: bool) -> int:
    return asyncio.run(run(proposal_id, allow_private=allow_private))
