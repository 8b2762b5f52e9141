"""Vendor name → its simulator. Adding a vendor's sandbox is one line here."""

from __future__ import annotations

from gateway.contract import SandboxFactory
from sandboxes import dentalpms, nexhealth, nextech, nextvisit

SANDBOXES: dict[str, SandboxFactory] = {
    "dentalpms": dentalpms.create_sandbox,
    "nextvisit": nextvisit.create_sandbox,
    "nexhealth": nexhealth.create_sandbox,
    "nextech": nextech.create_sandbox,
}
