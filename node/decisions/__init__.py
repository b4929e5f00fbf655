"""Proportional decisions (to come): proposals down the branch tree, signed tallies up.

Its home in the house, and the hooks it will use: a proposal is a Question or Survey with
a ``decision`` object (``registry.object_composers``); each chapter's copy counts ballots
with the polls room's counting code, and an ``after_handled`` hook on ``Create`` ties a
counted ballot to its receipt; tallies and outcomes are FEP-8b32-signed objects checked at
every level. Nothing is registered yet.
"""
