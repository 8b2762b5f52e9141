"""The credentials of an ``Authorization: Bearer <token>`` header (RFC 6750 §2.1).

The auth scheme is case-insensitive (RFC 9110 §11.1), so ``bearer`` and ``BEARER`` count;
the token is taken with surrounding whitespace trimmed.
"""

from __future__ import annotations

__all__ = ["bearer_credentials"]


def bearer_credentials(authorization: str) -> str | None:
    """The token of a Bearer `authorization` header value, or None for another scheme.

    ``"Bearer abc"`` -> ``"abc"``; ``"Bearer"`` -> ``""`` (a Bearer header without a token);
    ``"Basic abc"``, ``""`` -> None.
    """
    scheme, _, credentials = authorization.partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None
