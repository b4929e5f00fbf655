"""Proportional decisions: proposals down the branch tree, signed tallies up, checkable at every level.

Built so far, as pure code every level shares:

- ``outcome``: the arithmetic from chapter tallies to an outcome: quorums (chapters, roll,
  turnout), ``ballots`` or ``chapterShare`` weights, the issuer's weights per branch, the
  block share and the pass threshold; ``passed``, ``failed``, ``blocked``, ``no quorum`` or
  ``advisory``.
- ``tally``: anonymous ballot leaves (a commitment to proposal, chapter, receipt, question
  and choice), their RFC 9162 Merkle root and a voter's inclusion proof, the roll's hash,
  participation tags (one per member and proposal, to catch a member counted in two
  chapters), and the checks a parent makes of a chapter's tally against its leaves.

To come (issue 12), through the registry's hooks: a proposal is a Question or Survey with a
``decision`` object (``registry.object_composers``), passed down the tree with the issuer's
FEP-8b32 proof; each chapter publishes its own copy and counts ballots with the polls room's
code; tallies and outcomes travel as FEP-8b32-signed objects. Nothing is registered yet.
"""
