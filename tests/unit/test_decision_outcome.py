"""The decision arithmetic of issue 12's scenarios, as the chapters' tallies would give it."""

from __future__ import annotations

import pytest

from node.decisions.outcome import ChapterTally, Policy, decide

POLICY = Policy(pass_threshold=0.5, block_share=0.1, chapter_quorum=0.2, roll_quorum=0.5, turnout_quorum=0.25)
REGION = "https://region.example/users/north"


def chapter(name: str, roll: int, agree=0, abstain=0, disagree=0, block=0, *, reported=True, path=(REGION,)):
    counts = {"agree": agree, "abstain": abstain, "disagree": disagree, "block": block}
    return ChapterTally(f"https://{name}.example/users/{name}", roll, path, reported, sum(counts.values()), counts)


def test_every_ballot_counts_once_and_the_proposal_passes():
    result = decide(POLICY, [chapter("a", 100, 40, 5, 15), chapter("b", 50, 10, 0, 20), chapter("c", 30, 6, 0, 4)])
    assert (result.status, result.voters, result.electorate) == ("passed", 100, 180)
    assert result.agreement == pytest.approx(56 / 95)


def test_the_weight_mode_decides():
    tallies = [chapter("a", 100, agree=25), chapter("b", 50, disagree=40), chapter("c", 30)]
    assert decide(POLICY, tallies).status == "failed"  # 25 / 65
    share = decide(Policy(**{**POLICY.__dict__, "weight_mode": "chapterShare"}), tallies)
    assert share.status == "passed" and share.agreement == pytest.approx(100 / 150)


def test_the_issuers_weights_apply_to_the_nearest_listed_branch():
    a, b, c = (
        chapter("a", 100, agree=30, disagree=10),
        chapter("b", 50, agree=5, disagree=25),
        chapter("c", 30, agree=5, disagree=15),
    )
    assert decide(POLICY, [a, b, c]).agreement == pytest.approx(40 / 90)
    weighted = Policy(**{**POLICY.__dict__, "weights": {a.chapter: 1, b.chapter: 0.5, REGION: 0.5}})
    result = decide(weighted, [a, b, c])
    assert result.status == "passed" and result.agreement == pytest.approx(35 / 65)


def test_a_silent_chapter_leaves_the_result_standing_and_a_large_one_takes_the_quorum():
    c_offline = [chapter("a", 100, 40, 5, 15), chapter("b", 50, 10, 0, 20), chapter("c", 30, reported=False)]
    assert decide(POLICY, c_offline).status == "passed"
    a_offline = [chapter("a", 100, reported=False), chapter("b", 50, 10, 0, 20), chapter("c", 30, 6, 0, 4)]
    result = decide(POLICY, a_offline)
    assert result.status == "no quorum" and "roll quorum" in result.reason


def test_a_tenth_blocking_blocks():
    result = decide(POLICY, [chapter("a", 100, agree=70, disagree=18, block=12), chapter("b", 50)])
    assert result.status == "blocked"


def test_without_a_threshold_the_counts_are_advice():
    result = decide(Policy(), [chapter("a", 10, agree=3, disagree=1)])
    assert result.status == "advisory" and result.weighted == {"agree": 3, "abstain": 0, "disagree": 1, "block": 0}


SURVEY = Policy(**{**POLICY.__dict__, "survey": True})  # the composer's threshold and block share, on a survey


def answered(name: str, roll: int, counts: dict[str, int], *, path=(REGION,)) -> ChapterTally:
    return ChapterTally(f"https://{name}.example/users/{name}", roll, path, True, sum(counts.values()), counts)


def test_a_survey_question_is_its_leading_answer_never_passed_or_failed():
    everyone = decide(SURVEY, [answered("a", 4, {"Weekly": 3, "Monthly": 0}), answered("b", 2, {"Weekly": 1})])
    assert (everyone.status, everyone.leading, everyone.leading_share) == ("survey", ("Weekly",), 1.0)
    assert everyone.agreement is None and "Weekly leads with 100.0%" in everyone.reason
    disagreeing = decide(SURVEY, [answered("a", 4, {"agree": 1, "disagree": 3})])  # would fail as a proposal
    assert disagreeing.status == "survey" and disagreeing.leading == ("disagree",)
    blocking = decide(SURVEY, [answered("a", 4, {"agree": 2, "block": 2})])  # half say block: a tie, not blocked
    assert (blocking.status, blocking.leading, blocking.leading_share) == ("survey", ("agree", "block"), 0.5)
    assert "a tie" in blocking.reason


def test_a_survey_tie_nobody_and_the_weights():
    nobody = decide(Policy(survey=True), [answered("a", 4, {"Yes": 0, "No": 0})])
    assert (nobody.status, nobody.leading, nobody.leading_share) == ("survey", (), None)
    tallies = [answered("a", 100, {"Lima": 2, "Paris": 0}), answered("b", 50, {"Lima": 0, "Paris": 5})]
    assert decide(Policy(survey=True), tallies).leading == ("Paris",)  # ballots: 5 over 2
    shares = decide(Policy(survey=True, weight_mode="chapterShare"), tallies)
    assert shares.leading == ("Lima",) and shares.leading_share == pytest.approx(100 / 150)  # a bloc of 100


def test_a_survey_keeps_its_quorums():
    result = decide(SURVEY, [answered("a", 10, {"Yes": 1}), answered("b", 100, {"Yes": 0})])
    assert result.status == "no quorum" and "turnout quorum" in result.reason and result.leading == ("Yes",)
