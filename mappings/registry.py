"""The vendors this package provides, for the `fhir_gateway.vendors` entry point. Adding a
vendor is one line here."""

from __future__ import annotations

from typing import Any

from gateway.contract import Vendor
from mappings import dentalpms, nexhealth, nextech, nextvisit

VENDORS: tuple[Vendor[Any], ...] = (dentalpms.VENDOR, nextvisit.VENDOR, nexhealth.VENDOR, nextech.VENDOR)
