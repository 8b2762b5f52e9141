"""Readings of the Nextvisit docs that other implementations take: the simulator's switches.

Each switch is a keyword argument of ``create_app`` and defaults to the reading the
simulator has always served (see the ``app`` module docstring, "Switches", for each one).
``Readings`` holds them; ``names_hit`` is how the list's name filters match under them.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal, get_args

from sandboxes.toolkit.folding import fold

__all__ = [
    "Accents",
    "AllergiesShape",
    "AllergyCharting",
    "Booleans",
    "CreateAnswer",
    "Dates",
    "Datetimes",
    "DemographicsShape",
    "Duplicates",
    "EmptyDemographics",
    "EmptyEnvelope",
    "EmptyLists",
    "EmptyPages",
    "EncounterClinician",
    "EncounterShape",
    "EncounterStatuses",
    "ErrorBodies",
    "ForeignPatients",
    "Ids",
    "ListFilters",
    "MedicationShape",
    "MetaEncoding",
    "MetaInput",
    "MetaUpdates",
    "MissingShow",
    "NameMatch",
    "NestedKeys",
    "NoDates",
    "Nulls",
    "Paging",
    "PastTheEnd",
    "PutSemantics",
    "RateWindow",
    "Readings",
    "ShowIncludes",
    "SingleEnvelope",
    "SingleRelations",
    "SortParam",
    "SortTies",
    "Spellings",
    "TrashedFilter",
    "UpdateNulls",
    "VisitTypes",
    "WriteAnswers",
    "nfd",
]

# How a visit's fields are named and written (the docs show only `encounters: []`); see the app
# module docstring. "day_and_times": the visit's day as `date` (a DATE column) and its times as
# times of day, `start_time`/`end_time` (TIME columns, `HH:MM:SS`), as Django REST Framework
# serializes a model's `DateField` and `TimeField`s, and as node-postgres reads `date` and `time`
# columns: a scheduling app's visit ("on the 5th, 10:00 to 10:30").
# "day_and_rails_times": the same columns as Rails writes them: a `time` column is read as a
# time on Rails' dummy day, so `as_json` writes `"start_time": "2000-01-01T10:00:00.000Z"` beside
# `"date": "2024-01-05"`.
EncounterShape = Literal["object", "flat", "titled", "scheduled", "day_and_times", "day_and_rails_times"]
# Who a visit's clinician is (the docs show no encounter). "provider" (default): `provider`
# `{id, name, credentials}`. "user": the Nextvisit user who documented it, `user_id` and `user`
# `{id, name, email}`, as PatientFull itself carries its `user`: Nextvisit's clinicians are its
# users (the docs' Users section), and a Laravel `Encounter` that `belongsTo(User::class)` is
# rendered by the same UserResource (a Rails `belongs_to :user` alike); no `provider` key.
EncounterClinician = Literal["provider", "user"]
# How a visit's status is written (the docs show no encounter). "visit" (default): the visit's own
# state (`scheduled`, `in_progress`, `completed`, `cancelled`). "note": a visit that took place as
# its progress note's state, as a clinical documentation platform keeps it (the docs' Progress
# Notes are created, updated and signed): `signed` once the note is locked, `amended` for a signed
# note corrected since (a locked one of an even id); other visits as "visit" writes them.
EncounterStatuses = Literal["visit", "note"]
# "measured": the "objects" rows with the dose kept as a decimal column and its unit apart,
# `"dose": "10.00", "dose_unit": "mg"` (a Django model's `DecimalField(decimal_places=2)`, which
# Django REST Framework writes as text, and a unit choice; Rails and node-postgres write a decimal
# as text too): the docs show `latest_medications` only as `[]`.
MedicationShape = Literal["text", "objects", "stop_dates", "measured"]
# How a visit's type is written (the docs show no encounter). "text" (default): `type` its name.
# "coded": a row of a code table, `{code, description}` (`belongsTo(VisitType::class)` rendered
# by its resource; for a dental visit its CDT code, `D0120`, else a null code): the name is its
# `description`, as a procedure code table names it.
VisitTypes = Literal["text", "coded"]
NameMatch = Literal["substring", "prefix", "exact"]
Accents = Literal["insensitive", "sensitive", "sensitive_nfd"]
# How times and dates are written (see the app module docstring). "http", for both: Flask's
# `jsonify` (its DefaultJSONProvider writes every `datetime` and `date` with Werkzeug's
# `http_date`, an RFC 9110 HTTP-date in GMT: `Fri, 05 Jan 2024 10:00:00 GMT`, a date at its
# midnight), the docs showing ISO times only by example.
Datetimes = Literal["iso", "micro", "offset", "sql", "epoch_ms", "local", "http"]
Dates = Literal["iso", "us", "datetime", "east", "http"]
Ids = Literal["numbers", "strings"]
Booleans = Literal["json", "digits"]
Nulls = Literal["null", "absent"]
# How the patient list pages (the docs: "Pagination links", "Pagination metadata", no more). Besides
# Laravel's shapes: "spring", Spring Data's `Page` under the docs' envelope, as a Spring team writes
# it: `data` its content, `meta` its numbers as Jackson's SNAKE_CASE strategy (the one that writes
# the docs' `first_name`) names them, `{page, size, total_elements, total_pages}` (`page` is
# `Page.getNumber()`, counted from `first_page`: 0 for `Pageable`'s default), `links` `{}` as the
# docs' example answer shows it (no Spring HATEOAS to build them).
# "json_api": JSON:API's page parameters, `page[number]` (and `page[size]`), as Spatie's
# laravel-json-api-paginate (`->jsonPaginate()`, the sibling of the laravel-query-builder whose
# `filter[...]`, `include` and `sort` the docs' list takes) reads them: `page` alone is not read,
# and the links name `page[number]`; the answer is otherwise Laravel's resource collection
# (the documented `per_page` read as its default size).
Paging = Literal["resource", "paginator", "simple", "cursor", "keyset", "none", "spring", "json_api"]
ErrorBodies = Literal["laravel", "error", "plain", "rails", "fastapi", "nestjs"]
SingleEnvelope = Literal["data", "bare"]
LoginShape = Literal["token", "data", "plain", "new_token", "header", "jwt", "user_token", "prefixed"]
LoginBody = Literal["flat", "user", "form", "username"]
SingleRelations = Literal["always", "included"]
EmptyDemographics = Literal["null", "array"]
PutSemantics = Literal["merge", "replace"]
ShowIncludes = Literal["list", "demographics", "encounters"]
CreateAnswer = Literal["record", "message"]
NoDates = Literal["null", "zero", "min"]
MetaEncoding = Literal["object", "string"]
DemographicsShape = Literal["object", "list", "nested"]
Spellings = Literal["documented", "other"]
Duplicates = Literal["allowed", "409"]
SortTies = Literal["id", "unstable"]
ForeignPatients = Literal["404", "403"]
PastTheEnd = Literal["empty", "404"]
# How a patient's empty lists are written (the docs show `"latest_medications": []`,
# `"timeline": []`, `"encounters": []`): "array" (default); "null", Go's encoding/json writing a
# nil slice; "omitted", left out of the answer, as Go's encoding/json writes a slice field tagged
# `json:"encounters,omitempty"` (and a Laravel resource's `$this->when($this->encounters->
# isNotEmpty(), ...)`): a patient without visits has no `encounters` key, though it was included.
EmptyLists = Literal["array", "null", "omitted"]
# A page listing nobody (the docs show a page only as `{"data": [{}], "links": {}, "meta": {}}`):
# "listed" (default), its `data` written (as `empty_lists` says). "omitted": its `data` left out,
# `{"links": ..., "meta": ...}`, as Go's encoding/json writes an envelope struct whose field is
# `Data []Patient `json:"data,omitempty"``.
EmptyPages = Literal["listed", "omitted"]
# How an unpaged list (`paging="none"`) writes its empty `links` and `meta`: "object" (default),
# `{}` as the docs' example shows them; "array", `[]`, PHP's `json_encode` of the empty arrays a
# Laravel handler builds the answer from (`response()->json(['data' => $rows, 'links' => [],
# 'meta' => []])`), which it cannot tell from an empty list.
EmptyEnvelope = Literal["object", "array"]
WriteAnswers = Literal["json", "text"]
TrashedFilter = Literal["honoured", "ignored"]
RateWindow = Literal["minute", "second"]
MissingShow = Literal["404", "null_data", "null", "empty"]
ListFilters = Literal["honoured", "ignored"]
SortParam = Literal["honoured", "ignored"]
# What an update does with a field sent as null: the docs' update body says `middle_name` is
# "string or null" and no more. "set": stored null (Laravel's `$patient->update($request->
# validated())`). "skipped": null is "not given" and leaves the field as it is, an empty string
# being a value stored as sent: Spring (MapStruct's `NullValuePropertyMappingStrategy.IGNORE`,
# `BeanUtils.copyProperties` ignoring nulls) and ASP.NET (`if (dto.MiddleName != null)`), whose
# bound DTOs cannot tell null from absent, read "updates the fields given" so. "filtered": every
# empty value leaves its field as it is (Laravel's `$patient->update(array_filter($request->
# validated()))`, an empty string being null by then, ConvertEmptyStringsToNull, and `[]`/`{}`
# empty too): no field can be cleared at all.
UpdateNulls = Literal["set", "skipped", "filtered"]
# How an update writes the `meta` it is sent ("Additional metadata": the docs say no more).
# "replaced": the column set to it (Eloquent's `array` cast). "merged": its keys over the stored
# ones, as Stripe updates an object's `metadata` and as `{...patient.meta, ...req.body.meta}`,
# PHP's `array_merge`, Ruby's `Hash#merge` and Python's `dict.update` write it; a key left out
# keeps its value. "merge_patch": RFC 7396 JSON Merge Patch (Spring's `JsonMergePatch`, the
# `json-merge-patch` package): objects merged key by key at every depth, a key sent null removed,
# lists and other values replaced.
MetaUpdates = Literal["replaced", "merged", "merge_patch"]
# How the records the docs never show are keyed (an encounter with its provider and location, the
# demographics, medication and allergy rows, timeline events). "snake" (default): as PatientFull's
# documented fields are. "camel": camelCase (`startTime`, `visitType`, `postalCode`,
# `discontinuedAt`), the framework's default where no document named them: ASP.NET's
# System.Text.Json web defaults, a NestJS or Express team's TypeScript properties, while the
# PatientFull fields the docs name are written as named.
NestedKeys = Literal["snake", "camel"]
# A patient's `encounters` answered a page at a time (the docs show `encounters: []` and no
# more): None (default), every visit; a number n, Laravel's paginated resource collection of the
# relation (`EncounterResource::collection($this->encounters()->paginate(n))`), `{"data": [the
# first n], "links": {...}, "meta": {current_page, last_page, per_page, total, ...}}`: a patient
# with more visits shows its first n.
# How the app keeps `allergies`: the docs show it in the request bodies only, as text ("string or
# null", "Penicillin, Sulfa drugs"); the PatientFull examples never show it. "text": kept and
# served as sent. "list": kept as a list of items and served as one (EF Core 8's primitive
# collection `List<string>`, a PostgreSQL `text[]`, Rails' `serialize :allergies, type: Array`),
# the documented text a write sends split into its items at commas, semicolons and line ends.
# "objects": each item a row, `{name, reaction}` (a `hasMany` of allergies rendered as a
# relation, as `latest_medications` may be objects; the written text's items stored as names).
AllergiesShape = Literal["text", "list", "objects"]
# How clinicians chart allergies in the free text ("Known allergies": the docs say no more).
# "listed" (default): the allergies alone. "drug_review_first": a patient none of whose allergies
# is to a drug has the drug review charted first, `NKDA; Latex (hives)`: no known *drug*
# allergies beside food, latex or environmental ones, as a chart's allergy line reads (in the
# list shapes, an item or a row named `NKDA` first).
AllergyCharting = Literal["listed", "drug_review_first"]
# Whether a write takes the `meta` object it is sent (listed in both documented write bodies).
# "taken" (default). "ignored": the record's `meta` stays as it was, without a word: Rails' strong
# parameters listing it as a scalar from the docs' field list (`permit(:first_name, ..., :meta)`)
# drop an object sent there (only "Unpermitted parameter: :meta" in the log), as a Django REST
# Framework serializer listing it in `read_only_fields` does.
MetaInput = Literal["taken", "ignored"]


@dataclass(frozen=True)
class Readings:
    encounter_shape: EncounterShape = "object"
    encounter_clinician: EncounterClinician = "provider"
    encounter_statuses: EncounterStatuses = "visit"
    # A visit whose note was voided: written `"status": "void"` (a record made in error, which a
    # charting app voids rather than deletes); None: none.
    voided_encounter: int | None = None
    visit_types: VisitTypes = "text"
    medication_shape: MedicationShape = "text"
    include_demographics: bool = True
    trim_strings: bool = True
    unreadable_encounter: int | None = None
    name_match: NameMatch = "substring"
    name_accents: Accents = "insensitive"
    datetimes: Datetimes = "iso"
    dates: Dates = "iso"
    ids: Ids = "numbers"
    booleans: Booleans = "json"
    nulls: Nulls = "null"
    paging: Paging = "resource"
    errors: ErrorBodies = "laravel"
    single_envelope: SingleEnvelope = "data"
    extra_field: bool = False
    list_per_page_max: int = 100
    show_trashed: bool = False
    delete_status: int = 200
    login_shape: LoginShape = "token"
    # Where the login is: the docs list a Tokens section without its paths.
    login_path: str = "/v1/auth/tokens"
    login_body: LoginBody = "flat"
    single_relations: SingleRelations = "always"
    empty_demographics: EmptyDemographics = "null"
    put_semantics: PutSemantics = "merge"
    show_includes: ShowIncludes = "list"
    unauthenticated_status: int = 401
    token_lifetime: int | None = None
    create_answer: CreateAnswer = "record"
    duplicates: Duplicates = "allowed"
    no_dates: NoDates = "null"
    meta_encoding: MetaEncoding = "object"
    demographics_shape: DemographicsShape = "object"
    spellings: Spellings = "documented"
    sort_ties: SortTies = "id"
    foreign_patients: ForeignPatients = "404"
    first_page: int = 1
    past_the_end: PastTheEnd = "empty"
    empty_lists: EmptyLists = "array"
    empty_pages: EmptyPages = "listed"
    empty_envelope: EmptyEnvelope = "object"
    write_answers: WriteAnswers = "json"
    # Requests a window before 429 (Laravel <= 10's `throttle:api`, 60 a minute); None: no limit.
    rate_limit: int | None = None
    rate_window: RateWindow = "minute"
    trashed_filter: TrashedFilter = "honoured"
    missing_show: MissingShow = "404"
    list_filters: ListFilters = "honoured"
    sort_param: SortParam = "honoured"
    update_nulls: UpdateNulls = "set"
    meta_updates: MetaUpdates = "replaced"
    allergies_shape: AllergiesShape = "text"
    allergy_charting: AllergyCharting = "listed"
    meta_input: MetaInput = "taken"
    nested_keys: NestedKeys = "snake"
    encounters_per_page: int | None = None
    # Seconds a read of one patient lags its writes (a replica: `replica`); None: no lag.
    replica_lag: int | None = None
    # Whether the list reads that replica too (a patient created within the lag not listed yet).
    replica_lists: bool = False

    def __post_init__(self) -> None:
        for name, literal in _LITERALS.items():
            allowed = get_args(literal)
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, not {getattr(self, name)!r}")
        if self.delete_status not in (200, 204):
            raise ValueError(f"delete_status must be 200 or 204, not {self.delete_status!r}")
        if self.unauthenticated_status not in (401, 419, 403):
            raise ValueError(f"unauthenticated_status must be 401, 419 or 403, not {self.unauthenticated_status!r}")
        if self.first_page not in (0, 1):
            raise ValueError(f"first_page must be 0 or 1, not {self.first_page!r}")
        if self.token_lifetime is not None and self.token_lifetime < 1:
            raise ValueError(f"token_lifetime must be None or at least 1 second, not {self.token_lifetime!r}")
        if self.rate_limit is not None and self.rate_limit < 1:
            raise ValueError(f"rate_limit must be None or at least 1 request a window, not {self.rate_limit!r}")
        if self.replica_lag is not None and self.replica_lag < 1:
            raise ValueError(f"replica_lag must be None or at least 1 second, not {self.replica_lag!r}")
        if self.encounters_per_page is not None and self.encounters_per_page < 1:
            raise ValueError(f"encounters_per_page must be None or at least 1, not {self.encounters_per_page!r}")
        if self.list_per_page_max < 1:
            raise ValueError("list_per_page_max must be at least 1")

    @property
    def stores_nfd(self) -> bool:
        """Names are stored (and so served) decomposed."""
        return self.name_accents == "sensitive_nfd"

    def names_hit(self, sent: str, stored: str | None) -> bool:
        """Whether the name filter value `sent` matches the stored name `stored`: case-
        insensitively always; accents folded or compared as stored (NFD when stored so);
        anywhere, at the start, or the whole value (``name_match``)."""
        if stored is None:
            return False
        if self.name_accents == "insensitive":
            value, field = fold(sent), fold(stored)
        else:
            value, field = sent.casefold(), stored.casefold()
        if self.name_match == "prefix":
            return field.startswith(value)
        if self.name_match == "exact":
            return field == value
        return value in field


_LITERALS = {
    "encounter_shape": EncounterShape,
    "encounter_clinician": EncounterClinician,
    "encounter_statuses": EncounterStatuses,
    "visit_types": VisitTypes,
    "medication_shape": MedicationShape,
    "name_match": NameMatch,
    "name_accents": Accents,
    "datetimes": Datetimes,
    "dates": Dates,
    "ids": Ids,
    "booleans": Booleans,
    "nulls": Nulls,
    "paging": Paging,
    "errors": ErrorBodies,
    "single_envelope": SingleEnvelope,
    "login_shape": LoginShape,
    "login_body": LoginBody,
    "single_relations": SingleRelations,
    "empty_demographics": EmptyDemographics,
    "put_semantics": PutSemantics,
    "show_includes": ShowIncludes,
    "create_answer": CreateAnswer,
    "duplicates": Duplicates,
    "no_dates": NoDates,
    "meta_encoding": MetaEncoding,
    "demographics_shape": DemographicsShape,
    "spellings": Spellings,
    "sort_ties": SortTies,
    "foreign_patients": ForeignPatients,
    "past_the_end": PastTheEnd,
    "empty_lists": EmptyLists,
    "empty_pages": EmptyPages,
    "empty_envelope": EmptyEnvelope,
    "write_answers": WriteAnswers,
    "trashed_filter": TrashedFilter,
    "rate_window": RateWindow,
    "missing_show": MissingShow,
    "list_filters": ListFilters,
    "sort_param": SortParam,
    "update_nulls": UpdateNulls,
    "meta_updates": MetaUpdates,
    "allergies_shape": AllergiesShape,
    "allergy_charting": AllergyCharting,
    "meta_input": MetaInput,
    "nested_keys": NestedKeys,
}


def nfd(text: str | None) -> str | None:
    return None if text is None else unicodedata.normalize("NFD", text)
