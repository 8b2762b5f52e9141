"""What every section needs besides its resources: whose ids these are, and whose clock.

Entry ids are uuid5 names of the practice's identifier system and the FHIR resource, so the
same record renders with the same id each time and two practices never share one (receivers
reconcile entries by id). Narrative times are shown on the practice's clock, as people there
read them; the coded `effectiveTime`s keep their exact offsets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from gateway.ccd.datatypes import stable_ii
from gateway.ccd.nodes import Element
from gateway.search.dates import parse_fhir_date


@dataclass(frozen=True)
class RenderContext:
    scope: str  # the custodian's identifier system
    zone: tzinfo

    def entry_id(self, *parts: str) -> Element:
        return stable_ii(self.scope, *parts)

    def when(self, fhir: str | None) -> str:
        """A FHIR date or dateTime for the narrative: dates as written, times on the local clock."""
        if not fhir:
            return ""
        if "T" not in fhir:
            return fhir
        try:
            moment = parse_fhir_date(fhir, self.zone).start.astimezone(self.zone)
        except (ValueError, OverflowError):  # unreadable, or too near year 1 to shift (0001-01-01T00:00Z)
            return fhir
        return moment.strftime("%Y-%m-%d %H:%M ") + (moment.tzname() or moment.strftime("%z"))
