"""A Nextech tenant's options (`options = {...}` in its configuration)."""

from __future__ import annotations

from pydantic import Field, model_validator

from gateway.contract import VendorOptions


class NextechOptions(VendorOptions):
    """The docs name the authorization request's and the token request's parameters but not
    their addresses. Nextech's own are Azure AD's, under one base (`oauth_base_url`:
    …/oauth2/authorize, …/oauth2/token); a Nextech served elsewhere (django-oauth-toolkit's
    /o/authorize/ and /o/token/, say) is configured with the two URLs themselves."""

    oauth_base_url: str | None = Field(default=None, min_length=1)  # the authorization server (Azure AD style)
    authorize_url: str | None = Field(default=None, min_length=1)  # default: <oauth_base_url>/oauth2/authorize
    token_url: str | None = Field(default=None, min_length=1)  # default: <oauth_base_url>/oauth2/token
    client_id: str = Field(min_length=1)  # this gateway's app registration
    practice_id: str = Field(min_length=1)  # sent as x-nextech-practice-id
    resource: str | None = None  # the API's resource URI, when the authorization server asks for one
    # The docs publish no request limit. One that is enforced all the same (ASP.NET Core's rate
    # limiter answers an empty 503 by default, which reads as an outage) is configured here:
    # calls then wait their turn, at most max_queue_seconds, instead of being refused.
    rate_per_second: int | None = Field(default=None, ge=1)
    # Longest a request waits for the rate limit: the operator's, or the waits a vendor's 429s ask (client.py).
    max_queue_seconds: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _endpoints_known(self) -> NextechOptions:
        if self.oauth_base_url is None and (self.authorize_url is None or self.token_url is None):
            raise ValueError("set oauth_base_url, or both authorize_url and token_url")
        return self

    @property
    def authorize_endpoint(self) -> str:
        return self.authorize_url or f"{(self.oauth_base_url or '').rstrip('/')}/oauth2/authorize"

    @property
    def token_endpoint(self) -> str:
        return self.token_url or f"{(self.oauth_base_url or '').rstrip('/')}/oauth2/token"


CREDENTIALS = ("client_secret",)
