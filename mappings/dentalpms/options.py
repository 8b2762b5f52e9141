"""A Dental PMS tenant's options (`options = {...}` in its configuration)."""

from __future__ import annotations

from pydantic import Field

from gateway.contract import VendorOptions


class DentalPmsOptions(VendorOptions):
    org_id: str = Field(min_length=1)  # every API path is under /{org_id}


CREDENTIALS = ("api_token",)  # the static bearer token the practice issued
