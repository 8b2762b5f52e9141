"""A Nextvisit tenant's options (`options = {...}` in its configuration); it logs in with
credentials."""

from __future__ import annotations

from dataclasses import replace
from zoneinfo import ZoneInfo

from pydantic import Field

from gateway.contract import TenantContext, VendorOptions
from gateway.contract.zones import ZoneName

# The API reference has a Tokens section ("login, logout, and token management operations")
# but names none of its paths. The login is asked for at the route the vendor's integrators
# report first, then at the usual names of a token login (Laravel Sanctum's documented mobile
# login is `/sanctum/token`), each next one only when the one before answers 404 or 405: no
# such route. The first that exists is kept.
LOGIN_PATHS = ("/v1/auth/tokens", "/v1/auth/login", "/v1/login", "/v1/sanctum/token")

# Where the adapter puts `vendor_timezone` in the tenant context its mappers are given.
_VENDOR_TIMEZONE = "nextvisit.vendor_timezone"


class NextvisitOptions(VendorOptions):
    # The login route under the base URL, where the deployment's is none of LOGIN_PATHS.
    login_path: str | None = Field(None, pattern=r"^/[A-Za-z0-9/_.~-]*$", max_length=200)
    # The zone of the times the vendor writes without an offset (an IANA name). The docs show
    # every time with `Z` (`"created_at": "2024-01-15T10:30:00Z"`), but an implementation
    # that keeps wall-clock times writes them without one, in its app's own zone: Spring's
    # `LocalDateTime`, EF Core's `DateTime` of kind Unspecified, Django with `USE_TZ = False`
    # (times in its `TIME_ZONE`), Rails with `config.time_zone` and a zone-less `as_json`.
    # That zone is the server's setting, not the practice's (the tenant's `timezone`, which
    # dates of FHIR searches are read in): a hosted app serves every practice in one zone.
    # Default UTC, Laravel's default app timezone.
    vendor_timezone: ZoneName = "UTC"
    # The vendor's request limit, a minute and (or) a second. The docs name none, but a Laravel
    # 10 app's `api` routes carry `throttle:api`, 60 requests a minute (past it, 429 with
    # `Retry-After` until the minute ends), and its answers say the limit (`X-RateLimit-Limit`;
    # the gateway tells the operator when they do and none is set here). Set, every call waits
    # its turn under it, at most max_queue_seconds, instead of meeting the vendor's 429s.
    rate_per_minute: int | None = Field(None, ge=1)
    rate_per_second: int | None = Field(None, ge=1)
    # The longest a request waits for its turn under the limit, or in all for the ends of the
    # windows a vendor's 429s name (`Retry-After`); past it, a 429 at once.
    max_queue_seconds: float = Field(5.0, gt=0)


CREDENTIALS = ("email", "password")  # the account the gateway logs in as (Sanctum token login)


def with_vendor_timezone(ctx: TenantContext, options: NextvisitOptions) -> TenantContext:
    """The tenant context the mappers are given: `ctx` saying the zone of zone-less vendor times."""
    return replace(ctx, extra={**ctx.extra, _VENDOR_TIMEZONE: options.vendor_timezone})


def vendor_timezone(ctx: TenantContext) -> ZoneInfo:
    """The zone the vendor's times without an offset are in (UTC unless the tenant says otherwise)."""
    name = ctx.extra.get(_VENDOR_TIMEZONE)
    return ZoneInfo(name if isinstance(name, str) else "UTC")
