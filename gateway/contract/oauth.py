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
    # The authorize parameter(s) carrying the redirect URI: a vendor whose docs name it
    # otherwise than RFC 6749's `redirect_uri` gets it under both names.
    redirect_params: tuple[str, ...] = ("redirect_uri",)
    # The token answer's field(s) holding the access token, tried in order (RFC 6749 §5.1's
    # `access_token` first; a vendor's docs may name it otherwise).
    access_token_fields: tuple[str, ...] = ("access_token",)

    def access_token_of(self, answer: object) -> str | None:
        """The access token a token answer carries, or None."""
        if not isinstance(answer, dict):
            return None
        found = next((answer[name] for name in self.access_token_fields if answer.get(name)), None)
        return found if isinstance(found, str) else None
