"""HTML that is safe to publish and to show: Mastodon's allow-list, enforced by nh3 (Ammonia)."""

from __future__ import annotations

import nh3

ALLOWED_TAGS = {"p", "br", "a", "span", "em", "strong", "ul", "ol", "li", "blockquote", "pre", "code"}
ALLOWED_ATTRIBUTES = {"a": {"href", "class"}, "span": {"class"}}


def clean_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )
