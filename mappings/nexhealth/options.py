"""A NexHealth tenant's options (`options = {...}` in its configuration)."""

from __future__ import annotations

from pydantic import Field

from gateway.contract import VendorOptions


class NexHealthOptions(VendorOptions):
    subdomain: str = Field(min_length=1)  # the institution
    location_id: int  # the location this tenant serves
    location_strict: bool = False  # hide patients not registered at this location
    # provider new patients are created under (default: the first listed; none where there is no list)
    provider_id: int | None = None
    # Vendor limits are 100 requests a second and 1,000 a minute per key (getting-started docs).
    rate_per_second: int = Field(100, ge=1)
    rate_per_minute: int = Field(1000, ge=1)
    max_queue_seconds: float = Field(5.0, gt=0)  # longest a request waits for the rate limit


CREDENTIALS = ("api_key",)
