"""Vendor HTML made safe to serve: no script, no event handlers, no external loads (pure).

The vendor's CCD HTML goes through Ammonia (nh3) with a safelist of document tags and
attributes: scripts, styles, iframes, objects, forms and every `on*` handler go; inline
`style` goes (CSS can load URLs); links keep only in-document `#fragments`, so nothing points
elsewhere and no `javascript:` survives; images go (their `src` would load from outside).
"""

from __future__ import annotations

import nh3

TAGS = {
    "div", "span", "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "caption", "colgroup", "col", "thead", "tbody", "tfoot", "tr", "th", "td",
    "ul", "ol", "li", "dl", "dt", "dd", "b", "i", "u", "strong", "em", "small", "sub", "sup",
    "a", "section", "header", "footer", "article", "abbr", "pre", "code", "blockquote",
}  # fmt: skip
ATTRIBUTES = {
    "*": {"class", "id", "title", "lang", "data-section"},
    "a": {"href"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
}


def _fragment_only(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "href":
        return value if value.startswith("#") else None
    return value


def sanitize(html: str) -> str:
    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        attribute_filter=_fragment_only,
        url_schemes=set(),
        link_rel=None,
        strip_comments=True,
        clean_content_tags={"script", "style", "title", "template", "noscript"},  # gone with their content
    )


def page(title: str, body_html: str) -> str:
    """A minimal standalone HTML document around sanitized content."""
    from html import escape

    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head><body>{body_html}</body></html>"
    )
