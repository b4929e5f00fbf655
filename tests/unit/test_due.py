"""Due work (node.core.due): a state graph is checked when it is defined, a row moves only along
it, and the runner isolates a failing item, retries it after a growing pause, never blocking another."""

from __future__ import annotations

import pytest

from node.core.clock import FrozenClock
from node.core.due import DueKind, DueRunner, GraphError, StateGraph, TransitionError
from node.decisions import states as decision_states
from node.polls import worker as poll_worker
from tests.support.c2s import eventually

LINE = StateGraph("a line", initial="new", transitions={"new": ["done"], "done": []}, terminal=["done"])


@pytest.mark.parametrize(
    ("graph", "sentence"),
    [
        (
            {"initial": "a", "transitions": {"a": ["b"], "b": [], "c": ["b"]}, "terminal": ["b"]},
            "a bad graph: no transition leads from 'a' to 'c'",
        ),
        (
            {"initial": "a", "transitions": {"a": ["b", "z"], "b": []}, "terminal": ["b"]},
            "a bad graph: 'a' may go to 'z', which is not one of its states",
        ),
        (
            {"initial": "a", "transitions": {"a": ["b"], "b": ["a"]}, "terminal": ["b"]},
            "a bad graph: 'b' is terminal, yet may go to ['a']",
        ),
        (
            {"initial": "a", "transitions": {"a": ["b"], "b": []}},
            "a bad graph: 'b' has no way out and is not declared terminal",
        ),
        (
            {"initial": "x", "transitions": {"a": []}, "terminal": ["a"]},
            "a bad graph: the initial state 'x' is not one of its states ['a']",
        ),
        (
            {"initial": "a", "transitions": {"a": ["b"], "b": []}, "terminal": ["b", "gone"]},
            "a bad graph: the terminal state 'gone' is not one of its states ['a', 'b']",
        ),
    ],
    ids=["unreachable", "unknown target", "terminal with exits", "dead end", "unknown initial", "unknown terminal"],
)
def test_a_bad_graph_is_refused_when_defined_with_its_sentence(graph, sentence):
    with pytest.raises(GraphError) as refused:
        StateGraph("a bad graph", **graph)
    assert str(refused.value) == sentence


def test_a_move_is_checked_against_the_graph():
    LINE.check("new", "done")
    with pytest.raises(TransitionError, match="'done' may not go to 'new', only to nowhere"):
        LINE.check("done", "new")
    with pytest.raises(TransitionError, match="'gone' is not one of its states"):
        LINE.check("gone", "done")
    assert LINE.sources("done") == ("new",)


def test_the_rooms_graphs_are_defined_and_read_as_their_docstrings_say():
    assert decision_states.COPY.allows("tallied", "rolled") and not decision_states.COPY.allows("frozen", "tallied")
    assert decision_states.PROPOSAL.terminal == {"aggregated", "decided"}
    assert poll_worker.QUESTION.terminal == {"closed"}
    for graph in (decision_states.PROPOSAL, decision_states.COPY, decision_states.EXCLUSIONS):
        for state in graph.states:
            assert state in (decision_states.__doc__ or "")


class Items:
    """Three due items; ``b`` fails until told otherwise. Work on an item marks it done."""

    def __init__(self) -> None:
        self.pending = ["a", "b", "c"]
        self.broken = {"b"}
        self.tries: list[str] = []

    async def due(self) -> list[str]:
        return list(self.pending)

    async def work(self, item: str) -> bool:
        self.tries.append(item)
        if item in self.broken:
            raise RuntimeError(f"{item} is broken")
        self.pending.remove(item)
        return True


@pytest.mark.expect_logged_errors
async def test_the_runner_isolates_a_failing_item_and_retries_it_after_a_growing_pause(fail_on_logged_errors):
    clock, items = FrozenClock(), Items()
    runner = DueRunner(clock)
    kind = DueKind("letters", LINE, items.due, items.work)
    runner.add([kind])

    assert await runner.run([kind]) == 2  # a and c done; b failed, and did not stop c
    assert items.tries == ["a", "b", "c"] and items.pending == ["b"]
    assert runner.failures("letters", "b") == 1

    assert await runner.run([kind]) == 0  # b rests for its pause (2 s)
    assert items.tries == ["a", "b", "c"]
    clock.advance(seconds=2)
    assert await runner.run([kind]) == 0  # tried again, failed again: now it rests 4 s
    assert items.tries.count("b") == 2 and runner.failures("letters", "b") == 2
    clock.advance(seconds=3)
    await runner.run([kind])
    assert items.tries.count("b") == 2

    items.broken.clear()
    clock.advance(seconds=1)
    assert await runner.run([kind]) == 1
    assert items.pending == [] and runner.failures("letters", "b") == 0
    logged = [r.getMessage() for r in fail_on_logged_errors.records]
    assert logged == [
        "letters failed for b (tried again in 2 s; the others go on)",
        "letters failed for b (tried again in 4 s; the others go on)",
    ]


async def test_the_runner_loop_runs_each_kind_on_its_schedule_and_wakes_when_the_clock_moves():
    clock = FrozenClock()
    woken: list[int] = []
    runner = DueRunner(clock, on_done=lambda: woken.append(1), idle_seconds=30)
    often, seldom = Items(), Items()
    seldom.broken.clear()
    often.broken.clear()
    often.pending, seldom.pending = ["x"], ["y"]
    runner.add(
        [DueKind("often", LINE, often.due, often.work), DueKind("seldom", LINE, seldom.due, seldom.work, every=60)]
    )
    with pytest.raises(ValueError, match="named 'often' was added already"):
        runner.add([DueKind("often", LINE, often.due, often.work)])

    runner.loop.start()
    try:
        await _until(lambda: not often.pending and not seldom.pending)
        assert woken
        often.pending.append("x2")
        seldom.pending.append("y2")
        clock.advance(seconds=1)  # the loop waits through the clock: moved, it runs again at once
        await _until(lambda: not often.pending)
        assert seldom.pending == ["y2"]  # not before its minute
        clock.advance(seconds=60)
        await _until(lambda: not seldom.pending)
    finally:
        await runner.loop.stop()


async def _until(condition, timeout: float = 5.0) -> None:
    async def check() -> bool:
        return bool(condition())

    await eventually(check, timeout=timeout, interval=0.01)
