"""Dental PMS (practice management): patients, allergies, medications, vital signs, problems."""

from __future__ import annotations

from gateway.contract import Adapter, AdapterConfig, Vendor
from mappings.dentalpms.options import CREDENTIALS, DentalPmsOptions


def create_adapter(config: AdapterConfig[DentalPmsOptions]) -> Adapter:
    from mappings.dentalpms.adapter import DentalPmsAdapter

    return DentalPmsAdapter(config)


VENDOR = Vendor("dentalpms", DentalPmsOptions, CREDENTIALS, create_adapter)
