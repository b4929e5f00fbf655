"""The registry: features declare what they build on, and a wrong order fails at start with a sentence."""

from __future__ import annotations

import pytest


def test_a_feature_given_before_what_it_builds_on_fails_at_start_with_a_sentence():
    """decisions wraps the polls room's ballots and the tree's links: in the wrong order, or alone, the
    application refuses to build and says what to list first (never a KeyError deep in a wrapper)."""
    from node import branches, decisions, polls
    from node.core.registry import RegistryError
    from node.web.app import build_registry

    for features in ((decisions,), (decisions, polls, branches), (polls, decisions, branches)):
        with pytest.raises(RegistryError, match="must be registered before it") as refused:
            build_registry(features)
        assert "decisions" in str(refused.value)
    assert "decisions" in build_registry((polls, branches, decisions)).features
