"""The winner of a project's vote (node.projects.outcome.winner): the largest majority over the default."""

from __future__ import annotations

from node.projects.outcome import Figures, figures_of, winner
from node.projects.store import Draft


def figures(*counts: tuple[int, int]) -> list[Figures]:
    return [Figures(f"d{n}", f"q{n}", yes, no) for n, (yes, no) in enumerate(counts)]


def test_the_largest_majority_over_the_default_wins():
    assert winner(figures((10, 8), (7, 2), (30, 27))).draft == "d1"  # majorities 2, 5, 3


def test_no_draft_with_more_votes_for_than_against_means_the_default_stands():
    assert winner(figures((5, 5), (3, 9), (0, 0))) is None
    assert winner([]) is None


def test_a_tie_goes_to_more_votes_for_then_to_the_earlier_draft():
    assert winner(figures((6, 2), (9, 5))).draft == "d1"  # both +4: 9 votes for beat 6
    assert winner(figures((6, 2), (6, 2), (5, 1))).draft == "d0"  # the same figures: the earlier


def _draft(number: int, question: str | None) -> Draft:
    return Draft(f"d{number}", "p", "t", "x", 1, "a", 0.0, 0.0, "voting", 1.0, question)


def test_figures_are_read_by_option_position_and_bounded():
    result = {
        "questions": [
            {"id": "q0", "options": [{"name": "This draft", "count": 4}, {"name": "The default", "count": 1}]},
            {"id": "q1", "options": [{"name": "此草案", "count": -3}, {"name": "默认方案", "count": "9"}]},
        ]
    }
    found = figures_of(result, [_draft(0, "q0"), _draft(1, "q1"), _draft(2, "q-missing")])
    assert [(f.votes_for, f.votes_against) for f in found] == [(4, 1), (0, 0), (0, 0)]
