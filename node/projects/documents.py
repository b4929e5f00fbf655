"""The ActivityStreams documents this node publishes for projects and drafts.

A project is a public ``Article`` of the node's Group actor: ``name`` its title, ``content`` its aim
and the default it is voted against (HTML, escaped from what was typed), ``defaultOption`` the
default alone (as text: the term a member's ``Create`` uses to start a project, see
``node.projects``), ``drafts`` its drafts collection, ``url`` its page, to the public with the
followers in ``cc``. A draft is an ``Article`` too, with ``inReplyTo`` and ``context`` the
project's id (so Mastodon shows it under the project and threads its comments), ``url`` the
draft's page. A revision is an ``Update`` of the draft's Article with the new ``name`` and
``content`` and ``updated`` set (:func:`revision_update`).

Mastodon shows an Article as its title and a link: the pages hold the full text. Each builder
takes an :class:`outbox.compose.Authoring` (the node's Group actor, now) and returns the document
with its activity, for :mod:`node.projects.making` to record in the caller's transaction; the
documents' ids are chosen by the caller (a project awaiting approval has one before it is
published).
"""

from __future__ import annotations

import html

from node.content.forms import paragraphs
from node.core import vocabulary
from node.core.clock import iso
from node.core.i18n import N_, Language
from node.core.vocabulary import AS_CONTEXT, PUBLIC, with_language
from outbox.compose import Authoring, Composed, create_of


def project_page(object_id: str) -> str:
    return f"/projects/{object_id.rsplit('/', 1)[-1]}"


def draft_page(object_id: str) -> str:
    return f"/drafts/{object_id.rsplit('/', 1)[-1]}"


def drafts_of(project_id: str) -> str:
    """The project's drafts collection (``node.projects.collection``)."""
    return f"{project_id}/drafts"


def project_content(aim: str, default: str, language: Language) -> str:
    label = html.escape(language.gettext(N_("If no draft wins:")))
    return f"{paragraphs(aim)}<p><strong>{label}</strong></p>{paragraphs(default)}"


def _article(octx: Authoring, object_id: str, body: dict, page: str, context=AS_CONTEXT) -> tuple[dict, dict]:
    """The node's new public Article (to the public, its followers in ``cc``) and its Create."""
    addressing = {"to": [PUBLIC], "cc": [octx.urls.followers(octx.username)]}
    document = {
        "@context": context,
        "id": object_id,
        "type": "Article",
        "attributedTo": octx.actor_id,
        **body,
        "published": iso(octx.now),
        "url": f"{octx.urls.base}{page}",
        **addressing,
    }
    document = with_language(document, octx.config.node.language)
    return document, create_of(octx, document, addressing)


def project_article(
    octx: Authoring, project_id: str, *, title: str, aim: str, default: str, language: Language
) -> tuple[dict, dict]:
    body = {
        "name": title,
        "content": project_content(aim, default, language),
        "defaultOption": default,
        "drafts": drafts_of(project_id),
    }
    return _article(octx, project_id, body, project_page(project_id), vocabulary.context())


def draft_article(octx: Authoring, draft_id: str, *, project_id: str, title: str, text: str) -> tuple[dict, dict]:
    body = {"name": title, "content": paragraphs(text), "inReplyTo": project_id, "context": project_id}
    return _article(octx, draft_id, body, draft_page(draft_id))


def revision_update(octx: Authoring, stored: dict, *, title: str, text: str) -> tuple[dict, dict]:
    """The draft's Article with its new revision (``stored``: the Article as published), and its Update."""
    updated = {**stored, "name": title, "content": paragraphs(text), "updated": iso(octx.now)}
    updated = with_language(updated, octx.config.node.language)
    update = vocabulary.activity(
        "Update",
        octx.urls,
        actor=octx.actor_id,
        now=octx.now,
        object=updated,
        context_value=stored.get("@context", AS_CONTEXT),
        **{name: stored[name] for name in vocabulary.SERVED_ADDRESS_FIELDS if name in stored},
    )
    return updated, update


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
