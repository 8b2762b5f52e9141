"""The clinic as Nextech holds it: searchable patients, their chart encounters, rendered items kept.

Soft-deleted clinic patients do not exist here. A patient's chart encounters are the
clinic's ``finished`` and ``arrived`` (in progress) visits, ordered by start, then id:
``planned`` and ``cancelled`` visits have no chart encounter. Nothing is ever written, so
every rendering is kept once made (the keys are bounded by the clinic's size).
"""

from __future__ import annotations

import base64
import html
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, replace
from datetime import datetime

import orjson

from sandboxes.clinic import Clinic, Encounter, Patient
from sandboxes.nextech.ccd_html import CCD_SECTIONS, CcdRenderer
from sandboxes.nextech.readings import (
    DOCUMENTED,
    DOCUMENTED_SHAPES,
    CcdCharset,
    CcdEscaping,
    SearchReading,
    Shapes,
)
from sandboxes.nextech.render import encounter_summary, patient_doc
from sandboxes.nextech.search import SearchKeys, folded_term, name_parts

__all__ = ["Chart", "PatientRow"]

_CHART_STATUSES = frozenset({"finished", "arrived"})


@dataclass
class PatientRow:
    patient: Patient
    doc: bytes  # the rendered ``/api/search`` result
    keys: SearchKeys
    encounters: list[Encounter]  # chart encounters, by start then id
    starts: list[datetime]  # their starts, for bisecting


# The header's and each section block's wrapper, and the markup inside it (which holds no `</div>`).
_BLOCK = re.compile(r'(<div class="(?:header|section)"[^>]*>\n)(.*?)(</div>\n)', re.DOTALL)


def _escaped(ccd: str, escaping: CcdEscaping) -> str:
    """The CCD as ``ccd_escaping`` serves it: as it is, entity-escaped whole, its blocks' markup
    escaped inside the page, or JSON-encoded once more."""
    if escaping == "entities":
        return html.escape(ccd)
    if escaping == "template":
        return _BLOCK.sub(lambda found: found[1] + html.escape(found[2]) + found[3], ccd)
    if escaping == "json":
        return orjson.dumps(ccd).decode()
    return ccd


_UTF8_META = '<meta charset="utf-8">'


def _bytes(ccd: str, charset: CcdCharset) -> bytes:
    """The CCD's bytes in ``ccd_charset``: UTF-8; Windows-1252, its ``<meta>`` saying so and
    what it cannot hold as numeric character references; or UTF-16LE with no byte order mark."""
    if charset == "windows-1252":
        return ccd.replace(_UTF8_META, '<meta charset="windows-1252">').encode("cp1252", "xmlcharrefreplace")
    if charset == "utf-16le":
        return ccd.encode("utf-16-le")
    return ccd.encode()


def _by_start(encounter: Encounter) -> tuple[datetime, int]:
    return encounter.start, encounter.id


class Chart:
    """The clinic as Nextech renders it: search rows, encounter windows, kept encounter items."""

    def __init__(
        self,
        clinic: Clinic,
        hostile: bool,
        sections: tuple[str, ...] = CCD_SECTIONS,
        far_visit_at: datetime | None = None,
        reading: SearchReading = DOCUMENTED,
        shapes: Shapes = DOCUMENTED_SHAPES,
    ) -> None:
        self.clinic = clinic
        self.reading = reading
        self.shapes = shapes
        self.ccd = CcdRenderer(clinic, hostile, sections, shapes.ccd_layout, shapes.ccd_titles)
        self.rows: dict[int, PatientRow] = {}
        #: (patient id, encounter id) of the added far-future visit, when `far_visit_at` is given.
        self.far_visit: tuple[int, int] | None = None
        for patient in clinic.patients:
            if patient.deleted:
                continue
            chart = sorted(
                (encounter for encounter in patient.encounters if encounter.status in _CHART_STATUSES), key=_by_start
            )
            keys = SearchKeys(
                name_parts(patient.first_name, reading) if reading.fields == "names" else (),
                name_parts(patient.last_name, reading),
                reading.stored(shapes.chart_number(patient.id, patient.chart_number) or ""),
                reading.match,
            )
            doc = orjson.dumps(patient_doc(patient, shapes, reading))
            self.rows[patient.id] = PatientRow(patient, doc, keys, chart, [encounter.start for encounter in chart])
        if far_visit_at is not None:
            self._add_far_visit(far_visit_at)
        self.ordered = sorted(
            self.rows.values(),
            key=lambda row: (row.keys.last[0], reading.stored(row.patient.first_name.strip()), row.patient.id),
        )
        self.items: dict[tuple[int, str | None], bytes] = {}

    def _add_far_visit(self, at: datetime) -> None:
        """An open (unlocked) chart encounter at `at` for the first patient with a chart: a copy
        of their latest one, with a new id. The clinic itself is not changed."""
        row = next(row for _, row in sorted(self.rows.items()) if row.encounters)
        latest = row.encounters[-1]
        new_id = max(e.id for p in self.clinic.patients for e in p.encounters) + 1
        visit = replace(latest, id=new_id, start=at, end=None, status="arrived", locked=False)
        row.encounters = sorted([*row.encounters, visit], key=_by_start)
        row.starts = [encounter.start for encounter in row.encounters]
        self.far_visit = (row.patient.id, new_id)

    def search(self, term: str) -> list[PatientRow]:
        """Every patient the term finds, by last name, first name (folded), then id; no paging."""
        query = folded_term(term, self.reading)
        if not query:
            return []
        return [row for row in self.ordered if row.keys.matches(query)]

    def window(self, row: PatientRow, start: datetime | None, end: datetime) -> list[Encounter]:
        """The patient's chart encounters starting in ``[start, end]`` (no `start`: from the beginning)."""
        low = 0 if start is None else bisect_left(row.starts, start)
        high = bisect_right(row.starts, end)
        return row.encounters[low:high] if low < high else []

    def nothing_in(self, row: PatientRow, encounter: Encounter, section: str) -> bool:
        """Whether the encounter's `section` has nothing recorded: its block renders only its
        table's "No ... recorded" row."""
        return "<td colspan=" in self.ccd.block(row.patient, encounter, section)

    def item(self, row: PatientRow, encounter: Encounter, section: str | None) -> bytes:
        """One encounter search result, ``{"summary", "ccd"}``, serialized."""
        key = (encounter.id, section)
        cached = self.items.get(key)
        if cached is None:
            doctor = self.ccd.providers[encounter.provider_id]
            location = self.ccd.locations[encounter.location_id].name
            summary = encounter_summary(encounter, doctor, location, self.shapes)
            unsigned = self.shapes.unlocked_ccd == "null" and not encounter.locked
            empty = (
                section is not None
                and self.shapes.empty_sections == "null"
                and self.nothing_in(row, encounter, section)
            )
            ccd = None if unsigned or empty else self.ccd.ccd(row.patient, encounter, section)
            if ccd is not None:
                ccd = _escaped(ccd, self.shapes.ccd_escaping)
            if ccd is not None and self.shapes.ccd_encoding == "base64":  # a byte[] as JSON writes it
                ccd = base64.b64encode(_bytes(ccd, self.shapes.ccd_charset)).decode("ascii")
            cached = orjson.dumps(self.shapes.keyed({"summary": summary, "ccd": ccd}))
            self.items[key] = cached
        return cached
