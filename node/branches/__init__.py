"""The branch tree (to come): chapters, regions, nations and the international, linked by their admins.

Its home in the house, and the hooks it will use: a child's ``Join`` of a parent's Group
actor is a link request (``registry.inbound`` / ``registry.answer_composers``); signed
``BranchReport``s travel up (FEP-8b32 proofs, ``federation.proofs``); a linked child's public
posts are relayed to this node's followers once by a ``registry.relay_rules`` entry, recorded
in the same transaction as the received post (``inbox.relay``). Nothing is registered yet.
"""
