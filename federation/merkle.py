"""Merkle trees as Certificate Transparency builds them (RFC 9162 §2.1): roots and inclusion proofs.

A chapter publishes the anonymous leaves of its ballots and one root over them; anyone
holding a leaf checks with an inclusion proof (an audit path) that it is under the signed
root. The hashes are domain-separated so that a leaf can never pass for an inner node:

- leaf hash: ``SHA-256(0x00 || leaf)``
- node hash: ``SHA-256(0x01 || left || right)``
- the root of ``n`` leaves splits them at ``k``, the largest power of two below ``n``
  (RFC 9162 §2.1.1); the empty tree's root is ``SHA-256()``.

:func:`inclusion_proof` gives the audit path of leaf ``index`` (§2.1.3.1), and
:func:`verify_inclusion` checks it against a root without the other leaves (§2.1.3.2).
Everything is bytes; callers encode leaves canonically (JCS) and hashes as hex.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()
_sha256 = hashlib.sha256  # the loops below name it once (a big tally hashes 200,000 times)


class MerkleError(ValueError):
    """An index out of range, or a proof of the wrong shape."""


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of_hashes(hashes: Sequence[bytes]) -> bytes:
    """The root over leaf hashes, level by level (the same tree as the recursive definition)."""
    if not hashes:
        return EMPTY_ROOT
    level = list(hashes)
    while len(level) > 1:
        # Pairing left to right, with an odd last node carried up unchanged, builds exactly
        # RFC 9162's tree: every left subtree is a complete tree of a power-of-two size (zip drops
        # the odd one, added below).
        paired = [
            _sha256(b"\x01" + left + right).digest() for left, right in zip(level[0::2], level[1::2], strict=False)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def root(leaves: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of ``leaves`` (RFC 9162 MTH)."""
    return root_of_hashes([_sha256(b"\x00" + leaf).digest() for leaf in leaves])


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path of leaf ``index``: sibling hashes from the leaf up to the root."""
    if not 0 <= index < len(leaves):
        raise MerkleError(f"leaf {index} is not among the {len(leaves)} leaves")
    return _path([leaf_hash(leaf) for leaf in leaves], index)


def _path(hashes: Sequence[bytes], index: int) -> list[bytes]:
    if len(hashes) == 1:
        return []
    k = _split(len(hashes))
    if index < k:
        return [*_path(hashes[:k], index), root_of_hashes(hashes[k:])]
    return [*_path(hashes[k:], index - k), root_of_hashes(hashes[:k])]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes) -> bool:
    """True when ``leaf`` is leaf ``index`` of a tree of ``size`` leaves whose root is ``expected_root``."""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    result = leaf_hash(leaf)
    for sibling in proof:
        if sn == 0:
            return False  # a longer path than this tree has
        if fn % 2 == 1 or fn == sn:
            result = node_hash(sibling, result)
            if fn % 2 == 0:  # right-most node of its level: climb until it is a right child
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and result == expected_root
