"""What an authorization-code vendor declares: its OAuth2 endpoints and our registration there
(RFC 6749 §3). The flow itself is gateway.connect and gateway.upstream.oauth."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class OAuthApp:
    """A vendor's OAuth2 endpoints and this gateway's registration there."""

    authorize_url: str
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    resource: str | None = None
