"""The ActivityStreams documents this node publishes for projects and drafts.

A project is a public ``Article`` of the node's Group actor: ``name`` its title, ``content`` its aim
and the default it is voted against (HTML, escaped from what was typed), ``url`` its page, to the
public with the followers in ``cc`` (the outbox's default addressing). A draft is an ``Article``
too, with ``inReplyTo`` and ``context`` the project's id (so Mastodon shows it under the project
and threads its comments), ``url`` the draft's page. A revision is an ``Update`` of the draft's
Article with the new ``name`` and ``content`` (the outbox sets ``updated``).

Mastodon shows an Article as its title and a link: the pages hold the full text. The outbox
composes the Create (:func:`project_body`, :func:`draft_body` are its C2S bodies); what it does not
know of (``url`` to a page, ``context``) is set with :func:`finish` on the composed document and
the copy embedded in its activity.
"""

from __future__ import annotations

import html

from node.content.forms import paragraphs
from node.core.i18n import N_, Language
from outbox.compose import Composed


def project_page(object_id: str) -> str:
    return f"/projects/{object_id.rsplit('/', 1)[-1]}"


def draft_page(object_id: str) -> str:
    return f"/drafts/{object_id.rsplit('/', 1)[-1]}"


def project_content(aim: str, default: str, language: Language) -> str:
    label = html.escape(language.gettext(N_("If no draft wins:")))
    return f"{paragraphs(aim)}<p><strong>{label}</strong></p>{paragraphs(default)}"


def project_body(*, title: str, aim: str, default: str, language: Language) -> dict:
    return {"type": "Article", "name": title, "content": project_content(aim, default, language)}


def draft_body(*, project_id: str, title: str, text: str) -> dict:
    return {"type": "Article", "name": title, "content": paragraphs(text), "inReplyTo": project_id}


def revision_body(draft_id: str, *, title: str, text: str) -> dict:
    """The Update of a draft's Article for its new revision."""
    return {"type": "Update", "object": {"id": draft_id, "name": title, "content": paragraphs(text)}}


def finish(composed: Composed, object_id: str, base_url: str, page: str, *, context: str | None = None) -> dict:
    """Give the new Article its id (chosen when the row was made: a project awaiting approval has one
    before it is published), its ``url`` (its page) and ``context``, in the document and in its Create."""
    extra = {"id": object_id, "url": f"{base_url}{page}", **({"context": context} if context else {})}
    document = composed.created
    document.update(extra)
    embedded = composed.activity.get("object")
    if isinstance(embedded, dict):
        embedded.update(extra)
    return document


def page_of_document(object_id: str, document: dict | None) -> str | None:
    """The page of a project's or a draft's Article (its ``url`` on this node's host), else None."""
    url = (document or {}).get("url")
    if not isinstance(url, str) or not isinstance(object_id, str):
        return None
    host = object_id.split("/objects/", 1)[0]
    for prefix in ("/projects/", "/drafts/"):
        if url.startswith(host + prefix):
            return url[len(host) :]
    return None
