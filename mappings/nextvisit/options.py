"""A Nextvisit tenant's options (`options = {...}` in its configuration); it logs in with
credentials."""

from __future__ import annotations

from pydantic import Field

from gateway.contract import VendorOptions

# The API reference has a Tokens section ("login, logout, and token management operations")
# but names none of its paths. The login is asked for at the route the vendor's integrators
# report first, then at the usual names of a token login (Laravel Sanctum's documented mobile
# login is `/sanctum/token`), each next one only when the one before answers 404 or 405: no
# such route. The first that exists is kept.
LOGIN_PATHS = ("/v1/auth/tokens", "/v1/auth/login", "/v1/login", "/v1/sanctum/token")


class NextvisitOptions(VendorOptions):
    # The login route under the base URL, where the deployment's is none of LOGIN_PATHS.
    login_path: str | None = Field(None, pattern=r"^/[A-Za-z0-9/_.~-]*$", max_length=200)


CREDENTIALS = ("email", "password")  # the account the gateway logs in as (Sanctum token login)
