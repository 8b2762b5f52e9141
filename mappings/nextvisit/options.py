"""A Nextvisit tenant's options: none beyond its base URL; it logs in with credentials."""

from __future__ import annotations

from gateway.contract import NoOptions

NextvisitOptions = NoOptions
CREDENTIALS = ("email", "password")  # the account the gateway logs in as (Sanctum token login)
