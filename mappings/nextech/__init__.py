"""Nextech (practice EHR): OAuth2 with rotating refresh tokens, patients by term, encounter CCDs."""

from __future__ import annotations

from gateway.contract import Adapter, AdapterConfig, Vendor
from mappings.nextech.client import oauth_app
from mappings.nextech.options import CREDENTIALS, NextechOptions


def create_adapter(config: AdapterConfig[NextechOptions]) -> Adapter:
    from mappings.nextech.adapter import NextechAdapter

    return NextechAdapter(config)


VENDOR = Vendor("nextech", NextechOptions, CREDENTIALS, create_adapter, oauth=oauth_app)
