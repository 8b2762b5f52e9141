"""The NexHealth institution in memory: the clinic rendered once, searchable, plus created patients.

The store holds its own mutable copy, so creates never touch the cached ``Clinic``.
Soft-deleted clinic patients (and their appointments) do not exist here. Lists are ordered
by id; appointments by ``start_time``, then id. Records are kept and searched in the
documented form and written as the ``Reading`` says (``style.styled``); ``name`` and
``phone_number`` match as its ``name_*`` and ``phones`` switches say.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import orjson

from sandboxes.clinic import Clinic, Encounter, Patient
from sandboxes.nexhealth.formats import phone_digits
from sandboxes.nexhealth.ids import (
    APPOINTMENT_ID_OFFSET,
    APPOINTMENT_TYPE_ID_OFFSET,
    LOCATION_IDS,
    MAIN_LOCATION_ID,
    OTHER_LOCATION_ID,
    PATIENT_ID_OFFSET,
    PROVIDER_ID_OFFSET,
)
from sandboxes.nexhealth.names import name_words, person_key, query_words, read_word_matches
from sandboxes.nexhealth.new_patient import NewPatient
from sandboxes.nexhealth.patient_edit import PatientEdit
from sandboxes.nexhealth.readings import DOCUMENTED, Reading
from sandboxes.nexhealth.render import (
    appointment_doc,
    clinic_patient_doc,
    created_patient_doc,
    provider_doc,
    upcoming_entry,
)
from sandboxes.nexhealth.style import styled
from sandboxes.toolkit.aliases import JsonObject
from sandboxes.toolkit.caches import bounded_cache, memoized
from sandboxes.toolkit.phones import format_us_phone
from sandboxes.toolkit.rows import Row
from sandboxes.toolkit.timestamps import iso_date, utc_millis

__all__ = ["Appointment", "Flags", "PatientRow", "Store", "Terms"]

#: ``new_patient``, ``non_patient``, ``inactive``: each None (not given) or the value to keep.
Flags = tuple[bool | None, bool | None, bool | None]
#: ``name``, ``email``, ``phone_number``, ``date_of_birth``, ``foreign_id``: each None when not given.
Terms = tuple[str | None, str | None, str | None, str | None, str | None]


@dataclass(eq=False)
class PatientRow(Row):
    """One patient as NexHealth holds it, with its search keys and rendered bytes."""

    upcoming: list[JsonObject]
    words: frozenset[str]
    email: str | None  # case-folded
    phones: frozenset[str]
    person: tuple[str, str, str] | None  # compact folded first, last, date of birth
    plain: bytes = b""
    with_upcoming: bytes = b""
    reading: Reading = field(default=DOCUMENTED)

    @property
    def id(self) -> int:
        return int(self.doc["id"])

    def render(self, upcoming: bool) -> bytes:
        if not self.plain:
            self.plain = orjson.dumps(styled(self.doc, self.reading))
            self.with_upcoming = orjson.dumps(styled({**self.doc, "upcoming_appts": self.upcoming}, self.reading))
        return self.with_upcoming if upcoming else self.plain


@dataclass(eq=False)
class Appointment:
    start: datetime
    doc: JsonObject
    rendered: bytes


def _by_start(appointment: Appointment) -> tuple[datetime, int]:
    return appointment.start, appointment.doc["id"]


class Store:
    def __init__(
        self,
        clinic: Clinic,
        clock: Callable[[], float],
        reading: Reading = DOCUMENTED,
        not_inserted: frozenset[int] = frozenset(),
    ) -> None:
        self.clock = clock
        self.reading = reading
        self.not_inserted = not_inserted  # clinic ids served as not yet in the practice system
        self.timezone = clinic.timezone
        self.start_of_today = datetime.combine(clinic.today, time(0, 0), tzinfo=UTC)
        live = [patient for patient in clinic.patients if not patient.deleted]
        # Provider records predate the clinic's first patient record by a day.
        first_record = min(
            (patient.created_at for patient in clinic.patients), default=datetime(2020, 1, 1, tzinfo=UTC)
        )
        synced_at = first_record - timedelta(days=1)
        self.providers: dict[int, JsonObject] = {}
        for provider in clinic.providers:
            self.providers[provider.id + PROVIDER_ID_OFFSET] = provider_doc(provider, synced_at)
        self.provider_bytes = {pid: orjson.dumps(styled(doc, reading)) for pid, doc in self.providers.items()}
        visit_types = sorted({encounter.type_text for patient in live for encounter in patient.encounters})
        self.appointment_types = {
            name: type_id for type_id, name in enumerate(visit_types, APPOINTMENT_TYPE_ID_OFFSET + 1)
        }
        self.types_by_id: dict[int, JsonObject] = {
            type_id: {"id": type_id, "name": name, "minutes": None} for name, type_id in self.appointment_types.items()
        }
        self.appointments: dict[int, Appointment] = {}
        self.rows: dict[int, PatientRow] = {}
        for patient in live:
            appointments = [self._appointment(encounter, patient) for encounter in patient.encounters]
            for appointment in appointments:
                self.appointments[appointment.doc["id"]] = appointment
            self._add(self._clinic_row(patient, appointments))
        by_location: dict[int, list[Appointment]] = {MAIN_LOCATION_ID: [], OTHER_LOCATION_ID: []}
        for appointment in sorted(self.appointments.values(), key=_by_start):
            by_location[appointment.doc["location_id"]].append(appointment)
        self.schedule = {
            location: ([appointment.start for appointment in day], day) for location, day in by_location.items()
        }
        self.locations = LOCATION_IDS
        self._queries: MutableMapping[tuple[int, bool, Flags, Terms], list[PatientRow]] = bounded_cache()
        self._word_hits: MutableMapping[str, frozenset[int]] = bounded_cache()

    # ---- the clinic, rendered

    def _appointment(self, encounter: Encounter, patient: Patient) -> Appointment:
        provider = self.providers[encounter.provider_id + PROVIDER_ID_OFFSET]
        type_id = self.appointment_types[encounter.type_text]
        doc = appointment_doc(encounter, patient, provider, type_id, self.timezone, self.start_of_today)
        if self.reading.appointment_times == "local":  # the office's wall time, no offset
            zone = ZoneInfo(self.timezone)
            for key in ("start_time", "end_time", "checkin_at"):
                if doc[key] is not None:
                    moment = datetime.fromisoformat(doc[key].replace("Z", "+00:00")).astimezone(zone)
                    doc[key] = moment.replace(tzinfo=None).isoformat(timespec="milliseconds")
        if self.reading.provider_names == "absent":  # `provider_id` alone: the name is `/providers`'
            del doc["provider_name"]
        return Appointment(encounter.start, doc, orjson.dumps(styled(doc, self.reading)))

    def _clinic_row(self, patient: Patient, appointments: list[Appointment]) -> PatientRow:
        planned = {
            encounter.id + APPOINTMENT_ID_OFFSET for encounter in patient.encounters if encounter.status == "planned"
        }
        upcoming = [
            upcoming_entry(appointment.doc)
            for appointment in sorted(appointments, key=_by_start)
            if appointment.doc["id"] in planned
        ]
        phones = (patient.mobile_phone, patient.home_phone)
        doc = clinic_patient_doc(patient, inserted=patient.id not in self.not_inserted)
        doc["email"] = self.stored_email(doc["email"])
        if self.reading.inactive == "nullable" and doc["inactive"] is False and patient.id % 4 == 0:
            doc["inactive"] = None  # never marked either way by the practice system
        return PatientRow(
            doc=doc,
            upcoming=upcoming,
            words=name_words(patient.first_name, patient.last_name, patient.preferred_name, reading=self.reading),
            email=patient.email.casefold() if patient.email else None,
            phones=frozenset(phone for phone in phones if phone),
            person=person_key(patient.first_name, patient.last_name, iso_date(patient.birth_date)),
            reading=self.reading,
        )

    def _add(self, row: PatientRow) -> None:
        self.rows[row.id] = row

    # ---- patients

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def _word_hits_of(self, query_word: str) -> frozenset[int]:
        """Ids of the patients with a name word this query word matches."""
        return frozenset(
            row.id
            for row in self.rows.values()
            if any(read_word_matches(query_word, name_word, self.reading) for name_word in row.words)
        )

    def _name_hits(self, query: str) -> frozenset[int]:
        """Ids of the patients matching EVERY word of the query (ANY, under ``name_tokens="any"``)."""
        found: frozenset[int] | None = None
        for query_word in query_words(query, self.reading):
            hits = memoized(self._word_hits, query_word, partial(self._word_hits_of, query_word))
            if found is not None:
                hits = found | hits if self.reading.name_tokens == "any" else found & hits
            found = hits
        return found or frozenset()

    def _phone_hit(self, row: PatientRow, query: str) -> bool:
        """``phone_number``: digits against digits (``"e164"`` too: ``+1`` read off as a number's
        country code), or (``phones="as_stored"``) the text as stored."""
        if self.reading.phones == "as_stored":
            return any(format_us_phone(phone) == query for phone in row.phones)
        digits = phone_digits(query)
        return bool(digits) and digits in row.phones

    def search(self, location: int, strict: bool, flags: Flags, terms: Terms) -> list[PatientRow]:
        """Filters AND-ed, then search terms (name, email, phone, date of birth, foreign id) OR-ed."""
        key = (location, strict, flags, terms)
        return memoized(self._queries, key, partial(self._search, location, strict, flags, terms))

    def _search(self, location: int, strict: bool, flags: Flags, terms: Terms) -> list[PatientRow]:
        new_patient, non_patient, inactive = flags
        name, email, phone, birth_date, foreign_id = terms
        named = self._name_hits(name) if name is not None else frozenset()
        email_key = email.casefold() if email is not None else None
        fold_emails = self.reading.emails == "folded"
        searching = any(term is not None for term in terms)

        def keep(row: PatientRow) -> bool:
            doc = row.doc
            if strict and location not in doc["location_ids"]:
                return False
            if new_patient is not None and doc["bio"]["new_patient"] != new_patient:
                return False
            if non_patient is not None and doc["bio"]["non_patient"] != non_patient:
                return False
            if inactive is not None and doc["inactive"] != inactive:
                return False
            if not searching:
                return True
            return (
                row.id in named
                or (email_key is not None and row.email == email_key and (fold_emails or doc["email"] == email))
                or (phone is not None and self._phone_hit(row, phone))
                or (birth_date is not None and doc["bio"]["date_of_birth"] == birth_date)
                or (foreign_id is not None and doc["foreign_id"] == foreign_id)
            )

        return [row for row in self.rows.values() if keep(row)]

    def duplicate(self, patient: NewPatient | PatientRow, but: PatientRow | None = None) -> bool:
        """Whether any patient (inactive ones too; `but` aside) has the same email, a same phone,
        or is the same person."""
        if isinstance(patient, PatientRow):
            email_key, phones, person = patient.email, patient.phones, patient.person
        else:
            email_key, phones = patient.email.casefold(), frozenset({patient.phone})
            person = person_key(patient.first_name, patient.last_name, patient.birth_date)
        return any(
            (email_key is not None and row.email == email_key)
            or bool(phones & row.phones)
            or (person is not None and row.person == person)
            for row in self.rows.values()
            if row is not but
        )

    def holds_contact(self, email: str | None, phone: str | None) -> bool:
        """Whether any patient (the one being edited too) has `email` or `phone` (None: not given)."""
        email_key = email.casefold() if email is not None else None
        return any(
            (email_key is not None and row.email == email_key) or (phone is not None and phone in row.phones)
            for row in self.rows.values()
        )

    def create(self, location: int, patient: NewPatient) -> PatientRow:
        """A new patient with the next id after the highest in use, searchable at once."""
        patient_id = max(self.rows, default=PATIENT_ID_OFFSET) + 1
        doc = created_patient_doc(patient_id, location, patient, self.now())
        doc["email"] = self.stored_email(doc["email"])
        row = PatientRow(
            doc=doc,
            upcoming=[],
            words=name_words(patient.first_name, patient.last_name, reading=self.reading),
            email=patient.email.casefold(),
            phones=frozenset({patient.phone}),
            person=person_key(patient.first_name, patient.last_name, patient.birth_date),
            reading=self.reading,
        )
        self._add(row)
        self._changed()
        return row

    def stored_email(self, email: str | None) -> str | None:
        """`email` as stored: lower-cased under ``emails="lowered"`` (a Rails ``before_save``)."""
        return email.lower() if email is not None and self.reading.emails == "lowered" else email

    def _changed(self) -> None:
        self._queries.clear()
        self._word_hits.clear()

    def edit(self, row: PatientRow, edit: PatientEdit) -> PatientRow:
        """`row` with `edit` applied, as a new row (``updated_at`` now; a preferred name is no
        longer searched): the caller checks ``duplicate`` on it before it ``keep``s it."""
        doc = {**row.doc, "bio": dict(row.doc["bio"])}
        if self.reading.edit_bio == "replaced" and edit.bio is not None:  # `bio` stored as the object sent
            doc["bio"] = {key: edit.bio.get(key) for key in row.doc["bio"]}
            if self.reading.gender_at == "top":  # gender is no part of `bio` there
                doc["bio"]["gender"] = row.doc["bio"]["gender"]
        for key, value in (("first_name", edit.first_name), ("last_name", edit.last_name), ("email", edit.email)):
            if value is not None:
                doc[key] = self.stored_email(value) if key == "email" else value
        for key, value in (("date_of_birth", edit.birth_date), ("phone_number", edit.phone), ("gender", edit.gender)):
            if value is not None:
                doc["bio"][key] = value
        if edit.phone is not None:  # the number given replaces the patient's phones
            doc["bio"]["cell_phone_number"] = doc["bio"]["home_phone_number"] = None
        doc["name"] = f"{doc['first_name']} {doc['last_name']}"
        doc["updated_at"] = utc_millis(self.now())
        phones = {doc["bio"][k] for k in ("phone_number", "cell_phone_number", "home_phone_number")} - {None}
        return PatientRow(
            doc=doc,
            upcoming=row.upcoming,
            words=name_words(doc["first_name"], doc["last_name"], reading=self.reading),
            email=doc["email"].casefold() if doc["email"] else None,
            phones=frozenset(phones),
            person=person_key(doc["first_name"], doc["last_name"], doc["bio"]["date_of_birth"]),
            reading=self.reading,
        )

    def keep(self, row: PatientRow) -> None:
        """Store `row` in place of the row of its id."""
        self._add(row)
        self._changed()

    # ---- appointments

    def window(self, location: int, start: datetime, end: datetime) -> list[Appointment]:
        """The appointments at `location` starting in ``[start, end]``."""
        if location not in self.schedule:  # a location never looked up (``unknown_location="empty"``)
            return []
        starts, appointments = self.schedule[location]
        return appointments[bisect_left(starts, start) : bisect_right(starts, end)]

    def render_appointment(self, appointment: Appointment, includes: Iterable[str]) -> bytes:
        wanted = tuple(includes)
        if not wanted:
            return appointment.rendered
        doc = dict(appointment.doc)
        if "patient" in wanted:
            doc["patient"] = self.rows[doc["patient_id"]].doc
        if "appointment_type" in wanted:
            doc["appointment_type"] = self.types_by_id[doc["appointment_type_id"]]
        return orjson.dumps(styled(doc, self.reading))
