"""A deterministic, vendor-neutral synthetic clinic.

Every vendor sandbox (``mappings/<vendor>/sandbox.py``) renders this same clinic in its
vendor's shape, and end-to-end tests compare what the gateway returns with this truth.
Nothing here knows a vendor: no vendor field names, no vendor ids.

``build_clinic(seed, size, today)`` is pure: the same arguments always give an equal
clinic (one ``random.Random(seed)`` stream, no wall clock, no ``hash()``, uuids from
``uuid5`` under a fixed namespace). It is cached, so callers share one instance; the
dataclasses are frozen.

The clinic contains, besides ordinary patients, the awkward cases real data has; each is
findable by name through ``Clinic.awkward_patient(name)`` (names in ``AWKWARD_CASES``)
and, for the default clinic, through ``AWKWARD`` (name -> patient uuid).

Codes: RxNorm CUIs, SNOMED CT concept ids and ICD-10-CM codes are only filled where we
are confident of them; everything else is text only (``None`` code), which is itself a
case the mappers must handle. Encounter ``type_code`` is a CDT code (ADA Code on Dental
Procedures and Nomenclature), ``None`` for non-dental visit types.

All datetimes are timezone-aware UTC; the one local time, ``VitalSigns.taken_at``, is wall
clock time in ``Clinic.timezone`` (America/Chicago, where the clinic's addresses are), as
vendors store it. Ids are unique per kind across the whole clinic.
"""

from __future__ import annotations

import functools
import random
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

__all__ = [
    "AWKWARD",
    "AWKWARD_CASES",
    "CLINIC_NAMESPACE",
    "CLINIC_TIMEZONE",
    "Allergy",
    "Clinic",
    "Encounter",
    "Gender",
    "Location",
    "Medication",
    "Patient",
    "PatientStatus",
    "Problem",
    "Provider",
    "VitalSigns",
    "build_clinic",
]

Gender = Literal["male", "female", "non_binary", "other", "unknown", "prefer_not_to_say"]
PatientStatus = Literal["active", "inactive", "prospective", "deceased"]

#: The clinic's time zone: where its local times (``VitalSigns.taken_at``) are on the clock.
CLINIC_TIMEZONE = "America/Chicago"

#: Fixed namespace for every uuid the clinic derives (``uuid5(CLINIC_NAMESPACE, ...)``).
CLINIC_NAMESPACE = UUID("0b5e9f0c-7a43-5d1e-8c2b-4f6a9d3e1c70")


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Provider:
    id: int
    first_name: str
    last_name: str
    designation: str  # "DDS", "DMD", "MD", "RDH", "NP"


@dataclass(frozen=True)
class Location:
    id: int
    name: str


@dataclass(frozen=True)
class Allergy:
    id: int
    substance: str
    substance_snomed: str | None  # SNOMED CT substance concept
    reaction: str | None
    reaction_snomed: str | None  # SNOMED CT finding concept
    severity: Literal["mild", "moderate", "severe"] | None
    active: bool
    noted_on: date | None
    deleted: bool


@dataclass(frozen=True)
class Medication:
    id: int
    name: str  # RxNorm display name for coded drugs, free text otherwise
    rxnorm: str | None
    strength: str | None  # e.g. "10 mg"
    frequency: str | None  # e.g. "twice daily"; PRN meds say the interval here, `prn` is separate
    route: str | None  # e.g. "oral", "inhalation"
    prn: bool
    status: Literal["active", "discontinued", "on_hold", "completed"]
    start: date | None
    stop: date | None
    deleted: bool
    prescriber_id: int | None = None  # a clinic Provider, or None (prescribed elsewhere)


@dataclass(frozen=True)
class VitalSigns:
    id: int
    taken_on: date
    taken_at: time | None  # local wall-clock time in Clinic.timezone (as vendors store it)
    systolic: int | None  # mm[Hg]
    diastolic: int | None  # mm[Hg]
    pulse: int | None  # /min
    respiration_rate: int | None  # /min
    spo2: int | None  # %
    temperature_f: Decimal | None  # [degF], one decimal
    height_in: Decimal | None  # [in_i], one decimal
    weight_lb: Decimal | None  # [lb_av], one decimal
    bmi: Decimal | None  # kg/m2, one decimal; only when height and weight were both taken
    bmi_percentile: int | None  # only for readings taken at age 2-19
    provider_id: int | None
    deleted: bool


@dataclass(frozen=True)
class Problem:
    id: int
    name: str
    snomed: str | None
    icd10: str | None  # ICD-10-CM
    status: Literal["active", "resolved", "inactive"]
    onset: date | None
    resolved_on: date | None
    deleted: bool


@dataclass(frozen=True)
class Encounter:
    id: int
    start: datetime
    end: datetime | None  # None for cancelled and in-progress (arrived) visits
    provider_id: int
    location_id: int
    type_text: str
    type_code: str | None  # CDT code (ADA); None for non-dental visit types
    status: Literal["planned", "arrived", "finished", "cancelled"]
    locked: bool  # a signed-off (locked) visit note
    reason: str | None


@dataclass(frozen=True)
class Patient:
    id: int
    uuid: UUID
    chart_number: str
    first_name: str
    middle_name: str | None
    last_name: str
    preferred_name: str | None
    birth_date: date | None
    gender: Gender | None
    email: str | None
    mobile_phone: str | None  # 10 digits
    home_phone: str | None  # 10 digits
    address_line1: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    status: PatientStatus
    deceased_at: datetime | None
    deleted: bool
    created_at: datetime
    updated_at: datetime
    allergy_review: Literal["not_reviewed", "nkda", "reviewed"]
    primary_provider_id: int | None
    location_id: int | None
    allergies: tuple[Allergy, ...]
    medications: tuple[Medication, ...]
    vitals: tuple[VitalSigns, ...]  # chronological (taken_on, taken_at, id)
    problems: tuple[Problem, ...]
    encounters: tuple[Encounter, ...]  # chronological


@dataclass(frozen=True)
class Clinic:
    seed: int
    today: date
    providers: tuple[Provider, ...]
    locations: tuple[Location, ...]
    patients: tuple[Patient, ...]  # ordered by id
    awkward: tuple[tuple[str, int], ...] = ()  # awkward case name -> patient id
    timezone: str = CLINIC_TIMEZONE  # IANA zone of the clinic's local times

    @functools.cached_property
    def _patients_by_uuid(self) -> dict[UUID, Patient]:
        return {p.uuid: p for p in self.patients}

    @functools.cached_property
    def _patients_by_id(self) -> dict[int, Patient]:
        return {p.id: p for p in self.patients}

    def patient(self, patient_id: int) -> Patient:
        """The patient with this clinic id (KeyError if none)."""
        return self._patients_by_id[patient_id]

    def patient_by_uuid(self, patient_uuid: UUID | str) -> Patient:
        """The patient with this uuid (KeyError if none)."""
        key = patient_uuid if isinstance(patient_uuid, UUID) else UUID(patient_uuid)
        return self._patients_by_uuid[key]

    def provider(self, provider_id: int) -> Provider:
        return next(p for p in self.providers if p.id == provider_id)

    def location(self, location_id: int) -> Location:
        return next(loc for loc in self.locations if loc.id == location_id)

    def awkward_patient(self, case: str) -> Patient:
        """The patient for one of ``AWKWARD_CASES`` (KeyError for an unknown case)."""
        return self.patient(dict(self.awkward)[case])

    def awkward_uuids(self) -> dict[str, UUID]:
        return {case: self.patient(pid).uuid for case, pid in self.awkward}


# --------------------------------------------------------------------------- catalogs

_PROVIDERS = (
    Provider(1, "Maria", "Alvarez", "DDS"),
    Provider(2, "James", "Whitfield", "DMD"),
    Provider(3, "Priya", "Raman", "RDH"),
    Provider(4, "Kenji", "Watanabe", "MD"),
    Provider(5, "Laura", "Chen", "NP"),
)
_DENTISTS = (1, 2)
_HYGIENIST = 3
_MEDICAL = (4, 5)

_LOCATIONS = (
    Location(1, "Downtown Dental Center"),
    Location(2, "Riverside Family Dentistry"),
    Location(3, "Northgate Oral Health Clinic"),
)

_FEMALE_FIRST = (
    "Emma", "Olivia", "Ava", "Sophia", "Isabella", "Mia", "Charlotte", "Amelia", "Harper",
    "Evelyn", "Abigail", "Emily", "Elizabeth", "Sofia", "Madison", "Ella", "Scarlett",
    "Grace", "Chloé", "Victoria", "Lily", "Penelope", "Layla", "Nora", "Camila", "Hannah",
    "Renée", "María", "Linda", "Patricia", "Barbara", "Susan", "Margaret", "Dorothy",
    "Aisha", "Priya", "Mei", "Fatima", "Ingrid", "Katherine", "Naomi", "Leah",
)  # fmt: skip
_MALE_FIRST = (
    "Liam", "Noah", "William", "James", "Oliver", "Benjamin", "Elijah", "Lucas", "Mason",
    "Logan", "Alexander", "Ethan", "Jacob", "Michael", "Daniel", "Henry", "Jackson",
    "Sebastian", "Matthew", "Samuel", "David", "Joseph", "Carter", "Owen", "Wyatt", "John",
    "Luke", "Robert", "Thomas", "Charles", "George", "Richard", "Kenneth", "Raj", "Wei",
    "Ahmed", "Björn", "François", "Mateo", "Diego", "Tomás", "Andrés",
)  # fmt: skip
_NEUTRAL_FIRST = (
    "Alex", "Jordan", "Taylor", "Casey", "Riley", "Morgan", "Quinn", "Avery", "Skyler",
    "Rowan", "Sage", "Emerson",
)  # fmt: skip
_MIDDLE = (
    "Marie", "Ann", "Lee", "James", "Michael", "Rose", "Grace", "Elizabeth", "Alan", "Ray",
    "Jean", "Lynn", "Louise", "Edward", "Joseph", "May", "Kai", "J.",
)  # fmt: skip
# No Smith*, Johnson or Garcia here: those groups are placed deliberately (see _SPECS).
_LAST = (
    "Williams", "Brown", "Jones", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez",
    "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson",
    "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez",
    "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres",
    "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera",
    "Campbell", "Mitchell", "Carter", "Roberts", "Kim", "Patel", "Chen", "Singh", "Okafor",
    "Kowalski", "Schmidt", "Rossi", "Yamamoto", "Haddad", "Fernández", "Peña", "Ibáñez",
    "Dubois", "Lefèvre", "Sørensen", "Öztürk", "Åberg", "O'Connor", "McAllister",
    "Van der Berg", "St. James",
)  # fmt: skip
_NICKNAMES = {
    "William": "Bill", "Robert": "Bob", "Elizabeth": "Liz", "Margaret": "Peggy",
    "Richard": "Rick", "Alexander": "Alex", "Benjamin": "Ben", "Matthew": "Matt",
    "Samuel": "Sam", "Thomas": "Tom", "Joseph": "Joe", "Patricia": "Pat",
    "Victoria": "Tori", "Charles": "Charlie", "Daniel": "Dan", "Michael": "Mike",
    "Jacob": "Jake", "Abigail": "Abby", "Katherine": "Kate", "Kenneth": "Ken",
}  # fmt: skip
_STREETS = (
    "Oak St", "Maple Ave", "Cedar Ln", "Elm St", "Pine Rd", "Washington Blvd",
    "Lakeview Dr", "Hillcrest Ct", "Sunset Ave", "Main St", "Halsted St", "Clark St",
)  # fmt: skip
_CITIES = (
    ("Chicago", "IL", "60614"), ("Chicago", "IL", "60657"), ("Evanston", "IL", "60201"),
    ("Oak Park", "IL", "60302"), ("Naperville", "IL", "60540"), ("Skokie", "IL", "60076"),
    ("Hammond", "IN", "46320"),
)  # fmt: skip
# Fictional numbers: NNN-555-01XX is reserved for fiction in the NANP.
_AREA_CODES = ("312", "773", "872", "847", "224", "630", "331", "708", "815", "219")

# (substance, SNOMED CT substance concept)
_CODED_SUBSTANCES = (
    ("Penicillin", "764146007"),
    ("Latex", "111088007"),
    ("Sulfonamide", "387406002"),
    ("Codeine", "387494007"),
    ("Peanut", "762952008"),
    ("Amoxicillin", "372687004"),
    ("Aspirin", "387458008"),
    ("Ibuprofen", "387207008"),
)
_FREE_TEXT_SUBSTANCES = (
    "Lidocaine with epinephrine",
    "Adhesive bandages",
    "Chlorhexidine mouth rinse",
    "Shellfish",
    "Bee stings",
    "Cats",
)
# (reaction, SNOMED CT finding concept)
_REACTIONS: tuple[tuple[str, str | None], ...] = (
    ("Hives", "247472004"),
    ("Rash", "271807003"),
    ("Anaphylaxis", "39579001"),
    ("Itching", "418290006"),
    ("Nausea", "422587007"),
    ("Shortness of breath", "267036007"),
    ("Swelling of lips", None),
    ("Upset stomach", None),
)

# (name, rxnorm, strength, frequency, route, prn)
_MedDef = tuple[str, str | None, str | None, str | None, str | None, bool]
_LISINOPRIL: _MedDef = (
    "Lisinopril 10 MG Oral Tablet",
    "314076",
    "10 mg",
    "once daily",
    "oral",
    False,
)
_METFORMIN: _MedDef = (
    "Metformin hydrochloride 500 MG Oral Tablet",
    "861007",
    "500 mg",
    "twice daily",
    "oral",
    False,
)
_ATORVASTATIN: _MedDef = (
    "Atorvastatin 20 MG Oral Tablet",
    "617310",
    "20 mg",
    "once daily at bedtime",
    "oral",
    False,
)
_SERTRALINE: _MedDef = (
    "Sertraline 50 MG Oral Tablet",
    "312940",
    "50 mg",
    "once daily",
    "oral",
    False,
)
_LORAZEPAM: _MedDef = (
    "Lorazepam 0.5 MG Oral Tablet",
    "197900",
    "0.5 mg",
    "twice daily",
    "oral",
    True,
)
_IBUPROFEN: _MedDef = (
    "Ibuprofen 600 MG Oral Tablet",
    "197806",
    "600 mg",
    "every 6 hours",
    "oral",
    True,
)
_AMOXICILLIN: _MedDef = (
    "Amoxicillin 500 MG Oral Capsule",
    "308191",
    "500 mg",
    "three times daily",
    "oral",
    False,
)
_ALBUTEROL: _MedDef = (
    "Albuterol inhaler",
    None,
    "90 mcg/actuation",
    "every 4 hours",
    "inhalation",
    True,
)
_MULTIVITAMIN: _MedDef = ("Multivitamin", None, "1 tablet", "once daily", "oral", False)
_FISH_OIL: _MedDef = ("Fish oil 1000 mg", None, "1000 mg", "once daily", "oral", False)
_CHLORHEXIDINE: _MedDef = (
    "Chlorhexidine gluconate 0.12% oral rinse",
    None,
    "15 mL",
    "twice daily",
    "oral",
    False,
)
_HERBAL_TEA: _MedDef = ("Herbal sleep tea", None, None, None, None, True)

# (name, SNOMED CT disorder concept, ICD-10-CM)
_ProbDef = tuple[str, str | None, str | None]
_HYPERTENSION: _ProbDef = ("Hypertension", "38341003", "I10")
_DIABETES: _ProbDef = ("Type 2 diabetes mellitus", "44054006", "E11.9")
_HYPERLIPIDEMIA: _ProbDef = ("Hyperlipidemia", "55822004", "E78.5")
_ASTHMA: _ProbDef = ("Asthma", "195967001", "J45.909")
_ANXIETY: _ProbDef = ("Generalized anxiety disorder", "21897009", "F41.1")
_GINGIVITIS: _ProbDef = ("Gingivitis", "66383009", "K05.10")
_CARIES: _ProbDef = ("Dental caries", "80967001", "K02.9")
_PERIODONTITIS: _ProbDef = ("Chronic periodontitis", None, "K05.30")
_BRUXISM: _ProbDef = ("Bruxism", None, None)

# (type text, CDT code, provider pool)
_VisitType = tuple[str, str | None, tuple[int, ...]]
_VISIT_TYPES: tuple[_VisitType, ...] = (
    ("Periodic oral evaluation", "D0120", _DENTISTS),
    ("Comprehensive oral evaluation", "D0150", _DENTISTS),
    ("Limited oral evaluation - problem focused", "D0140", _DENTISTS),
    ("Prophylaxis - adult", "D1110", (_HYGIENIST,)),
    ("Periodontal scaling and root planing", "D4341", (_HYGIENIST, *_DENTISTS)),
    ("Resin-based composite - one surface, posterior", "D2391", _DENTISTS),
    ("Medical history review", None, _MEDICAL),
)
_CHILD_PROPHY: _VisitType = ("Prophylaxis - child", "D1120", (_HYGIENIST,))
_REASONS = (
    "Routine recall",
    "Tooth pain, lower left",
    "Broken filling",
    "Bleeding gums",
    "Six-month cleaning",
    "Sensitivity to cold",
    "Follow-up after extraction",
)

#: Names of the awkward cases; each exists once in every clinic built.
AWKWARD_CASES: tuple[str, ...] = (
    "unicode_name",  # Zoë Müller
    "accented_name",  # José García (searching "garcia" must find him too)
    "cjk_name",  # 王 小明
    "apostrophe_hyphen",  # Siobhán O'Brien-Nguyễn
    "markup_name",  # a last name with <script> markup and an ampersand
    "no_middle_name",
    "missing_birth_date",
    "no_gender",
    "no_contact",  # no email, no phones
    "deleted_patient",
    "deceased",
    "inactive",
    "prospective",
    "twin",  # same last name, birth date and address as twin_sibling
    "twin_sibling",
    "shared_prefix",  # a Smith; Smithson and Smithers patients exist too
    "shared_prefix_smithson",
    "shared_prefix_smithers",
    "nkda",  # no allergies, review status nkda
    "allergies_not_reviewed",  # no allergies, review status not_reviewed
    "no_records",  # no allergies, medications, vitals, problems or encounters
    "partial_vitals",  # a BP reading with systolic only; a reading with only weight
    "many_vitals",  # >= 30 readings
    "deleted_allergy",  # one soft-deleted allergy next to live ones
    "deleted_medication",
    "deleted_vitals",
    "deleted_problem",
    "free_text_allergy",  # an allergy whose substance has no code
    "free_text_medication",  # a medication without RxNorm
    "prn_medication",  # an as-needed medication
    "child",  # pediatric vitals with BMI percentile
    "in_progress_encounter",  # an encounter with status arrived today
)


# --------------------------------------------------------------------------- generation


@dataclass(frozen=True)
class _Spec:
    """A deliberately placed patient: demographic overrides plus a record profile."""

    case: str | None
    demo: dict[str, Any] = field(default_factory=dict)
    shape: str = "normal"


class _Builder:
    def __init__(self, seed: int, size: int, today: date) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.size = size
        self.today = today
        self.zone = ZoneInfo(CLINIC_TIMEZONE)
        self.counters: dict[str, int] = {}
        phones = [f"{a}55501{n:02d}" for a in _AREA_CODES for n in range(100)]
        self.rng.shuffle(phones)
        self.phones = phones

    # ---- small helpers

    def next_id(self, kind: str) -> int:
        self.counters[kind] = self.counters.get(kind, 0) + 1
        return self.counters[kind]

    def day_between(self, a: date, b: date) -> date:
        if b <= a:
            return a
        return a + timedelta(days=self.rng.randint(0, (b - a).days))

    def instant_on(self, day: date) -> datetime:
        """A clinic-hours instant (08:00-16:45 local) on local `day`, in UTC."""
        minutes = self.rng.randint(8 * 60, 16 * 60 + 45)
        local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self.zone)
        return local.astimezone(UTC)

    def phone(self) -> str:
        if self.phones:
            return self.phones.pop()
        return f"{self.rng.choice(_AREA_CODES)}555{self.rng.randint(1000, 9999)}"

    def birth_date(self, age_range: tuple[int, int] | None = None) -> date:
        if age_range is None:
            age_range = self.rng.choices(
                [(2, 12), (13, 19), (20, 39), (40, 64), (65, 95)],
                weights=[12, 10, 28, 32, 18],
            )[0]
        age = self.rng.randint(*age_range)
        return self.today - timedelta(days=int(age * 365.25) + self.rng.randint(1, 360))

    # ---- patients

    def demographics(self, pid: int, demo: dict[str, Any]) -> dict[str, Any]:
        rng = self.rng
        gender: Gender | None = rng.choices(
            ["female", "male", "non_binary", "other", "unknown", "prefer_not_to_say"],
            weights=[480, 460, 20, 10, 15, 15],
        )[0]  # type: ignore[assignment]
        gender = demo.get("gender", gender)
        if gender == "female":
            first = rng.choice(_FEMALE_FIRST)
        elif gender == "male":
            first = rng.choice(_MALE_FIRST)
        else:
            first = rng.choice(_NEUTRAL_FIRST + _FEMALE_FIRST[:8] + _MALE_FIRST[:8])
        first = demo.get("first_name", first)
        last = demo.get("last_name", rng.choice(_LAST))
        middle = rng.choice(_MIDDLE) if rng.random() < 0.6 else None
        preferred = _NICKNAMES.get(first) if rng.random() < 0.6 else None
        age_range = demo.pop("age_range", None)
        birth: date | None = demo["birth_date"] if "birth_date" in demo else self.birth_date(age_range)
        status: PatientStatus = rng.choices(["active", "inactive", "prospective", "deceased"], weights=[86, 8, 4, 2])[0]  # type: ignore[assignment]
        status = demo.get("status", status)
        city, state, postal = rng.choice(_CITIES)
        line1 = f"{rng.randint(100, 19999)} {rng.choice(_STREETS)}"
        if rng.random() < 0.15:
            line1 += f" Apt {rng.randint(1, 40)}{rng.choice('ABCD')}"
        has_address = rng.random() < 0.95
        slug = _ascii_slug(first) + "." + _ascii_slug(last)
        email_domain = rng.choice(("example.com", "example.net", "example.org"))
        email = f"{slug}{pid}@{email_domain}" if rng.random() < 0.85 else None
        mobile = self.phone() if rng.random() < 0.9 else None
        home = self.phone() if rng.random() < 0.3 else None
        earliest = max(date(2012, 1, 1), (birth or date(1970, 1, 1)) + timedelta(days=30))
        if status == "prospective":
            created_day = self.day_between(self.today - timedelta(days=60), self.today)
        else:
            created_day = self.day_between(earliest, self.today - timedelta(days=90))
        created_day = min(created_day, self.today - timedelta(days=1))
        created_at = self.instant_on(created_day)
        deceased_at = None
        if status == "deceased":
            dday = self.day_between(created_day + timedelta(days=60), self.today)
            deceased_at = datetime.combine(dday, time(rng.randint(0, 23), rng.randint(0, 59)), tzinfo=UTC)
        d: dict[str, Any] = {
            "first_name": first,
            "middle_name": middle,
            "last_name": last,
            "preferred_name": preferred,
            "birth_date": birth,
            "gender": gender,
            "email": email,
            "mobile_phone": mobile,
            "home_phone": home,
            "address_line1": line1 if has_address else None,
            "city": city if has_address else None,
            "state": state if has_address else None,
            "postal_code": postal if has_address else None,
            "status": status,
            "deceased_at": deceased_at,
            "deleted": False,
            "created_at": created_at,
            "primary_provider_id": rng.choice(_DENTISTS) if status != "prospective" else None,
            "location_id": rng.choice((1, 1, 2, 3)),
        }
        d.update(demo)
        if d["status"] == "deceased" and d["deceased_at"] is None:
            dday = self.day_between(created_day + timedelta(days=60), self.today)
            d["deceased_at"] = datetime.combine(dday, time(9, 30), tzinfo=UTC)
        if d["status"] != "deceased":
            d["deceased_at"] = None
        return d

    def patient(self, pid: int, spec: _Spec) -> Patient:
        demo = self.demographics(pid, dict(spec.demo))
        birth: date | None = demo["birth_date"]
        created_at: datetime = demo["created_at"]
        last_day = self.today
        if demo["deceased_at"] is not None:
            last_day = min(last_day, demo["deceased_at"].date())
        shape = spec.shape
        if shape == "none":
            allergies: list[Allergy] = []
            meds: list[Medication] = []
            vitals: list[VitalSigns] = []
            problems: list[Problem] = []
            encounters: list[Encounter] = []
        else:
            encounters = self.encounters(demo, birth, created_at.date(), last_day, shape)
            visit_days = [e.start for e in encounters if e.status == "finished"]
            problems = self.problems(birth, created_at.date(), last_day)
            meds = self.medications(problems, birth, created_at.date(), last_day)
            allergies = [] if shape in ("nkda", "not_reviewed") else self.allergies(birth)
            vitals = self.vitals_for_visits(demo, birth, visit_days)
            allergies, meds, vitals, problems = self.shape_records(
                shape, demo, birth, allergies, meds, vitals, problems, last_day
            )
        vitals.sort(key=lambda v: (v.taken_on, v.taken_at or time.max))
        vitals = [replace(v, id=self.next_id("vitals")) for v in vitals]
        live_allergies = [a for a in allergies if not a.deleted]
        review: Literal["not_reviewed", "nkda", "reviewed"]
        if shape == "nkda":
            review = "nkda"
        elif shape in ("not_reviewed", "none"):
            review = "not_reviewed"
        elif live_allergies:
            review = "reviewed" if self.rng.random() < 0.85 else "not_reviewed"
        else:
            review = "nkda" if self.rng.random() < 0.55 else "not_reviewed"
        updated_at = created_at
        if self.rng.random() < 0.5 or demo["deleted"] or demo["deceased_at"] is not None:
            floor = demo["deceased_at"] or created_at
            upd_day = self.day_between(floor.date() + timedelta(days=1), self.today)
            updated_at = max(self.instant_on(upd_day), floor + timedelta(minutes=5))
        return Patient(
            id=pid,
            uuid=uuid5(CLINIC_NAMESPACE, f"{self.seed}:patient:{pid}"),
            chart_number=f"C{pid:05d}",
            first_name=demo["first_name"],
            middle_name=demo["middle_name"],
            last_name=demo["last_name"],
            preferred_name=demo["preferred_name"],
            birth_date=birth,
            gender=demo["gender"],
            email=demo["email"],
            mobile_phone=demo["mobile_phone"],
            home_phone=demo["home_phone"],
            address_line1=demo["address_line1"],
            city=demo["city"],
            state=demo["state"],
            postal_code=demo["postal_code"],
            status=demo["status"],
            deceased_at=demo["deceased_at"],
            deleted=demo["deleted"],
            created_at=created_at,
            updated_at=updated_at,
            allergy_review=review,
            primary_provider_id=demo["primary_provider_id"],
            location_id=demo["location_id"],
            allergies=tuple(allergies),
            medications=tuple(meds),
            vitals=tuple(vitals),
            problems=tuple(problems),
            encounters=tuple(encounters),
        )

    # ---- encounters

    def encounters(
        self, demo: dict[str, Any], birth: date | None, first: date, last: date, shape: str
    ) -> list[Encounter]:
        rng = self.rng
        status = demo["status"]
        child = birth is not None and _age(birth, self.today) < 14
        n_past = 0 if status == "prospective" else rng.choices(range(7), [8, 18, 20, 20, 16, 11, 7])[0]
        if shape in ("many_vitals", "partial_vitals", "deleted_vitals", "child"):
            n_past = max(n_past, 3)
        days = sorted(self.day_between(first + timedelta(days=1), last - timedelta(days=1)) for _ in range(n_past))
        out: list[Encounter] = []
        for day in days:
            vt = _CHILD_PROPHY if child and rng.random() < 0.4 else rng.choice(_VISIT_TYPES)
            start = self.instant_on(day)
            cancelled = rng.random() < 0.08
            out.append(
                Encounter(
                    id=0,
                    start=start,
                    end=None if cancelled else start + timedelta(minutes=rng.choice((30, 45, 60, 90))),
                    provider_id=rng.choice(vt[2]),
                    location_id=demo["location_id"] if rng.random() < 0.85 else rng.choice((1, 2, 3)),
                    type_text=vt[0],
                    type_code=vt[1],
                    status="cancelled" if cancelled else "finished",
                    locked=not cancelled and (self.today - day).days > 7 and rng.random() < 0.75,
                    reason=rng.choice(_REASONS) if rng.random() < 0.7 else None,
                )
            )
        alive = status in ("active", "prospective")
        if shape == "in_progress_encounter":
            start = datetime.combine(self.today, time(10, 30), tzinfo=self.zone).astimezone(UTC)
            out.append(
                Encounter(
                    0,
                    start,
                    None,
                    _DENTISTS[0],
                    demo["location_id"],
                    "Limited oral evaluation - problem focused",
                    "D0140",
                    "arrived",
                    False,
                    "Tooth pain, upper right",
                )
            )
        elif alive and rng.random() < 0.35:
            day = self.today + timedelta(days=rng.randint(3, 120))
            vt = rng.choice(_VISIT_TYPES[:4])
            start = self.instant_on(day)
            out.append(
                Encounter(
                    0,
                    start,
                    start + timedelta(minutes=60),
                    rng.choice(vt[2]),
                    demo["location_id"],
                    vt[0],
                    vt[1],
                    "planned",
                    False,
                    "Routine recall",
                )
            )
        return [replace(e, id=self.next_id("encounter")) for e in out]

    # ---- problems, medications, allergies

    def problems(self, birth: date | None, first: date, last: date) -> list[Problem]:
        rng = self.rng
        age = _age(birth, self.today) if birth else 45
        if age < 18:
            odds = [(_ASTHMA, 0.12), (_CARIES, 0.3), (_GINGIVITIS, 0.1)]
        else:
            odds = [
                (_HYPERTENSION, 0.04 + age / 200),
                (_DIABETES, 0.02 + age / 500),
                (_HYPERLIPIDEMIA, 0.03 + age / 300),
                (_ASTHMA, 0.08),
                (_ANXIETY, 0.1),
                (_GINGIVITIS, 0.2),
                (_CARIES, 0.2),
                (_BRUXISM, 0.06),
                (_PERIODONTITIS, 0.15 if age > 35 else 0.02),
            ]
        out: list[Problem] = []
        lo = max(first - timedelta(days=5 * 365), birth or date(1980, 1, 1))
        for (name, snomed, icd10), p in odds:
            if rng.random() >= p:
                continue
            onset = self.day_between(lo, last) if rng.random() < 0.85 else None
            dental = (name, snomed, icd10) in (_GINGIVITIS, _CARIES)
            status: Literal["active", "resolved", "inactive"] = "active"
            resolved_on = None
            if dental and rng.random() < 0.5:
                status = "resolved"
                resolved_on = self.day_between(onset or lo, last)
            elif not dental and rng.random() < 0.1:
                status = "inactive"
            out.append(Problem(self.next_id("problem"), name, snomed, icd10, status, onset, resolved_on, False))
        return out

    def medication(
        self,
        d: _MedDef,
        status: Literal["active", "discontinued", "on_hold", "completed"],
        start: date | None,
        stop: date | None,
        prescriber: int | None,
    ) -> Medication:
        name, rxnorm, strength, frequency, route, prn = d
        return Medication(
            self.next_id("medication"),
            name,
            rxnorm,
            strength,
            frequency,
            route,
            prn,
            status,
            start,
            stop,
            False,
            prescriber,
        )

    def medications(self, problems: list[Problem], birth: date | None, first: date, last: date) -> list[Medication]:
        rng = self.rng
        names = {p.name for p in problems if p.status != "resolved"}
        lo = max(first - timedelta(days=3 * 365), birth or date(1980, 1, 1))
        out: list[Medication] = []

        def chronic(d: _MedDef) -> None:
            start = self.day_between(lo, last) if rng.random() < 0.9 else None
            roll = rng.random()
            prescriber = rng.choice(_MEDICAL) if rng.random() < 0.3 else None
            if roll < 0.8:
                out.append(self.medication(d, "active", start, None, prescriber))
            elif roll < 0.92:
                stop = self.day_between(start or lo, last)
                out.append(self.medication(d, "discontinued", start, stop, prescriber))
            else:
                out.append(self.medication(d, "on_hold", start, None, prescriber))

        for problem, drug in (
            (_HYPERTENSION, _LISINOPRIL),
            (_DIABETES, _METFORMIN),
            (_HYPERLIPIDEMIA, _ATORVASTATIN),
            (_ANXIETY, _SERTRALINE),
            (_ASTHMA, _ALBUTEROL),
        ):
            if problem[0] in names and rng.random() < 0.85:
                chronic(drug)
        if _ANXIETY[0] in names and rng.random() < 0.3:
            chronic(_LORAZEPAM)
        adult = birth is None or _age(birth, self.today) >= 18
        if rng.random() < 0.18:  # a short antibiotic course after dental work
            start = self.day_between(lo, last - timedelta(days=8))
            out.append(
                self.medication(
                    _AMOXICILLIN,
                    "completed",
                    start,
                    start + timedelta(days=7),
                    rng.choice(_DENTISTS),
                )
            )
        if adult and rng.random() < 0.15:
            start = self.day_between(lo, last - timedelta(days=5))
            out.append(
                self.medication(_IBUPROFEN, "completed", start, start + timedelta(days=4), rng.choice(_DENTISTS))
            )
        for d, p in ((_MULTIVITAMIN, 0.12), (_FISH_OIL, 0.06), (_CHLORHEXIDINE, 0.05)):
            if rng.random() < p:
                chronic(d)
        return out

    def allergy(self, birth: date | None, *, coded: bool, exclude: set[str]) -> Allergy:
        rng = self.rng
        if coded:
            substance, snomed = rng.choice([s for s in _CODED_SUBSTANCES if s[0] not in exclude])
        else:
            substance = rng.choice([s for s in _FREE_TEXT_SUBSTANCES if s not in exclude])
            snomed = None
        reaction: str | None
        reaction, reaction_snomed = rng.choice(_REACTIONS)
        if rng.random() < 0.12:
            reaction, reaction_snomed = None, None
        severity: Literal["mild", "moderate", "severe"] | None
        if reaction == "Anaphylaxis":
            severity = "severe"
        else:
            severity = rng.choice(("mild", "mild", "moderate", "moderate", "severe", None))
        lo = birth + timedelta(days=365) if birth else date(1990, 1, 1)
        noted = self.day_between(lo, self.today - timedelta(days=1)) if rng.random() < 0.8 else None
        return Allergy(
            self.next_id("allergy"),
            substance,
            snomed,
            reaction,
            reaction_snomed,
            severity,
            rng.random() < 0.9,
            noted,
            False,
        )

    def allergies(self, birth: date | None) -> list[Allergy]:
        n = self.rng.choices(range(4), weights=[50, 30, 15, 5])[0]
        out: list[Allergy] = []
        for _ in range(n):
            coded = self.rng.random() < 0.7
            out.append(self.allergy(birth, coded=coded, exclude={a.substance for a in out}))
        return out

    # ---- vital signs

    def reading(
        self,
        demo: dict[str, Any],
        birth: date | None,
        when: datetime | date,
        kind: str,
        provider_id: int | None,
    ) -> VitalSigns:
        """One plausible reading; `kind` is bp | screen | full | systolic_only | weight_only."""
        rng = self.rng
        if isinstance(when, datetime):
            local = when.astimezone(self.zone) + timedelta(minutes=5)
            day, at = local.date(), local.time().replace(second=0, tzinfo=None)
        else:
            day, at = when, None
        age = _age(birth, day) if birth else 45
        child = age < 18
        female = demo["gender"] == "female"
        systolic = rng.randint(92, 116) if child else rng.randint(104, 152)
        if rng.random() < 0.02:
            systolic = rng.randint(182, 195)  # a hypertensive crisis reading
        diastolic = max(50, min(systolic - 25, int(systolic * rng.uniform(0.58, 0.7))))
        pulse = rng.randint(72, 112) if child else rng.randint(56, 98)
        resp = rng.randint(18, 26) if child else rng.randint(12, 20)
        spo2 = rng.choice((93, 95, 96, 97, 97, 98, 98, 99, 99, 100))
        temp = _d1(rng.uniform(97.2, 99.2))
        if age < 18:
            base = 34 + 2.45 * max(0, age - 2)
            height = _d1(min(base, 66 if female else 70) + rng.uniform(-2, 2))
        else:
            height = _d1(rng.uniform(60, 67) if female else rng.uniform(65, 74))
        bmi_target = rng.uniform(15, 21) if child else rng.uniform(19, 36)
        weight = _d1(bmi_target * float(height) ** 2 / 703)
        v = VitalSigns(
            id=0,
            taken_on=day,
            taken_at=at if rng.random() < 0.9 else None,
            systolic=None,
            diastolic=None,
            pulse=None,
            respiration_rate=None,
            spo2=None,
            temperature_f=None,
            height_in=None,
            weight_lb=None,
            bmi=None,
            bmi_percentile=None,
            provider_id=provider_id,
            deleted=False,
        )
        if kind in ("bp", "screen", "full"):
            v = replace(v, systolic=systolic, diastolic=diastolic, pulse=pulse)
        if kind in ("screen", "full"):
            v = replace(v, spo2=spo2, temperature_f=temp)
        if kind == "full":
            bmi = _d1(703 * float(weight) / float(height) ** 2)
            pct = rng.randint(5, 97) if 2 <= age < 20 else None
            v = replace(
                v,
                respiration_rate=resp,
                height_in=height,
                weight_lb=weight,
                bmi=bmi,
                bmi_percentile=pct,
            )
        if kind == "systolic_only":
            v = replace(v, systolic=systolic)
        if kind == "weight_only":
            v = replace(v, weight_lb=weight)
        return v

    def vitals_for_visits(self, demo: dict[str, Any], birth: date | None, visits: list[datetime]) -> list[VitalSigns]:
        out: list[VitalSigns] = []
        for start in visits:
            if self.rng.random() < 0.6:
                kind = self.rng.choices(("bp", "screen", "full"), weights=[55, 25, 20])[0]
                provider = self.rng.choice((*_DENTISTS, _HYGIENIST, None))
                out.append(self.reading(demo, birth, start, kind, provider))
        return out

    def shape_records(
        self,
        shape: str,
        demo: dict[str, Any],
        birth: date | None,
        allergies: list[Allergy],
        meds: list[Medication],
        vitals: list[VitalSigns],
        problems: list[Problem],
        last: date,
    ) -> tuple[list[Allergy], list[Medication], list[VitalSigns], list[Problem]]:
        recent = self.instant_on(last - timedelta(days=40))
        if shape == "many_vitals":
            vitals = []
            for k in range(32):
                day = last - timedelta(days=20 + 61 * k)
                kind = "full" if k % 5 == 0 else "bp"
                vitals.append(self.reading(demo, birth, self.instant_on(day), kind, _HYGIENIST))
        elif shape == "partial_vitals":
            vitals.append(self.reading(demo, birth, recent, "systolic_only", _HYGIENIST))
            vitals.append(self.reading(demo, birth, recent.date() + timedelta(days=1), "weight_only", None))
        elif shape == "deleted_vitals":
            vitals.append(self.reading(demo, birth, recent - timedelta(days=200), "full", 1))
            vitals.append(replace(self.reading(demo, birth, recent, "bp", 3), deleted=True))
        elif shape == "child":
            for k in range(3):
                when = self.instant_on(last - timedelta(days=30 + 180 * k))
                vitals.append(self.reading(demo, birth, when, "full", _HYGIENIST))
        elif shape == "deleted_allergy":
            while len(allergies) < 2:
                allergies.append(self.allergy(birth, coded=True, exclude={a.substance for a in allergies}))
            allergies[-1] = replace(allergies[-1], deleted=True)
        elif shape == "free_text_allergy":
            allergies.append(self.allergy(birth, coded=False, exclude={a.substance for a in allergies}))
        elif shape == "deleted_medication":
            start = last - timedelta(days=400)
            meds.append(self.medication(_MULTIVITAMIN, "active", start, None, None))
            meds.append(replace(self.medication(_SERTRALINE, "active", start, None, 4), deleted=True))
        elif shape == "free_text_medication":
            meds.append(self.medication(_FISH_OIL, "active", last - timedelta(days=300), None, None))
            meds.append(self.medication(_HERBAL_TEA, "active", None, None, None))
        elif shape == "prn_medication":
            meds.append(self.medication(_LORAZEPAM, "active", last - timedelta(days=90), None, 5))
        elif shape == "deleted_problem":
            problems.append(
                Problem(
                    self.next_id("problem"),
                    *_HYPERTENSION,
                    "active",
                    last - timedelta(days=900),
                    None,
                    False,
                )
            )
            problems.append(Problem(self.next_id("problem"), *_ASTHMA, "active", None, None, True))
        return allergies, meds, vitals, problems


def _specs(rng: random.Random, today: date) -> list[_Spec]:
    twin_birth = today - timedelta(days=int(34 * 365.25) + rng.randint(1, 360))
    twin_shared = {
        "last_name": "Okonkwo",
        "birth_date": twin_birth,
        "address_line1": "2210 N Halsted St",
        "city": "Chicago",
        "state": "IL",
        "postal_code": "60614",
        "home_phone": "3125550199",
    }

    def long_ago(years: int) -> dict[str, Any]:
        """An active patient whose record is `years` old (room for a long vitals history)."""
        created = datetime.combine(today - timedelta(days=365 * years), time(17, 0), tzinfo=UTC)
        return {"status": "active", "created_at": created}

    specs = [
        _Spec(
            "unicode_name",
            {
                "status": "active",
                "first_name": "Zoë",
                "last_name": "Müller",
                "middle_name": "Anaïs",
                "gender": "female",
            },
        ),
        _Spec(
            "accented_name",
            {
                "status": "active",
                "first_name": "José",
                "last_name": "García",
                "middle_name": "Ángel",
                "gender": "male",
            },
        ),
        _Spec(
            "cjk_name",
            {
                "status": "active",
                "first_name": "小明",
                "last_name": "王",
                "middle_name": None,
                "preferred_name": "Ming",
                "email": "wang.xiaoming@example.com",
            },
        ),
        _Spec(
            "apostrophe_hyphen",
            {
                "status": "active",
                "first_name": "Siobhán",
                "last_name": "O'Brien-Nguyễn",
                "gender": "female",
            },
        ),
        _Spec(
            "markup_name",
            {
                "status": "active",
                "first_name": "Robert",
                "last_name": "Tables<script>alert(1)</script> & Sons",
                "preferred_name": "Bobby",
                "gender": "male",
            },
        ),
        _Spec("no_middle_name", {"middle_name": None, "status": "active"}),
        _Spec("missing_birth_date", {"birth_date": None, "status": "active"}),
        _Spec("no_gender", {"gender": None, "status": "active"}),
        _Spec(
            "no_contact",
            {"status": "active", "email": None, "mobile_phone": None, "home_phone": None},
        ),
        _Spec("deleted_patient", {"deleted": True, "status": "active"}),
        _Spec("deceased", {"status": "deceased", "age_range": (70, 90)}),
        _Spec("inactive", {"status": "inactive"}),
        _Spec("prospective", {"status": "prospective"}),
        _Spec("twin", {**twin_shared, "first_name": "Chidi", "gender": "male", "status": "active"}),
        _Spec(
            "twin_sibling",
            {**twin_shared, "first_name": "Adaeze", "gender": "female", "status": "active"},
        ),
        _Spec("shared_prefix", {"last_name": "Smith", "status": "active"}),
        _Spec(None, {"last_name": "Smith", "status": "active"}),
        _Spec(None, {"last_name": "Smith", "status": "active"}),
        _Spec("shared_prefix_smithson", {"last_name": "Smithson", "status": "active"}),
        _Spec(None, {"last_name": "Smithson", "status": "active"}),
        _Spec("shared_prefix_smithers", {"last_name": "Smithers", "status": "active"}),
        _Spec(None, {"last_name": "Smithers", "status": "active"}),
        _Spec("nkda", {"status": "active"}, "nkda"),
        _Spec("allergies_not_reviewed", {"status": "active"}, "not_reviewed"),
        _Spec("no_records", {"status": "active"}, "none"),
        _Spec("partial_vitals", {"status": "active", "age_range": (30, 60)}, "partial_vitals"),
        _Spec("many_vitals", {**long_ago(10), "age_range": (40, 70)}, "many_vitals"),
        _Spec("deleted_allergy", {"status": "active"}, "deleted_allergy"),
        _Spec("deleted_medication", {"status": "active", "age_range": (30, 60)}, "deleted_medication"),
        _Spec("deleted_vitals", {**long_ago(3), "age_range": (25, 70)}, "deleted_vitals"),
        _Spec("deleted_problem", {"status": "active", "age_range": (30, 70)}, "deleted_problem"),
        _Spec("free_text_allergy", {"status": "active"}, "free_text_allergy"),
        _Spec("free_text_medication", {"status": "active"}, "free_text_medication"),
        _Spec("prn_medication", {"status": "active", "age_range": (25, 70)}, "prn_medication"),
        _Spec("child", {**long_ago(3), "age_range": (8, 11)}, "child"),
        _Spec("in_progress_encounter", {"status": "active"}, "in_progress_encounter"),
    ]
    # Common surnames, so that name searches return several pages.
    specs += [_Spec(None, {"last_name": "Johnson"}) for _ in range(14)]
    specs += [_Spec(None, {"last_name": "Garcia"}) for _ in range(12)]
    return specs


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _d1(x: float) -> Decimal:
    return Decimal(str(x)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _ascii_slug(s: str) -> str:
    folded = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum()) or "patient"


@functools.lru_cache(maxsize=8)
def build_clinic(seed: int = 20261121, size: int = 240, today: date = date(2026, 11, 1)) -> Clinic:
    """Build the synthetic clinic; same arguments, equal clinic (and, cached, the same one)."""
    builder = _Builder(seed, size, today)
    specs = _specs(builder.rng, today)
    if size < len(specs) + 20:
        raise ValueError(f"size must be at least {len(specs) + 20}")
    placed = builder.rng.sample(range(1, size + 1), len(specs))
    by_id = dict(zip(placed, specs, strict=True))
    patients = tuple(builder.patient(pid, by_id.get(pid, _Spec(None))) for pid in range(1, size + 1))
    awkward = tuple(
        sorted(
            ((s.case, pid) for pid, s in by_id.items() if s.case is not None),
            key=lambda kv: AWKWARD_CASES.index(kv[0]),
        )
    )
    return Clinic(
        seed=seed,
        today=today,
        providers=_PROVIDERS,
        locations=_LOCATIONS,
        patients=patients,
        awkward=awkward,
    )


#: Awkward case name -> patient uuid, for the default clinic (``build_clinic()``).
AWKWARD: dict[str, UUID] = build_clinic().awkward_uuids()
