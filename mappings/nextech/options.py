"""A Nextech tenant's options (`options = {...}` in its configuration)."""

from __future__ import annotations

from pydantic import Field

from gateway.contract import VendorOptions


class NextechOptions(VendorOptions):
    oauth_base_url: str = Field(min_length=1)  # the authorization server (…/oauth2/authorize, …/oauth2/token)
    client_id: str = Field(min_length=1)  # this gateway's app registration
    practice_id: str = Field(min_length=1)  # sent as x-nextech-practice-id
    resource: str | None = None  # the API's resource URI, when the authorization server asks for one


CREDENTIALS = ("client_secret",)
