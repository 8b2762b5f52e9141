"""Redirect URIs at the authorize step: which ones are acceptable, and adding parameters to one."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

__all__ = ["is_loopback", "is_valid_redirect", "with_query"]

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def is_valid_redirect(uri: str) -> bool:
    """An absolute http(s) URI without a fragment."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.fragment and "#" not in uri


def is_loopback(uri: str) -> bool:
    """``http://`` to 127.0.0.1, localhost or [::1], any port and path: always allowed (RFC 8252 §7.3)."""
    parts = urlsplit(uri)
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return False
    return parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS


def with_query(uri: str, params: dict[str, str]) -> str:
    """`uri` with `params` appended to its own query."""
    parts = urlsplit(uri)
    extra = urlencode(params)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
