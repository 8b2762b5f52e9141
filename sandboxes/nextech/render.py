"""Clinic records -> Nextech JSON (vendor-docs/nextech-api.txt shows the patient and encounter models).

Ids are the clinic's: ``patientId``, ``encounterId`` and ``doctorId`` are the clinic ids.
Keys come in the documented order, spelled as ``Shapes.key_case`` says. ``Shapes`` and
``SearchReading`` (``readings``) choose how ids, dates and absent values are written and how
names are stored.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime
from zoneinfo import ZoneInfo

from sandboxes.clinic import CLINIC_TIMEZONE, Encounter, Patient, Provider
from sandboxes.nextech.readings import DOB_SERVER_ZONE, DOCUMENTED, DOCUMENTED_SHAPES, SearchReading, Shapes
from sandboxes.toolkit.aliases import JsonObject
from sandboxes.toolkit.phones import format_us_phone
from sandboxes.toolkit.timestamps import utc_millis

_ZONE = ZoneInfo(CLINIC_TIMEZONE)
_SERVER_ZONE = ZoneInfo(DOB_SERVER_ZONE)
_OPTIONAL = frozenset(
    {"middleName", "dob", "ssn", "homePhone", "doctorProfessionalDesignation", "chartNumber", "encounterLocked"}
)

__all__ = ["department_of", "encounter_summary", "locked_value", "patient_doc"]


def _ssn(patient_id: int) -> str | None:
    """Fake but well-formed ``9AA-GG-SSSS`` (area 900-999 is never issued), unique; none for every fourth id."""
    if patient_id % 4 == 0:
        return None
    return f"{900 + patient_id % 100}-{10 + (patient_id * 7) % 90:02d}-{patient_id % 10000:04d}"


def _id(value: int, shapes: Shapes) -> int | str:
    return str(value) if shapes.ids_as_strings else value


_NO_DATE = {"null": None, "min_value": "0001-01-01T00:00:00", "zero": "0000-00-00"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: ``DateTime.MinValue`` as a Microsoft JSON date: what a non-nullable column's stand-in becomes.
_MIN_VALUE_MICROSOFT = "/Date(-62135596800000)/"


def _microsoft(moment: datetime) -> str:
    """The Microsoft JSON date of an instant: ``/Date(<milliseconds since 1970 UTC>)/`` (the JSON
    writes the slashes escaped, ``\\/``, which decodes the same)."""
    return f"/Date({(moment - _EPOCH) // timedelta(milliseconds=1)})/"


def _dob(birth: date | None, shapes: Shapes) -> str | int | list[int] | None:
    """By default a datetime at UTC midnight; local midnight with its offset; a bare date; or
    UTC midnight in the clinic's zone; or the server's midnight in UTC, with or without `Z`
    (``dob_midnight``). No date: as ``unknown_dates`` says."""
    if birth is None:
        if shapes.timestamps == "microsoft" and shapes.unknown_dates == "min_value":
            return _MIN_VALUE_MICROSOFT
        return _NO_DATE[shapes.unknown_dates]
    if shapes.dob_midnight != "utc":
        utc = datetime.combine(birth, time(), _SERVER_ZONE).astimezone(UTC).replace(tzinfo=None)
        return utc.isoformat() + ("Z" if shapes.dob_midnight == "server_in_utc" else "")
    if shapes.timestamps == "local":
        return _instant(datetime.combine(birth, time(), UTC), shapes)
    if shapes.timestamps == "offset":
        return datetime.combine(birth, time(), _ZONE).isoformat()
    if shapes.timestamps in ("naive", "ruby"):  # a bare date (Ruby: a Date's to_s)
        return birth.isoformat()
    if shapes.timestamps == "http":
        return format_datetime(datetime.combine(birth, time(), UTC), usegmt=True)
    if shapes.timestamps == "jackson_arrays":  # a LocalDate
        return [birth.year, birth.month, birth.day]
    if shapes.timestamps in ("microsoft", "epoch_millis", "epoch_seconds", "gson"):
        return _instant(datetime.combine(birth, time(), UTC), shapes)
    return f"{birth.isoformat()}T00:00:00.000Z"


def _instant(moment: datetime, shapes: Shapes) -> str | int | list[int]:
    if shapes.timestamps == "jackson_arrays":  # a LocalDateTime holding UTC, as JavaTimeModule writes it
        utc = moment.astimezone(UTC)
        fields = [utc.year, utc.month, utc.day, utc.hour, utc.minute]
        if utc.second or utc.microsecond:
            fields.append(utc.second)
        if utc.microsecond:
            fields.append(utc.microsecond * 1000)
        return fields
    if shapes.timestamps == "ruby":  # Time#to_s, as the json gem writes a Time without ActiveSupport
        return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
    if shapes.timestamps == "gson":  # DateFormat.DEFAULT in Locale.US, JDK 9-19 (CLDR)
        utc = moment.astimezone(UTC)
        return f"{utc:%b} {utc.day}, {utc.year}, {(utc.hour + 11) % 12 + 1}:{utc:%M:%S %p}"
    if shapes.timestamps == "epoch_millis":  # Jackson's java.util.Date: a JSON number
        return (moment - _EPOCH) // timedelta(milliseconds=1)
    if shapes.timestamps == "epoch_seconds":  # an INT unix-time column through PDO: a string
        return str((moment - _EPOCH) // timedelta(seconds=1))
    if shapes.timestamps in ("offset", "local"):
        return moment.astimezone(_ZONE).isoformat(timespec="seconds")
    if shapes.timestamps == "naive":
        return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    if shapes.timestamps == "http":
        return format_datetime(moment.astimezone(UTC), usegmt=True)
    if shapes.timestamps == "microsoft":
        return _microsoft(moment)
    return utc_millis(moment)


def _without_absent(doc: JsonObject, shapes: Shapes) -> JsonObject:
    if not shapes.absent_nulls:
        return doc
    return {key: value for key, value in doc.items() if value is not None or key not in _OPTIONAL}


def patient_doc(
    patient: Patient, shapes: Shapes = DOCUMENTED_SHAPES, reading: SearchReading = DOCUMENTED
) -> JsonObject:
    """A ``/api/search`` result: ``dob`` is a datetime at UTC midnight, ``homePhone`` the home phone only."""
    doc = {
        "patientId": _id(patient.id, shapes),
        "chartNumber": shapes.chart_number(patient.id, patient.chart_number),
        "firstName": reading.served(patient.first_name),
        "lastName": reading.served(patient.last_name),
        "middleName": reading.served(patient.middle_name),
        "dob": _dob(patient.birth_date, shapes),
        "ssn": _ssn(patient.id),
        "homePhone": format_us_phone(patient.home_phone),
    }
    return shapes.keyed(_without_absent(doc, shapes))


def department_of(type_code: str | None) -> str:
    """The ``department`` of an encounter with this CDT code (None: a medical visit)."""
    if type_code is None:
        return "Primary Care"
    return {"D4": "Periodontics", "D7": "Oral Surgery", "D8": "Orthodontics"}.get(type_code[:2], "General Dentistry")


def locked_value(encounter_id: int, locked: bool) -> bool | str:
    """``encounterLocked`` as the sandbox sends it: a boolean or one of two string spellings."""
    kind = encounter_id % 3
    if kind == 0:
        return locked
    if kind == 1:
        return "true" if locked else "false"
    return "True" if locked else "False"


def _locked(encounter: Encounter, shapes: Shapes) -> bool | str | int | list[int] | None:
    """``encounterLocked`` as ``locked_values`` says."""
    if shapes.locked_values == "letters":
        return "T" if encounter.locked else "F"
    if shapes.locked_values == "states":
        return "Locked" if encounter.locked else "Open"
    if shapes.locked_values == "stamps":
        return _instant(encounter.end or encounter.start, shapes) if encounter.locked else None
    return locked_value(encounter.id, encounter.locked)


def encounter_summary(
    encounter: Encounter, doctor: Provider, location_name: str, shapes: Shapes = DOCUMENTED_SHAPES
) -> JsonObject:
    """The ``summary`` of an encounter search result."""
    summary = {
        "encounterId": _id(encounter.id, shapes),
        "doctorId": _id(doctor.id, shapes),
        "doctorFirstName": doctor.first_name,
        "doctorLastName": doctor.last_name,
        "doctorProfessionalDesignation": doctor.designation,
        "department": department_of(encounter.type_code),
        "location": location_name,
        "encounterDate": encounter.start.astimezone(_ZONE).date().isoformat()
        if shapes.encounter_dates == "day"
        else _instant(encounter.start, shapes),
        "type": encounter.type_text,
        "encounterLocked": _locked(encounter, shapes),
    }
    return shapes.keyed(_without_absent(summary, shapes))
