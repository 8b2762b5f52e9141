"""The CCD of an encounter as Nextech returns it: an HTML5 document (vendor-docs/nextech-api.txt).

``<!DOCTYPE html>``, ``<title>Continuity of Care Document</title>``, an ``<h1>``, a ``<div
class="header">`` with the patient and the encounter, then one ``<div class="section"
data-section="<name>">`` with an ``<h2>`` and a ``<table>`` per section in ``CCD_SECTIONS``
order (only the requested one with ``section``). Allergies, Medications and Problems are the
record as it stands now, not as of the encounter (no history is kept). Every clinic string is
HTML-escaped (``html.escape``, quotes too). The document is the same for every request (no
generation timestamp). ``hostile`` adds ``HOSTILE_SNIPPETS``: markup a careless vendor might
pass through, for testing the gateway's sanitising.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from html import escape
from zoneinfo import ZoneInfo

from sandboxes.clinic import Clinic, Encounter, Location, Patient, Provider, VitalSigns
from sandboxes.nextech.readings import CcdLayout, CcdTitles
from sandboxes.nextech.render import department_of

__all__ = [
    "CCD_SECTIONS",
    "HOSTILE_SNIPPETS",
    "SECTION_TITLES",
    "SPACED_SECTIONS",
    "CcdLayout",
    "CcdRenderer",
    "section_names",
]

#: The CCD section names, as ``/encounters/categories`` lists them and ``section`` takes them.
CCD_SECTIONS: tuple[str, ...] = ("Allergies", "Medications", "Problems", "VitalSigns", "Encounter", "PlanOfCare")
#: Section name -> the ``<h2>`` title of its block.
SECTION_TITLES: dict[str, str] = {
    "Allergies": "Allergies",
    "Medications": "Medications",
    "Problems": "Problems",
    "VitalSigns": "Vital Signs",
    "Encounter": "Encounter",
    "PlanOfCare": "Plan of Care",
    "Vital Signs": "Vital Signs",
    "Social History": "Social History",
    "Plan of Treatment": "Plan of Treatment",
}
#: The section names with ``section_names="spaced"``: spaces in names, and a Social History section.
SPACED_SECTIONS: tuple[str, ...] = (
    "Allergies",
    "Medications",
    "Problems",
    "Vital Signs",
    "Social History",
    "Encounter",
    "Plan of Treatment",
)


def section_names(style: str) -> tuple[str, ...]:
    """The section names of a ``section_names`` style: ``compact`` or ``spaced``."""
    if style == "compact":
        return CCD_SECTIONS
    if style == "spaced":
        return SPACED_SECTIONS
    raise ValueError(f"section_names is 'compact' or 'spaced', not {style!r}")


_HOSTILE_HEAD = '<link rel=stylesheet href="https://evil.example/x.css">'
_HOSTILE_BODY = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">Open full chart</a>',
    '<iframe src="https://evil.example"></iframe>',
    '<div style="background-image:url(https://evil.example)">Practice letterhead</div>',
)
#: Markup ``hostile_html=True`` puts into every CCD, verbatim: in the head, and right after the header.
HOSTILE_SNIPPETS: tuple[str, ...] = (_HOSTILE_HEAD, *_HOSTILE_BODY)

_GENDER_TEXT = {
    "male": "Male",
    "female": "Female",
    "non_binary": "Non-binary",
    "other": "Other",
    "unknown": "Unknown",
    "prefer_not_to_say": "Declined to specify",
}
_ENCOUNTER_STATUS = {"finished": "Completed", "arrived": "In progress"}
#: Sections that show the patient's whole record, the same for each of its encounters.
_PER_PATIENT = frozenset({"Allergies", "Medications", "Problems"})


def _us_date(value: date | None, none: str = "") -> str:
    return value.strftime("%m/%d/%Y") if value is not None else none


def _pairs(css: str, pairs: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>\n" for label, value in pairs)
    return f'<table class="{css}">\n{body}</table>\n'


@dataclass(frozen=True)
class _Table:
    """A section's table: its columns, its rows (none: the `empty` row), and a note (its caption)."""

    columns: list[str]
    rows: list[list[str]]
    empty: str
    note: str | None = None

    def head(self) -> str:
        return "".join(f"<th>{escape(column)}</th>" for column in self.columns)

    def body(self) -> str:
        if self.rows:
            return "".join(
                "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>\n" for row in self.rows
            )
        return f'<tr><td colspan="{len(self.columns)}">{escape(self.empty)}</td></tr>\n'

    def note_row(self) -> str:
        """The note as a row of its own (in layouts where the caption is the section's title)."""
        return (
            f'<tr><td class="note" colspan="{len(self.columns)}">{escape(self.note)}</td></tr>\n' if self.note else ""
        )

    def html(self) -> str:
        caption_row = f"<caption>{escape(self.note)}</caption>\n" if self.note else ""
        return (
            f"<table>\n{caption_row}<thead><tr>{self.head()}</tr></thead>\n<tbody>\n{self.body()}</tbody>\n</table>\n"
        )


def _table(columns: list[str], rows: list[list[str]], empty: str, caption: str | None = None) -> _Table:
    return _Table(columns, rows, empty, caption)


class CcdRenderer:
    """Renders the CCD of an encounter of `clinic`; each section block is rendered once and kept."""

    def __init__(
        self,
        clinic: Clinic,
        hostile: bool,
        names: tuple[str, ...] = CCD_SECTIONS,
        layout: CcdLayout = "divs",
        titles: CcdTitles = "names",
    ) -> None:
        self.hostile = hostile
        self.names = names
        self.layout = layout
        self.titles = titles
        self.zone = ZoneInfo(clinic.timezone)
        self.providers: dict[int, Provider] = {provider.id: provider for provider in clinic.providers}
        self.locations: dict[int, Location] = {location.id: location for location in clinic.locations}
        # Keyed by (per patient, patient or encounter id, section): bounded by the clinic's size.
        self.blocks: dict[tuple[bool, int, str], str] = {}
        self.sections: dict[str, Callable[[Patient, Encounter], _Table]] = {
            "Allergies": self._allergies,
            "Medications": self._medications,
            "Problems": self._problems,
            "VitalSigns": self._vital_signs,
            "Encounter": self._encounter,
            "PlanOfCare": self._plan_of_care,
            "Vital Signs": self._vital_signs,
            "Social History": self._social_history,
            "Plan of Treatment": self._plan_of_care,
        }

    def ccd(self, patient: Patient, encounter: Encounter, section: str | None) -> str:
        """The whole document, or only `section`'s block after the header."""
        names = self.names if section is None else (section,)
        head_extra = _HOSTILE_HEAD if self.hostile else ""
        hostile = "\n".join(_HOSTILE_BODY) + "\n" if self.hostile else ""
        sections = "".join(self.block(patient, encounter, name) for name in names)
        if self.layout == "title_rows":  # every section's rows in the one table
            sections = f'<table class="sections">\n{sections}</table>\n'
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            "<title>Continuity of Care Document</title>\n"
            f"{head_extra}"
            "<style>body{font-family:Arial,sans-serif}table{border-collapse:collapse;margin-bottom:1em}"
            "th,td{border:1px solid #999;padding:2px 6px;text-align:left}</style>\n"
            "</head>\n<body>\n<h1>Continuity of Care Document</h1>\n"
            f"{self.header(patient, encounter)}{hostile}{sections}</body>\n</html>\n"
        )

    def when(self, instant: datetime) -> str:
        """Local date and time in the clinic's zone: ``03/15/2025 10:30 AM CDT``."""
        return instant.astimezone(self.zone).strftime("%m/%d/%Y %I:%M %p %Z")

    def doctor(self, provider_id: int) -> str:
        doctor = self.providers[provider_id]
        return f"{doctor.first_name} {doctor.last_name}, {doctor.designation}"

    @staticmethod
    def visit_type(encounter: Encounter) -> str:
        return f"{encounter.type_text} ({encounter.type_code})" if encounter.type_code else encounter.type_text

    def header(self, patient: Patient, encounter: Encounter) -> str:
        name = " ".join(part for part in (patient.first_name, patient.middle_name, patient.last_name) if part)
        who = _pairs(
            "patient",
            [
                ("Patient", name),
                ("Date of Birth", _us_date(patient.birth_date, "Unknown")),
                ("Gender", _GENDER_TEXT.get(patient.gender or "", "Unknown")),
                ("Chart Number", patient.chart_number),
            ],
        )
        visit = _pairs(
            "encounter",
            [
                ("Encounter", self.visit_type(encounter)),
                ("Date", self.when(encounter.start)),
                ("Provider", self.doctor(encounter.provider_id)),
                ("Department", department_of(encounter.type_code)),
                ("Location", self.locations[encounter.location_id].name),
                ("Note", "Locked" if encounter.locked else "Unlocked"),
            ],
        )
        return f'<div class="header">\n{who}{visit}</div>\n'

    def block(self, patient: Patient, encounter: Encounter, name: str) -> str:
        per_patient = name in _PER_PATIENT
        key = (per_patient, patient.id if per_patient else encounter.id, name)
        cached = self.blocks.get(key)
        if cached is None:
            cached = self._laid_out(name, self.sections[name](patient, encounter))
            self.blocks[key] = cached
        return cached

    def _laid_out(self, name: str, table: _Table) -> str:
        """A section's block as ``ccd_layout`` writes it, titled as ``ccd_titles`` says."""
        title = SECTION_TITLES[name] + (f" ({len(table.rows)})" if self.titles == "counted" else "")
        if self.layout == "captions":
            return (
                f"<table>\n<caption>{title}</caption>\n<thead><tr>{table.head()}</tr></thead>\n"
                f"<tbody>\n{table.note_row()}{table.body()}</tbody>\n</table>\n"
            )
        if self.layout == "title_rows":
            title_row = f'<tr><th colspan="{len(table.columns)}">{title}</th></tr>\n'
            return f"{title_row}{table.note_row()}<tr>{table.head()}</tr>\n{table.body()}"
        return f'<div class="section" data-section="{name}">\n<h2>{title}</h2>\n{table.html()}</div>\n'

    # ---- the sections

    def _allergies(self, patient: Patient, encounter: Encounter) -> _Table:
        """Every non-deleted allergy, inactive ones too; none: what the allergy review says."""
        rows = [
            [
                allergy.substance,
                allergy.reaction or "",
                (allergy.severity or "").capitalize(),
                "Active" if allergy.active else "Inactive",
                _us_date(allergy.noted_on),
            ]
            for allergy in patient.allergies
            if not allergy.deleted
        ]
        empty = "No known drug allergies" if patient.allergy_review == "nkda" else "No allergy information recorded"
        return _table(["Substance", "Reaction", "Severity", "Status", "Noted"], rows, empty)

    def _medications(self, patient: Patient, encounter: Encounter) -> _Table:
        """Every non-deleted medication; PRN ones say "as needed" after the frequency."""
        rows = []
        for medication in patient.medications:
            if medication.deleted:
                continue
            as_needed = "as needed" if medication.prn else None
            frequency = ", ".join(part for part in (medication.frequency, as_needed) if part)
            status = medication.status.replace("_", " ").capitalize()
            rows.append(
                [
                    medication.name,
                    medication.strength or "",
                    frequency,
                    medication.route or "",
                    status,
                    _us_date(medication.start),
                    _us_date(medication.stop),
                ]
            )
        return _table(
            ["Medication", "Strength", "Frequency", "Route", "Status", "Start", "Stop"], rows, "No medications recorded"
        )

    def _problems(self, patient: Patient, encounter: Encounter) -> _Table:
        rows = [
            [
                problem.name,
                problem.icd10 or "",
                problem.snomed or "",
                problem.status.capitalize(),
                _us_date(problem.onset),
                _us_date(problem.resolved_on),
            ]
            for problem in patient.problems
            if not problem.deleted
        ]
        return _table(
            ["Problem", "ICD-10-CM", "SNOMED CT", "Status", "Onset", "Resolved"], rows, "No problems recorded"
        )

    def closest_vitals(self, patient: Patient, encounter: Encounter) -> VitalSigns | None:
        """The non-deleted reading closest to the encounter start (no time: local noon), ties to the earlier."""
        best: tuple[float, VitalSigns] | None = None
        for reading in patient.vitals:
            if reading.deleted:
                continue
            local = datetime.combine(reading.taken_on, reading.taken_at or time(12), tzinfo=self.zone)
            distance = abs((local - encounter.start).total_seconds())
            if best is None or distance < best[0]:
                best = (distance, reading)
        return best[1] if best else None

    def _vital_signs(self, patient: Patient, encounter: Encounter) -> _Table:
        reading = self.closest_vitals(patient, encounter)
        if reading is None:
            return _table(["Measurement", "Value", "Unit"], [], "No vital signs recorded")
        taken_at = " " + reading.taken_at.strftime("%I:%M %p") if reading.taken_at else ""
        measured = [
            ("Systolic blood pressure", reading.systolic, "mmHg"),
            ("Diastolic blood pressure", reading.diastolic, "mmHg"),
            ("Heart rate", reading.pulse, "/min"),
            ("Respiratory rate", reading.respiration_rate, "/min"),
            ("Oxygen saturation (SpO2)", reading.spo2, "%"),
            ("Body temperature", reading.temperature_f, "°F"),
            ("Body height", reading.height_in, "in"),
            ("Body weight", reading.weight_lb, "lb"),
            ("Body mass index (BMI)", reading.bmi, "kg/m2"),
            ("BMI percentile", reading.bmi_percentile, "%"),
        ]
        rows = [[label, str(value), unit] for label, value, unit in measured if value is not None]
        caption = f"Taken {_us_date(reading.taken_on)}{taken_at}"
        return _table(["Measurement", "Value", "Unit"], rows, "No measurements", caption=caption)

    def _encounter(self, patient: Patient, encounter: Encounter) -> _Table:
        status = _ENCOUNTER_STATUS.get(encounter.status, encounter.status.capitalize())
        rows = [
            [
                self.visit_type(encounter),
                self.when(encounter.start),
                self.when(encounter.end) if encounter.end else "",
                self.doctor(encounter.provider_id),
                department_of(encounter.type_code),
                self.locations[encounter.location_id].name,
                status,
            ]
        ]
        return _table(["Type", "Start", "End", "Provider", "Department", "Location", "Status"], rows, "")

    def _social_history(self, patient: Patient, encounter: Encounter) -> _Table:
        return _table(["Item", "Details"], [], "No social history recorded")

    def _plan_of_care(self, patient: Patient, encounter: Encounter) -> _Table:
        rows = [["Reason for visit", encounter.reason]] if encounter.reason else []
        return _table(["Item", "Details"], rows, "No plan of care recorded")
