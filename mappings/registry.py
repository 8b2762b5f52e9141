"""Vendor name → its entry points. Adding a vendor is one line here."""

from __future__ import annotations

from mappings import dentalpms, nexhealth, nextech, nextvisit
from mappings.base import Vendor

VENDORS: dict[str, Vendor] = {v.name: v for v in (dentalpms.VENDOR, nextvisit.VENDOR, nexhealth.VENDOR, nextech.VENDOR)}


def vendor(name: str) -> Vendor:
    try:
        return VENDORS[name]
    except KeyError:
        raise KeyError(f"unknown vendor '{name}'; known: {', '.join(sorted(VENDORS))}") from None
