"""The minutes form takes a vote's page address or its id alike (issue 21: it refused ``/polls/...``)."""

from __future__ import annotations

import pytest

from node.content.forms import vote_id

BASE = "https://london.example"
ID = f"{BASE}/objects/0b0c9f7e-1d2a-4c53-9a53-2f4f1c8e6a11"


@pytest.mark.parametrize(
    "pasted",
    [
        ID,
        "/polls/0b0c9f7e-1d2a-4c53-9a53-2f4f1c8e6a11",
        f"{BASE}/polls/0b0c9f7e-1d2a-4c53-9a53-2f4f1c8e6a11",
        f"{BASE}/surveys/0b0c9f7e-1d2a-4c53-9a53-2f4f1c8e6a11/",
        "/decisions/0b0c9f7e-1d2a-4c53-9a53-2f4f1c8e6a11",
    ],
)
def test_a_votes_page_address_is_its_id(pasted):
    assert vote_id(pasted, BASE) == ID


def test_other_links_are_kept_as_they_are():
    assert vote_id("https://elsewhere.example/notes/7", BASE) == "https://elsewhere.example/notes/7"
    assert vote_id("/polls/not-a-uuid!", BASE) == "/polls/not-a-uuid!"
