"""Unpadded URL-safe base64 (RFC 4648 §5 without ``=``), as JWT segments and opaque cursors use.

NexHealth's bearer tokens are JWTs (RFC 7515 encodes their segments this way); the Dental
PMS cursor is base64url JSON, unpadded so it can sit in a query string unescaped.
"""

from __future__ import annotations

import base64

__all__ = ["b64url_decode", "b64url_encode"]


def b64url_encode(data: bytes) -> str:
    """`data` as unpadded base64url text."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    """The bytes of unpadded (or padded) base64url `text`.

    Strict: raises ``binascii.Error`` (a ``ValueError``) on characters that are not
    base64 or an impossible length, and ``ValueError`` on non-ASCII text.
    """
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
