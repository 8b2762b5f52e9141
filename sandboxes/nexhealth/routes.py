"""The NexHealth API's routes: what each one reads, checks and answers.

Order of checks on every route but ``/authenticates``: version (400), credentials (401), rate
limit (429), required parameters (400, all missing ones at once), ``subdomain`` (403),
``location_id`` (400 not an integer, 404 unknown), other parameters (400), the record (404).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from typing import TypeVar

import orjson
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from sandboxes.nexhealth.auth import TokenIssuer
from sandboxes.nexhealth.birth_search import searched_birth_day
from sandboxes.nexhealth.body_keys import (
    Declared,
    create_keys,
    edit_keys,
    sent_fields,
    undeclared,
    unknown_key_messages,
)
from sandboxes.nexhealth.envelope import envelope
from sandboxes.nexhealth.errors import BodyRefused, ErrorAnswers
from sandboxes.nexhealth.formats import is_date
from sandboxes.nexhealth.new_patient import read_new_patient
from sandboxes.nexhealth.paging import DEFAULT_PER_PAGE
from sandboxes.nexhealth.patient_edit import read_patient_edit
from sandboxes.nexhealth.protocol import VERSION_ERROR, accepts_v2
from sandboxes.nexhealth.query import QueryParameters
from sandboxes.nexhealth.ratelimit import RateLimiter
from sandboxes.nexhealth.readings import DOCUMENTED, CancelledMeans, PatientEnvelope, PatientList, Reading
from sandboxes.nexhealth.store import PatientRow, Store
from sandboxes.nexhealth.style import count_bytes, styled
from sandboxes.toolkit.aliases import Handler
from sandboxes.toolkit.errors import ApiError, catch_api_errors
from sandboxes.toolkit.integers import ascii_int
from sandboxes.toolkit.paging import page_slice

__all__ = ["NexHealthApi"]

_DUPLICATE = "A patient with that information already exists."
_LIST_PARAMS = frozenset({"subdomain", "location_id", "page", "per_page"})
_PATIENT_PARAMS = _LIST_PARAMS | {"location_strict", "new_patient", "non_patient", "inactive",
                                  "include_upcoming_appts", "name", "email", "phone_number",
                                  "date_of_birth", "foreign_id"}  # fmt: skip
# The parameters the docs name for `GET /patients` (getting-started's request, the patients page).
_DOCUMENTED_PATIENT_PARAMS = _LIST_PARAMS | {"new_patient", "include_upcoming_appts", "location_strict", "name",
                                             "email", "phone_number", "inactive", "non_patient"}  # fmt: skip
_ONE_PATIENT_PARAMS = frozenset({"subdomain", "location_id", "include_upcoming_appts"})
_CREATE_PARAMS = frozenset({"subdomain", "location_id"})
_NOT_EDITED = "Patient not found"
# An empty list under its plural name, as Go's `omitempty` writes it (``empty_lists="omitted"``).
_EMPTY_SLICE_OMITTED = {b'{"patients":[]}': b"{}", b'[{"patients":[]}]': b"[{}]"}
T = TypeVar("T")
_APPOINTMENT_PARAMS = _LIST_PARAMS | {"start", "end", "patient_id", "provider_id", "cancelled", "include[]"}
_ONE_APPOINTMENT_PARAMS = frozenset({"subdomain", "location_id", "include[]"})
# A body's refusal of its gender's spelling, as `new_patient` and `patient_edit` word it.
_SPELLING_REFUSED = re.compile(r"(?P<path>\S*gender) must be one of (?P<values>.+)")


class NexHealthApi:
    """The routes of one institution (`subdomain`), authenticated with `api_key`, timed by `clock`."""

    def __init__(
        self,
        store: Store,
        tokens: TokenIssuer,
        limiter: RateLimiter,
        *,
        api_key: str,
        subdomain: str,
        clock: Callable[[], float],
        patient_envelope: PatientEnvelope = "nested",
        patient_list: PatientList = "object",
        cancelled_means: CancelledMeans = "include",
        latest_year: int | None = None,
        reading: Reading = DOCUMENTED,
    ) -> None:
        self.store = store
        self.tokens = tokens
        self.limiter = limiter
        self.api_key = api_key.encode()
        self.subdomain = subdomain.lower()
        self.clock = clock
        self.patient_envelope = patient_envelope
        self.patient_list = patient_list
        self.cancelled_means = cancelled_means
        self.latest_year = latest_year
        self.reading = reading
        self.errors = ErrorAnswers(reading.error_body, reading.framework_errors)

    def routes(self) -> list[Route]:
        return [
            Route("/authenticates", self.authenticate, methods=["POST"]),
            Route("/patients", self.guarded(self.list_patients), methods=["GET"]),
            Route("/patients", self.guarded(self.create_patient), methods=["POST"]),
            Route("/patients/{patient_id}", self.guarded(self.get_patient), methods=["GET"]),
            Route("/patients/{patient_id}", self.guarded(self.edit_patient), methods=["PATCH"]),
            Route("/providers", self.guarded(self.list_providers), methods=["GET"]),
            Route("/appointments", self.guarded(self.list_appointments), methods=["GET"]),
            Route("/appointments/{appointment_id}", self.guarded(self.get_appointment), methods=["GET"]),
        ]

    # ---- checks every route shares

    def guarded(self, handler: Handler) -> Handler:
        """Count the request, then check version, token and rate limit; turn ``ApiError`` into its envelope."""
        answer = catch_api_errors(handler, self.errors.api_error)

        async def checked(request: Request) -> Response:
            request.app.state.requests += 1
            if not accepts_v2(request.headers.get("accept")):
                return self.errors.refuse(400, [VERSION_ERROR])
            problem = self.tokens.check(request.headers.get("authorization"), self.clock())
            if problem is not None:
                return self.errors.unauthorized(problem)
            now = self.clock()
            limited = self.limiter.admit(now)
            if limited is not None:
                return self.throttled(limited, now)
            return await answer(request)

        return checked

    def throttled(self, message: str, now: float) -> Response:
        """The 429 for a request refused at `now`; with ``Retry-After`` under that reading."""
        response = self.errors.refuse(429, [message])
        if self.reading.retry_after == "seconds":
            response.headers["Retry-After"] = str(self.limiter.wait(now))
        return response

    def read_body(self, raw: bytes, declared: Declared, read: Callable[[], T]) -> T:
        """What `read` reads of a create or edit body, refused as the reading's framework
        refuses it: keys `declared` does not hold (``unknown_keys="refused"``: Rails raises on
        them before validating anything, NestJS and FastAPI list them beside the body's other
        faults); a gender's spelling (``unknown_gender``); FastAPI's refusals with its 422."""
        style = self.reading.error_body
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
        unknown = undeclared(body, declared) if self.reading.unknown_keys == "refused" else []
        if unknown and style not in ("nestjs", "pydantic"):
            raise ApiError(400, unknown_key_messages(unknown, style))
        refusal = unknown_key_messages(unknown, style)
        try:
            value = read()
        except ApiError as refused:
            refusal += self.gender_words(refused.detail)
        else:
            if not refusal:
                return value
        raise BodyRefused(self.refusal_status(refusal), refusal, body)

    def gender_words(self, messages: list[str]) -> list[str]:
        """A refused body's `messages`, the refusal of its gender's spelling as ``unknown_gender``
        and ``error_body`` say it: a 500 instead under ``"failed"`` (Rails' enum raising
        ``ArgumentError``), whatever else the body lacks; Rails' inclusion validation without
        the list under ``"not_included"``; class-validator's ``@IsEnum`` words under NestJS."""
        worded: list[str] = []
        for message in messages:
            spelled = _SPELLING_REFUSED.fullmatch(str(message))
            if spelled is None:
                worded.append(message)
            elif self.reading.unknown_gender == "failed":
                raise ApiError(500, ["Internal server error"])
            elif self.reading.unknown_gender == "not_included":
                worded.append(f"{spelled['path']} is not included in the list")
            elif self.reading.error_body == "nestjs":
                worded.append(f"{spelled['path']} must be one of the following values: {spelled['values']}")
            else:
                worded.append(message)
        return worded

    def refusal_status(self, messages: list[str]) -> int:
        """A refused body's status: FastAPI's 422 for its validation errors, Rails' 422 for a
        model's (``render json: ..., status: :unprocessable_entity``), else 400."""
        rails_validation = any(m.endswith("is not included in the list") for m in messages)
        return 422 if self.reading.error_body == "pydantic" or rails_validation else 400

    def duplicate(self) -> ApiError:
        """The refusal of a patient clashing with another, as the ``duplicate_status`` reading says."""
        if self.reading.duplicate_status == "409":
            return ApiError(409, ["Duplicate patient"])
        return ApiError(400, [_DUPLICATE])

    def scope(self, params: QueryParameters, *required: str) -> int:
        """Check ``subdomain``, ``location_id`` and `required`; the location."""
        params.require("subdomain", "location_id", *required)
        self.check_subdomain(params)
        return self.check_location(params)

    def check_location(self, params: QueryParameters) -> int:
        location = params.integer("location_id")
        if location is None or (location not in self.store.locations and self.reading.unknown_location == "not_found"):
            raise ApiError(404, ["Location not found"])
        return location

    def body_location(self, raw: bytes) -> int:
        """The location of a write under ``create_location="body"`` (``edit_location``): the body's top-level
        ``location_id`` (a number or a string of digits), checked as the query's would be."""
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
        given = body.get("location_id") if isinstance(body, dict) else None
        if given is None or given == "":
            raise ApiError(400, ["location_id is required"])
        location = given if isinstance(given, int) and not isinstance(given, bool) else ascii_int(str(given))
        if location is None:
            raise ApiError(400, ["location_id must be an integer"])
        if location not in self.store.locations and self.reading.unknown_location == "not_found":
            raise ApiError(404, ["Location not found"])
        return location

    def check_subdomain(self, params: QueryParameters) -> None:
        if (params.get("subdomain") or "").lower() != self.subdomain:
            if self.reading.unknown_subdomain == "not_found":
                raise ApiError(404, ["record not found"])
            raise ApiError(403, ["You do not have access to this institution"])

    # ---- authentication

    async def authenticate(self, request: Request) -> Response:
        """The API key, as the whole ``Authorization`` header, for a JWT."""
        request.app.state.requests += 1
        if not accepts_v2(request.headers.get("accept")):
            return self.errors.refuse(400, [VERSION_ERROR])
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, self.api_key):
            return self.errors.refuse(401, ["Invalid API key"])
        now = self.clock()
        limited = self.limiter.admit(now)
        if limited is not None:
            return self.throttled(limited, now)
        request.app.state.authentications += 1
        return envelope(201, orjson.dumps({"token": self.tokens.issue(now)}), b'"Authenticated"')

    def paging(self, params: QueryParameters) -> tuple[int, int]:
        """The page (from 1) and page size of a list, as the ``per_page`` and ``page_base``
        readings take `params`."""
        page, per_page = params.paging()
        if self.reading.page_base == "zero":  # `page=0` is the first page, `page=1` the second
            raw = params.get("page")
            page = int(raw) + 1 if raw is not None and raw.isascii() and raw.isdigit() else 1
        if self.reading.per_page == "ignored":
            return page, DEFAULT_PER_PAGE
        if self.reading.per_page == "refused_50" and per_page > 50:
            raise ApiError(400, ["per_page must be less than or equal to 50"])
        if self.reading.per_page == "refused_50_humanized" and per_page > 50:  # Rails' `full_messages`
            raise ApiError(400, ["Per page must be less than or equal to 50"])
        return page, min(per_page, 50) if self.reading.per_page == "max_50" else per_page

    def page_of(self, items: list[T], page: int, per_page: int) -> list[T]:
        """One page of `items`; past the end, an empty list or (``past_end="last"``) the last page."""
        found = page_slice(items, page, per_page)
        if found or not items or self.reading.past_end == "empty":
            return found
        return page_slice(items, (len(items) + per_page - 1) // per_page, per_page)

    def listed(self, data: bytes, params: QueryParameters, count: int, held: int) -> Response:
        """A list answer: `count` records in all, `held` of them in `data`."""
        if count == 0 and self.reading.empty_lists in ("not_found", "no_body"):
            return self.none_found("Not found")
        shown = held if self.reading.count == "page" else count
        if held == 0 and self.reading.empty_lists == "omitted":  # Go's `omitempty`: no empty slice, no zero
            written = None if shown == 0 else count_bytes(shown, self.reading)
            return envelope(200, _EMPTY_SLICE_OMITTED.get(data, data), params.description(), written)
        return envelope(200, data, params.description(), count_bytes(shown, self.reading))

    @property
    def _truthy(self) -> bool:
        """Whether a boolean query parameter given is true whatever its value (``query_booleans``)."""
        return self.reading.query_booleans == "truthy"

    def none_found(self, message: str) -> Response:
        """The 404 of a read or a list of no one: `message` in the reading's error body, or no
        body at all under ``empty_lists="no_body"`` (Spring's ``ResponseEntity.notFound().build()``)."""
        if self.reading.empty_lists == "no_body":
            return Response(status_code=404)
        return self.errors.refuse(404, [message])

    # ---- patients

    async def list_patients(self, request: Request) -> Response:
        if self.reading.undocumented_params == "refused":  # a Joi schema of the documented ones
            refused = [name for name in dict.fromkeys(request.query_params) if name not in _DOCUMENTED_PATIENT_PARAMS]
            if refused:
                raise ApiError(400, [f'"{name}" is not allowed' for name in refused])
        params = QueryParameters(request.query_params, _PATIENT_PARAMS, truthy=self._truthy)
        location = self.scope(params)
        strict = bool(params.boolean("location_strict"))
        flags = (params.boolean("new_patient"), params.boolean("non_patient"), params.boolean("inactive"))
        if self.reading.absent_flags == "false":  # a flag not given filters as `false`
            flags = (flags[0] or False, flags[1] or False, flags[2] or False)
        if self.reading.flags_true == "include":  # `true` filters out no one
            flags = (None if flags[0] else flags[0], None if flags[1] else flags[1], None if flags[2] else flags[2])
        upcoming = bool(params.boolean("include_upcoming_appts"))
        birth_date = params.get("date_of_birth")
        if birth_date is not None and not is_date(birth_date):
            raise ApiError(400, ["date_of_birth must be a date (YYYY-MM-DD)"])
        if birth_date is not None:  # the stored day it finds, as the framework casts it (`birth_search`)
            birth_date = searched_birth_day(birth_date, self.reading)
        foreign_id = params.get("foreign_id") if self.reading.foreign_id_search == "exact" else None
        terms = (params.get("name"), params.get("email"), params.get("phone_number"), birth_date,
                 foreign_id)  # fmt: skip
        page, per_page = self.paging(params)
        rows = self.store.search(location, strict, flags, terms)
        if self.reading.patient_order == "newest_first":
            rows = rows[::-1]
        shown = self.page_of(rows, page, per_page)
        items = b"[" + b",".join(row.render(upcoming) for row in shown) + b"]"
        data = {"object": b'{"patients":' + items + b"}", "array": items, "wrapped": b'[{"patients":' + items + b"}]"}
        return self.listed(data[self.patient_list], params, len(rows), len(shown))

    def one_patient(self, rendered: bytes) -> bytes:
        """The ``data`` of a single-patient answer, as ``patient_envelope`` says."""
        return rendered if self.patient_envelope == "flat" else b'{"patient":' + rendered + b"}"

    async def get_patient(self, request: Request) -> Response:
        """One patient of the whole institution, whatever the location."""
        if self.reading.patient_show == "absent":  # no such route: the docs do not describe it
            return self.errors.no_route(request)
        params = QueryParameters(request.query_params, _ONE_PATIENT_PARAMS, truthy=self._truthy)
        location = self.scope(params)
        upcoming = bool(params.boolean("include_upcoming_appts"))
        patient_id = ascii_int(request.path_params["patient_id"])
        row = self.store.rows.get(patient_id) if patient_id is not None else None
        if (
            row is not None
            and self.reading.patient_show.startswith("location")
            and location not in row.doc["location_ids"]
        ):
            if self.reading.patient_show == "location_forbidden":  # Pundit's NotAuthorizedError, 403
                raise ApiError(403, ["You are not authorized to view this patient at this location"])
            row = None  # another location's: not among this location's patients
        if row is None and self.reading.missing_read == "null":  # the lookup's null, sent as it is
            return envelope(200, self.one_patient(b"null"), params.description())
        if row is None:
            return self.none_found("Patient not found")
        return envelope(200, self.one_patient(row.render(upcoming)), params.description())

    async def create_patient(self, request: Request) -> Response:
        raw = await request.body()
        if self.reading.create_location == "body":  # `location_id` in the query is an unknown parameter
            params = QueryParameters(request.query_params, _CREATE_PARAMS - {"location_id"}, truthy=self._truthy)
            params.require("subdomain")
            self.check_subdomain(params)
            location = self.body_location(raw)
        else:
            params = QueryParameters(request.query_params, _CREATE_PARAMS, truthy=self._truthy)
            location = self.scope(params)
        reading = self.reading
        patient = self.read_body(
            raw,
            create_keys(reading),
            lambda: read_new_patient(raw, reading.create_body, reading.genders, reading.gender_at, reading.phone_input),
        )
        if patient.provider_id is not None and patient.provider_id not in self.store.providers:
            raise ApiError(400, ["Provider not found"])
        if self.store.duplicate(patient):
            raise self.duplicate()
        row = self.store.create(location, patient)
        if self.reading.create_answer == "status_text":  # Express's `res.sendStatus(201)`
            return PlainTextResponse("Created", status_code=201)
        if self.reading.create_answer == "none":
            return envelope(201, b"null", params.description())
        if self.reading.create_answer == "id":
            return envelope(201, orjson.dumps(styled({"id": row.id}, self.reading)), params.description())
        return envelope(201, self.one_patient(self.written(row)), params.description())

    def written(self, row: PatientRow) -> bytes:
        """The patient a create or edit answers with: without ``bio`` under ``written_bio="absent"``."""
        if self.reading.written_bio == "included":
            return row.render(False)
        return orjson.dumps({k: v for k, v in styled(row.doc, self.reading).items() if k != "bio"})

    async def edit_patient(self, request: Request) -> Response:
        """``PATCH /patients/{id}``: the given fields changed (inserted patients too: the docs
        say such edits are later overwritten by the practice system's sync, not refused)."""
        raw = await request.body()
        if self.reading.edit_location == "body":  # `location_id` in the query is an unknown parameter
            params = QueryParameters(request.query_params, _CREATE_PARAMS - {"location_id"}, truthy=self._truthy)
            params.require("subdomain")
            self.check_subdomain(params)
            location = self.body_location(raw)
        else:
            params = QueryParameters(request.query_params, _CREATE_PARAMS, truthy=self._truthy)
            location = self.scope(params)
        patient_id = ascii_int(request.path_params["patient_id"])
        row = self.store.rows.get(patient_id) if patient_id is not None else None
        if row is not None and self.reading.edit_scope != "institution" and location not in row.doc["location_ids"]:
            if self.reading.edit_scope == "location_forbidden":  # Pundit's `authorize @patient, :update?`
                raise ApiError(403, ["You are not authorized to edit this patient at this location"])
            row = None  # another location's: not among this location's patients
        if row is None:
            raise ApiError(404, [_NOT_EDITED])
        reading = self.reading
        edit = self.read_body(
            raw,
            edit_keys(reading),
            lambda: read_patient_edit(
                raw,
                reading.patch_body,
                reading.genders,
                reading.gender_at,
                reading.phone_input,
                reading.edit_fields,
                reading.bio_nulls,
            ),
        )
        if self.reading.edit_duplicates == "self_included" and self.store.holds_contact(edit.email, edit.phone):
            raise self.duplicate()
        edited = self.store.edit(row, edit)
        if self.store.duplicate(edited, but=row):
            raise self.duplicate()
        self.store.keep(edited)
        if self.reading.edit_answer == "no_content":
            return Response(status_code=204)
        if self.reading.edit_answer == "status_text":  # Express's `res.sendStatus(200)`
            return PlainTextResponse("OK")
        if self.reading.edit_answer == "sent":
            echoed = sent_fields(raw, self.reading.patch_body)
            return envelope(200, self.one_patient(orjson.dumps({"id": row.id, **echoed})), params.description())
        answered = row if self.reading.edit_answer == "before" else edited
        return envelope(200, self.one_patient(self.written(answered)), params.description())

    # ---- providers

    async def list_providers(self, request: Request) -> Response:
        if self.reading.providers == "absent":  # no such endpoint: the docs do not describe it
            return self.errors.no_route(request)
        params = QueryParameters(request.query_params, _LIST_PARAMS, truthy=self._truthy)
        self.scope(params)
        page, per_page = self.paging(params)
        ids = sorted(self.store.providers)
        shown = self.page_of(ids, page, per_page)
        items = b",".join(self.store.provider_bytes[provider_id] for provider_id in shown)
        return self.listed(b"[" + items + b"]", params, len(ids), len(shown))

    # ---- appointments

    async def list_appointments(self, request: Request) -> Response:
        """The appointments AT ``location_id`` starting in ``[start, end]``; cancelled ones only when
        asked (and, with ``cancelled_means="only"``, only those)."""
        if self.reading.appointments == "absent":  # no such endpoint: the docs do not describe it
            return self.errors.no_route(request)
        params = QueryParameters(request.query_params, _APPOINTMENT_PARAMS, truthy=self._truthy)
        location = self.scope(params, "start", "end")
        start, end = params.instant("start"), params.instant("end")
        if end < start:
            raise ApiError(400, ["end must not be before start"])
        if self.latest_year is not None and max(start.year, end.year) > self.latest_year:
            if self.reading.past_latest == "failed":
                raise ApiError(500, ["Internal server error"])
            raise ApiError(400, [f"start and end must not be after {self.latest_year}"])
        patient_id = params.integer("patient_id")
        provider_id = params.integer("provider_id")
        cancelled = params.boolean("cancelled")
        only_cancelled = bool(cancelled) and self.cancelled_means == "only"
        includes = params.includes()
        page, per_page = self.paging(params)
        found = [
            appointment for appointment in self.store.window(location, start, end)
            if (patient_id is None or appointment.doc["patient_id"] == patient_id)
            and (provider_id is None or appointment.doc["provider_id"] == provider_id)
            and (cancelled or not appointment.doc["cancelled"])
            and (not only_cancelled or appointment.doc["cancelled"])
        ]  # fmt: skip
        shown = self.page_of(found, page, per_page)
        rendered = (self.store.render_appointment(appointment, includes) for appointment in shown)
        return self.listed(b"[" + b",".join(rendered) + b"]", params, len(found), len(shown))

    async def get_appointment(self, request: Request) -> Response:
        """One appointment; ``location_id`` is optional here, checked when given, and does not narrow."""
        if self.reading.appointments == "absent":
            return self.errors.no_route(request)
        params = QueryParameters(request.query_params, _ONE_APPOINTMENT_PARAMS, truthy=self._truthy)
        params.require("subdomain")
        self.check_subdomain(params)
        if params.get("location_id") is not None:
            self.check_location(params)
        includes = params.includes()
        appointment_id = ascii_int(request.path_params["appointment_id"])
        appointment = self.store.appointments.get(appointment_id) if appointment_id is not None else None
        if appointment is None and self.reading.missing_read == "null":
            return envelope(200, b'{"appointment":null}', params.description())
        if appointment is None:
            return self.none_found("Appointment not found")
        rendered = self.store.render_appointment(appointment, includes)
        return envelope(200, b'{"appointment":' + rendered + b"}", params.description())
