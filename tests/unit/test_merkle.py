"""RFC 9162 Merkle trees: roots as the RFC defines them, audit paths that verify, and nothing else that does."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from federation import merkle


def reference_root(leaves: list[bytes]) -> bytes:
    """MTH straight from RFC 9162 §2.1.1, recursively."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + reference_root(leaves[:k]) + reference_root(leaves[k:])).digest()


def _leaves(n: int) -> list[bytes]:
    return [f"leaf {i}".encode() for i in range(n)]


def test_roots_are_rfc_9162_roots():
    for n in range(70):
        assert merkle.root(_leaves(n)) == reference_root(_leaves(n)), n


def test_every_leaf_of_every_small_tree_proves_its_inclusion():
    for n in range(1, 40):
        leaves, top = _leaves(n), merkle.root(_leaves(n))
        for index in range(n):
            proof = merkle.inclusion_proof(leaves, index)
            assert merkle.verify_inclusion(leaves[index], index, n, proof, top), (n, index)


def test_a_changed_leaf_a_wrong_index_or_a_cut_proof_does_not_verify():
    leaves = _leaves(13)
    top, proof = merkle.root(leaves), merkle.inclusion_proof(leaves, 5)
    assert not merkle.verify_inclusion(b"leaf 5 changed", 5, 13, proof, top)
    assert not merkle.verify_inclusion(leaves[5], 6, 13, proof, top)
    assert not merkle.verify_inclusion(leaves[5], 5, 13, proof[:-1], top)
    assert not merkle.verify_inclusion(leaves[5], 5, 13, [*proof, proof[0]], top)
    assert not merkle.verify_inclusion(leaves[5], 13, 13, proof, top)


def test_an_inner_node_never_passes_for_a_leaf():
    leaves = _leaves(4)
    inner = merkle.node_hash(merkle.leaf_hash(leaves[0]), merkle.leaf_hash(leaves[1]))
    # a forger presenting the inner node's preimage as a two-leaf tree's "leaf"
    forged_leaf = merkle.leaf_hash(leaves[0]) + merkle.leaf_hash(leaves[1])
    proof = [merkle.node_hash(merkle.leaf_hash(leaves[2]), merkle.leaf_hash(leaves[3]))]
    assert merkle.node_hash(inner, proof[0]) == merkle.root(leaves)
    assert not merkle.verify_inclusion(forged_leaf, 0, 2, proof, merkle.root(leaves))


@given(st.lists(st.binary(max_size=40), min_size=1, max_size=80), st.data())
def test_any_tree_proves_any_of_its_leaves(leaves, data):
    index = data.draw(st.integers(0, len(leaves) - 1))
    top = merkle.root(leaves)
    assert top == reference_root(leaves)
    assert merkle.verify_inclusion(leaves[index], index, len(leaves), merkle.inclusion_proof(leaves, index), top)
