"""Nextvisit (clinical documentation): patients with free-text allergies, latest medications, encounters."""

from __future__ import annotations

from gateway.contract import Adapter, AdapterConfig, Vendor
from mappings.nextvisit.options import CREDENTIALS, NextvisitOptions


def create_adapter(config: AdapterConfig[NextvisitOptions]) -> Adapter:
    from mappings.nextvisit.adapter import NextvisitAdapter

    return NextvisitAdapter(config)


VENDOR = Vendor("nextvisit", NextvisitOptions, CREDENTIALS, create_adapter)
