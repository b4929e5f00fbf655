"""The branch tree's own addresses: a node's children collection and its tree (``Urls.collection``)."""

from __future__ import annotations

from node.core.urls import Urls


def children(urls: Urls, username: str) -> str:
    """The node's linked children (an ``OrderedCollection``; ``Remove`` from it unlinks a child)."""
    return urls.collection(username, "children")


def tree(urls: Urls, username: str) -> str:
    """The node's subtree with every signed report kept."""
    return urls.collection(username, "tree")
