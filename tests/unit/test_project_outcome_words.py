"""What a project's vote means, read at any level from the signed Survey's ``project`` term and the
signed outcome's counts (``node.projects.outcome.said``): the public rule, and terms that do not read."""

from __future__ import annotations

import copy
from datetime import UTC

from node.core.i18n import Formatter
from node.projects import outcome

FMT = Formatter("en", UTC)
SURVEY = {
    "type": "Survey",
    "orderedItems": [
        {"type": "Question", "id": "https://w.example/q1"},
        {"type": "Question", "id": "https://w.example/q2"},
    ],
    "project": {
        "id": "https://w.example/p",
        "name": "Our charter",
        "defaultOption": "Keep the statutes.",
        "method": outcome.METHOD,
        "drafts": [
            {"id": "https://w.example/d1", "name": "Short", "question": "https://w.example/q1"},
            {"id": "https://w.example/d2", "name": "Long", "question": "https://w.example/q2"},
        ],
    },
}


def _result(first: tuple[int, int], second: tuple[int, int], status: str = "survey") -> dict:
    def question(qid: str, counts: tuple[int, int]) -> dict:
        return {
            "id": qid,
            "options": [{"name": "This draft", "count": counts[0]}, {"name": "The default", "count": counts[1]}],
        }

    return {
        "status": status,
        "questions": [question("https://w.example/q1", first), question("https://w.example/q2", second)],
    }


def test_the_largest_majority_over_the_default_is_adopted_with_each_drafts_figures():
    said = outcome.said(SURVEY, _result((6, 2), (7, 4)), FMT)
    assert said["status"] == "adopted" and said["adopted"] == "https://w.example/d1"
    assert str(said["headline"]) == "Project «Our charter»: «Short» adopted"
    assert [str(line) for line in said["lines"]] == [
        "«Short»: 6 for the draft, 2 for the default",
        "«Long»: 7 for the draft, 4 for the default",
    ]
    tied = outcome.said(SURVEY, _result((5, 2), (6, 3)), FMT)  # a tie on the majority: more votes for wins
    assert tied["adopted"] == "https://w.example/d2"


def test_the_default_stands_without_a_majority_or_without_a_quorum():
    said = outcome.said(SURVEY, _result((2, 2), (1, 3)), FMT)
    assert said["status"] == "default" and said["adopted"] is None
    assert str(said["headline"]) == "Project «Our charter»: the default stands («Keep the statutes.»)"
    missed = outcome.said(SURVEY, _result((9, 1), (0, 0), status="no quorum"), FMT)
    assert missed["adopted"] is None and "no quorum" in str(missed["headline"])


def test_a_term_that_does_not_read_is_no_projects_vote():
    assert outcome.said(SURVEY, None, FMT) is None  # no outcome yet
    for change in (
        lambda t: t.update(method="mostVotes"),
        lambda t: t.update(name="x" * 201),
        lambda t: t["drafts"][1].update(question="https://elsewhere.example/q"),
        lambda t: t["drafts"][1].update(question="https://w.example/q1"),  # two drafts on one question
        lambda t: t.update(drafts=[]),
        lambda t: t.update(drafts="all"),
        lambda t: t.pop("defaultOption"),
    ):
        document = copy.deepcopy(SURVEY)
        change(document["project"])
        assert outcome.said(document, _result((6, 2), (7, 4)), FMT) is None
    assert outcome.said({**SURVEY, "type": "Question"}, _result((6, 2), (7, 4)), FMT) is None
    assert outcome.said("not a document", _result((6, 2), (7, 4)), FMT) is None


def test_drafts_named_in_the_order_of_the_questions_are_asked_by_them():
    """The term a project's vote now signs names no question: the i-th draft is the i-th question's."""
    document = copy.deepcopy(SURVEY)
    for entry in document["project"]["drafts"]:
        del entry["question"]
    said = outcome.said(document, _result((6, 2), (7, 4)), FMT)
    assert said["adopted"] == "https://w.example/d1"
    assert [str(line) for line in said["lines"]] == [
        "«Short»: 6 for the draft, 2 for the default",
        "«Long»: 7 for the draft, 4 for the default",
    ]
    document["project"]["drafts"].append({"id": "https://w.example/d3", "name": "Third"})  # no third question
    assert outcome.said(document, _result((6, 2), (7, 4)), FMT) is None
    first_question = document["orderedItems"][0]["id"]
    document["project"]["drafts"][1:] = [{"id": "https://w.example/d2", "name": "Long", "question": first_question}]
    assert outcome.said(document, _result((6, 2), (7, 4)), FMT) is None  # the first question twice


def test_the_result_as_data_names_the_adopted_draft_or_says_the_default_stands():
    adopted = outcome.said(SURVEY, _result((6, 2), (7, 4)), FMT)["json"]
    assert adopted["result"] == "adopted" and adopted["adopted"] == {"id": "https://w.example/d1", "name": "Short"}
    assert [(d["id"], d["for"], d["against"]) for d in adopted["drafts"]] == [
        ("https://w.example/d1", 6, 2),
        ("https://w.example/d2", 7, 4),
    ]
    assert (
        adopted["project"] == "https://w.example/p" and adopted["headline"] == "Project «Our charter»: «Short» adopted"
    )
    stands = outcome.said(SURVEY, _result((2, 2), (1, 3)), FMT)["json"]
    assert stands["result"] == "default stands" and stands["adopted"] is None
    assert stands["defaultOption"] == "Keep the statutes." and "the default stands" in stands["headline"]
