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


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def test_small_roots_written_out_by_hand():
    """Each root spelled out from RFC 9162 §2.1.1, with hashlib alone: leaf = SHA-256(0x00 || d),
    node = SHA-256(0x01 || left || right), split at the largest power of two below n."""
    d = _leaves(7)
    leaf = [_sha256(b"\x00" + x) for x in d]

    def node(left: bytes, right: bytes) -> bytes:
        return _sha256(b"\x01" + left + right)

    expected = {
        0: bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),  # SHA-256 of nothing
        1: leaf[0],
        2: node(leaf[0], leaf[1]),
        3: node(node(leaf[0], leaf[1]), leaf[2]),
        4: node(node(leaf[0], leaf[1]), node(leaf[2], leaf[3])),
        5: node(node(node(leaf[0], leaf[1]), node(leaf[2], leaf[3])), leaf[4]),
        6: node(node(node(leaf[0], leaf[1]), node(leaf[2], leaf[3])), node(leaf[4], leaf[5])),
        7: node(node(node(leaf[0], leaf[1]), node(leaf[2], leaf[3])), node(node(leaf[4], leaf[5]), leaf[6])),
    }
    for n, root in expected.items():
        assert merkle.root(d[:n]) == root, n
        assert reference_root(d[:n]) == root, n  # the recursive reference agrees with the hand-written roots
    assert merkle.leaf_hash(d[0]) == leaf[0] and merkle.node_hash(leaf[0], leaf[1]) == expected[2]


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
    hashed = [_sha256(b"\x00" + x) for x in leaves]  # written out, not with the code under test
    inner, right = _sha256(b"\x01" + hashed[0] + hashed[1]), _sha256(b"\x01" + hashed[2] + hashed[3])
    top = _sha256(b"\x01" + inner + right)
    assert merkle.root(leaves) == top
    # a forger presenting the inner node's preimage as a two-leaf tree's "leaf"
    forged_leaf = hashed[0] + hashed[1]
    assert not merkle.verify_inclusion(forged_leaf, 0, 2, [right], top)
    assert merkle.verify_inclusion(leaves[0], 0, 4, [hashed[1], right], top)  # the real leaf with its real path


@given(st.lists(st.binary(max_size=40), min_size=1, max_size=80), st.data())
def test_any_tree_proves_any_of_its_leaves(leaves, data):
    index = data.draw(st.integers(0, len(leaves) - 1))
    top = merkle.root(leaves)
    assert top == reference_root(leaves)
    assert merkle.verify_inclusion(leaves[index], index, len(leaves), merkle.inclusion_proof(leaves, index), top)
