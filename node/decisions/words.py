"""A decision in plain words, for the pages: its rules, its phase, its outcome, its branches' reporting.

Everything here is a :class:`node.core.i18n.Message` (``N_``), so a page shows it in the reader's
language; figures are formatted for that reader before they go in (``fmt``). The outcome's
``reason`` as the issuer signed it is English for machines; the pages say the outcome from its
structured parts (status, agreement, the signed policy) instead. A survey is said as one: its
rules never speak of passing, and each question's result is its most chosen answer, or a tie
(:func:`answers`), never "passed" or "not passed".
"""

from __future__ import annotations

from babel.lists import format_list

from node.core.i18n import N_, Formatter, Message

STATUS = {
    "passed": N_("Passed"),
    "failed": N_("Not passed"),
    "blocked": N_("Blocked"),
    "no quorum": N_("No quorum"),
    "advisory": N_("Advisory: the counts only"),
    "survey": N_("Survey: the members' opinions, nothing passes or fails"),
}
PHASE = {
    "open": N_("Voting is open"),
    "counting": N_("Voting has closed; the chapters' tallies are being counted"),
    "final": N_("Final result"),
}
BRANCH_STATUS = {
    "reported": N_("reported"),
    "refused": N_("tally refused"),
    "not reporting": N_("not reported yet"),
}
LEVELS = {
    "chapter": N_("chapter"),
    "region": N_("region"),
    "nation": N_("nation"),
    "international": N_("international"),
}


def share(fmt: Formatter, value: float) -> str:
    return fmt.percent(100 * value)


SURVEY_RULE = N_(
    "This is a survey: each question's result is its shares and its most chosen answer (a tie is said as a tie);"
    " nothing passes or fails."
)


def _passing(policy: dict, fmt: Formatter) -> list[Message]:
    """A proposal's block share and pass threshold, in words."""
    said = []
    if policy.get("blockShare") is not None:
        said.append(
            N_("It is blocked if {share} or more of the ballots say “block”.", share=share(fmt, policy["blockShare"]))
        )
    if policy.get("passThreshold") is not None:
        said.append(
            N_(
                "It passes when at least {share} of those who agree or disagree agree.",
                share=share(fmt, policy["passThreshold"]),
            )
        )
    else:
        said.append(N_("There is no pass threshold: the counts are advice."))
    return said


def rules(policy: dict, fmt: Formatter, branch_names: dict[str, str], *, survey: bool = False) -> list[Message]:
    """The signed policy, one sentence per rule, in the order the outcome applies them (a survey's
    block share and pass threshold are never applied: it says what its result is instead)."""
    said = []
    if policy.get("weightMode") == "chapterShare":
        said.append(N_("Each chapter weighs as much as its members: its result counts for its whole roll."))
    else:
        said.append(N_("Every member's ballot counts once, in the chapter where it is cast."))
    for name, message in (
        ("chapterQuorum", "Quorum: at least {share} of the chapters must report."),
        ("rollQuorum", "Quorum: the chapters that report must hold at least {share} of all members."),
        ("turnoutQuorum", "Quorum: at least {share} of all members must vote."),
    ):
        if policy.get(name) is not None:
            said.append(N_(message, share=share(fmt, policy[name])))
    said.extend([SURVEY_RULE] if survey else _passing(policy, fmt))
    for branch, weight in sorted((policy.get("weights") or {}).items()):
        said.append(N_("{branch} counts {weight} times.", branch=branch_names.get(branch, branch), weight=weight))
    return said


# The messages ``rules`` builds from variables, for the catalogs (extraction reads N_ literals only).
_EXTRACTED = (
    N_("Quorum: at least {share} of the chapters must report."),
    N_("Quorum: the chapters that report must hold at least {share} of all members."),
    N_("Quorum: at least {share} of all members must vote."),
)


def outcome(result: dict | None, fmt: Formatter) -> dict | None:
    """The outcome: its status in words and, where it has one, the share that agreed."""
    if not result:
        return None
    status, agreement = result.get("status") or "", result.get("agreement")
    return {
        "status": status,
        "words": STATUS.get(status, N_("Unknown outcome")),
        "agreement": N_("{share} agree", share=share(fmt, agreement)) if isinstance(agreement, int | float) else None,
    }


def answers(questions: list[dict], fmt: Formatter) -> list[Message | None]:
    """Each question's result in words, when it is a survey's (None otherwise, or before the outcome):
    its most chosen answer and its share, a tie with every option in it, or that no one answered."""
    return [_answer(question, fmt) for question in questions]


def _answer(question: dict, fmt: Formatter) -> Message | None:
    said = question.get("outcome") or {}
    if not isinstance(said.get("leading"), list):
        return None
    leading = [o["name"] for o in question.get("options", []) if o.get("name") in said["leading"]]
    top = said.get("leadingShare")
    if not leading or not isinstance(top, int | float):
        return N_("No one answered this question.")
    if len(leading) == 1:
        return N_("Most chosen: {option} ({share})", option=leading[0], share=share(fmt, top))
    options = format_list(leading, locale=fmt.code)
    return N_("A tie: {options}, with {share} each", options=options, share=share(fmt, top))
