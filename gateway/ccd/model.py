"""What a CCD is rendered from: FHIR resources and the facts of the request, nothing else."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True)
class Custodian:
    """The organization that keeps the records (the tenant's practice)."""

    name: str
    identifier_system: str  # the tenant's identifier system: roots the organization's ids


@dataclass(frozen=True)
class CcdRequest:
    patient: JSON
    resources: Sequence[JSON]  # everything known about the patient, any FHIR type
    custodian: Custodian
    created: datetime  # timezone-aware: the document's effectiveTime
    service_period: tuple[str | None, str | None]  # FHIR date(Time)s: documentationOf/serviceEvent
    encounter: JSON | None = None  # the encompassing encounter of an encounter CCD
    sections: frozenset[str] | None = None  # section keys to keep (None: all)
    zone: str = "UTC"  # the practice's time zone: narrative times are shown on its clock
    title: str = "Continuity of Care Document"
    software_version: str = "0.1.0"
    document_id: str = field(default_factory=lambda: str(uuid.uuid4()).upper())
    set_id: str = field(default_factory=lambda: str(uuid.uuid4()).upper())
