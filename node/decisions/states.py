"""A decision's life cycle at this node, as states: the graphs its rows move along.

Each graph is checked when this module is imported (:class:`node.core.due.StateGraph`), and
the store functions move a row only along it (``copy_store``, ``store``, ``received``); the
worker (:mod:`node.decisions.worker`) is the runner's kinds of due work over these states.

``PROPOSAL``, a proposal at this node (``decision_proposals.state``)::

    open        the vote runs, or this level waits for its subtree    -> aggregated, decided
    aggregated  a level between: its signed aggregate went up          terminal
    decided     the issuer: its signed outcome is kept and went down   terminal

A chapter's own part is its copy's; the outcome that comes down to a chapter or a level
between is kept as a document (once) and moves no state there.

``COPY``, this chapter's copy for its members (``decision_copies.state``)::

    frozen   the roll is frozen; the signed roll has not gone up yet   -> rolled
    rolled   the roll went up; the tally goes at endTime              -> tallied
    tallied  the signed tally and its leaves went up                   -> rolled (new exclusions: counted again)

``EXCLUSIONS``, at the issuer, a proposal's shared members (``decision_proposals.exclusions_due``)::

    settled  (0)  the exclusions sent match every roll received    -> due, final
    due      (1)  a roll arrived since they were worked out          -> settled, due, final
    final    (2)  at endTime the final exclusions went down (chapters
                  build their tallies on them); a roll after the close
                  can only lose its shared members                   -> due

``REFUSAL``, a roll or tally this level refused (``decision_refusals.sent_at``)::

    untold  (sent_at NULL)  -> told
    told    (sent_at set)   terminal: its chapter was sent the signed refusal
"""

from __future__ import annotations

from node.core.due import StateGraph

PROPOSAL = StateGraph(
    "a decision's proposal at this node",
    initial="open",
    transitions={"open": ["aggregated", "decided"], "aggregated": [], "decided": []},
    terminal=["aggregated", "decided"],
)
COPY = StateGraph(
    "this chapter's copy of a proposal",
    initial="frozen",
    transitions={"frozen": ["rolled"], "rolled": ["tallied"], "tallied": ["rolled"]},
)
EXCLUSIONS = StateGraph(
    "the issuer's exclusions of a proposal",
    initial="settled",
    transitions={"settled": ["due", "final"], "due": ["settled", "due", "final"], "final": ["due"]},
    meanings={"settled": "exclusions_due = 0", "due": "exclusions_due = 1", "final": "exclusions_due = 2"},
)
REFUSAL = StateGraph(
    "a refusal of a chapter's roll or tally",
    initial="untold",
    transitions={"untold": ["told"], "told": []},
    terminal=["told"],
    meanings={"untold": "sent_at IS NULL", "told": "sent_at set"},
)
