"""One patient: ``POST /v1/patients`` and ``GET/PUT/PATCH/DELETE /v1/patients/{id}``.

Order of checks: the patient id (404), then validation (422), then Spatie's include
allow-list (400, ``GET`` only). Create rules: ``first_name``/``last_name``
``required|string|max:255``, ``middle_name`` ``nullable|string|max:255``,
``date_of_birth`` ``required|date|before:today`` (today in UTC by the clock),
``notes``/``allergies``/``insurance`` ``nullable|string``, ``meta`` ``nullable|array``;
other body fields are ignored. Update: the same rules for the fields present
(``sometimes``), minus ``insurance`` (the documented update body lacks it). ``PATCH`` is
``PUT`` (``apiResource``). Single-patient responses always carry ``encounters``; create
and update take no ``include``; with ``include_demographics=False`` (``readings``) ``show``
ignores ``include=demographics``; with ``single_relations="included"`` they carry
``encounters`` only when ``include`` asks for it (so create and update never do); with
``put_semantics="replace"`` an update body's missing fields are null; with
``write_answers="text"`` a create, update or delete answers its message as text; with
``update_nulls`` other than ``"set"`` an update leaves the fields it is sent null
(``"skipped"``; an empty string is then stored as sent) or empty (``"filtered"``) as they are;
with ``meta_updates`` other than ``"replaced"`` it merges the ``meta`` it is sent into the stored
one; with ``allergies_shape`` other than ``"text"`` the allergy text a write sends is kept as its items; with
``meta_input="ignored"`` a write does not take the ``meta`` object it is sent; with
``replica_lag`` the show serves a patient written within that many seconds as it was before the
write (a patient just created is not found); with
``create_answer="message"`` a create answers 201 ``{"message": "Patient created
successfully"}`` without the record; with ``missing_show`` other than ``"404"`` the show of no
patient answers 200 with ``{"data": null}``, ``null`` or ``{}``; with ``duplicates="409"`` a create naming a live
patient's first and last name and date of birth is 409 Conflict.
"""

from __future__ import annotations

import re
import unicodedata

from starlette.requests import Request
from starlette.responses import Response

from sandboxes.nextvisit.errors import patient_not_found, respond
from sandboxes.nextvisit.php_json import php_json
from sandboxes.nextvisit.readings import MetaUpdates, UpdateNulls
from sandboxes.nextvisit.request_input import request_input, request_query, sent_json
from sandboxes.nextvisit.resource import PLAIN, SINGLE
from sandboxes.nextvisit.rows import PatientRow
from sandboxes.nextvisit.spatie import INCLUDES, includes
from sandboxes.nextvisit.store import Store
from sandboxes.nextvisit.validation import Rules
from sandboxes.toolkit.aliases import JsonObject
from sandboxes.toolkit.errors import ApiError
from sandboxes.toolkit.timestamps import iso_date

__all__ = ["PatientRecords"]

# The show's include allow-list under each ``show_includes`` reading (``list``: the list's own).
# ``encounters``: the relations the show's documented answer carries (``user``, ``encounters``).
_SHOW_ALLOWED: dict[str, tuple[str, ...]] = {"demographics": ("demographics",), "encounters": ("user", "encounters")}

# What the show answers (200) for no patient under each ``missing_show`` reading but Laravel's 404:
# an Express handler's `res.json({data: await Patient.findByPk(id)})`, a Go handler encoding a nil
# pointer, `res.json(patient || {})`.
_MISSING_SHOW: dict[str, bytes] = {"null_data": b'{"data":null}', "null": b"null", "empty": b"{}"}

# Where the ``allergies_shape="list"`` reading splits the allergy text a write sends into items.
_ALLERGY_SEPARATORS = re.compile(r"\s*[,;\n]\s*")
_FIELDS = ("first_name", "middle_name", "last_name", "date_of_birth", "notes", "allergies", "insurance", "meta")
_REQUIRED = ("first_name", "last_name", "date_of_birth")


#: Ids of patients of another team: not found within this one (``foreign_patients="404"``), or
#: refused by an authorization policy (``"403"``).
FOREIGN_IDS = frozenset({"9001", "9002"})


class PatientRecords:
    """The single-patient endpoints over `store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def create(self, request: Request, token_id: int) -> Response:
        fields = self._validated(await request_input(request), update=False)
        if self.store.readings.duplicates == "409" and self._duplicate(fields):
            raise ApiError(409, {"message": "A patient with this name and date of birth already exists."})
        row = self.store.create(fields)
        if self.store.readings.write_answers == "text":
            return _text(201, "Patient created successfully")
        if self.store.readings.create_answer == "message":  # the delete answer's style, no record
            return respond(201, php_json({"message": "Patient created successfully"}))
        return self._single(row, 201)

    def _duplicate(self, fields: JsonObject) -> bool:
        """Whether a live patient has the new one's first and last name (case and normal form
        aside) and date of birth."""

        def key(doc: JsonObject) -> tuple[str, str, object]:
            first, last = (unicodedata.normalize("NFC", doc[n] or "").casefold() for n in ("first_name", "last_name"))
            return first, last, doc["date_of_birth"]

        new = key(fields)
        return any(not row.deleted and key(row.doc) == new for row in self.store.rows.values())

    async def show(self, request: Request, token_id: int) -> Response:
        missing = _MISSING_SHOW.get(self.store.readings.missing_show)
        if missing is not None and self._absent(request):
            return respond(200, missing)
        row = self._row(request, trashed=True)
        behind, seen = self.store.replica.behind(row.id)
        if behind and seen is None:  # created since the replica last caught up: not there yet
            if missing is not None:
                return respond(200, missing)
            raise patient_not_found(request.path_params["patient_id"])
        if behind and seen is not None:  # as it was before the write the replica has yet to see
            row = PatientRow(doc=seen, user_id=row.user_id, encounters=row.encounters, timeline=row.timeline,
                             demographics=row.demographics)  # fmt: skip
            row.refresh()
        allowed = _SHOW_ALLOWED.get(self.store.readings.show_includes, INCLUDES)
        included = includes(request_query(request), allowed)
        demographics = "demographics" in included and self.store.readings.include_demographics
        encounters = "encounters" in included or self.store.readings.single_relations == "always"
        variant = ("team" in included, encounters, demographics, row.deleted)
        return respond(200, self._envelope(self.store.patient_json(row, variant)))

    async def update(self, request: Request, token_id: int) -> Response:
        row = self._row(request)
        data = await request_input(request)
        nulls = self.store.readings.update_nulls
        if nulls != "set":
            data = _given(data, await sent_json(request), nulls)
        if self.store.readings.put_semantics == "replace":  # what the body leaves out is null
            data = {name: data.get(name) for name in _FIELDS if name != "insurance"}
        fields = self._validated(data, update=True)
        if isinstance(fields.get("meta"), dict) and self.store.readings.meta_updates != "replaced":
            fields["meta"] = _merged_meta(row.doc["meta"], fields["meta"], self.store.readings.meta_updates)
        self.store.update(row, fields)
        if self.store.readings.write_answers == "text":
            return _text(200, "Patient updated successfully")
        return self._single(row)

    async def delete(self, request: Request, token_id: int) -> Response:
        self.store.delete(self._row(request))
        if self.store.readings.delete_status == 204:
            return Response(status_code=204, headers={"Cache-Control": "no-cache, private"})
        if self.store.readings.write_answers == "text":
            return _text(200, "Patient deleted successfully")
        return respond(200, php_json({"message": "Patient deleted successfully"}))

    def _absent(self, request: Request) -> bool:
        """Whether the show finds no patient where the path points (a policy's 403 aside)."""
        try:
            self._row(request, trashed=True)
        except ApiError as exc:
            return exc.status == 404
        return False

    def _row(self, request: Request, *, trashed: bool = False) -> PatientRow:
        """The patient the path names; a soft-deleted one only for a ``show_trashed`` show."""
        raw_id: str = request.path_params["patient_id"]
        if raw_id in FOREIGN_IDS and self.store.readings.foreign_patients == "403":
            # Another team's patient, refused by a policy (`$this->authorize('view', $patient)`,
            # or Pundit) rather than looked up within the team: Laravel's AuthorizationException.
            raise ApiError(403, {"message": "This action is unauthorized."})
        row = self.store.live_row(raw_id)
        if row is None and trashed and self.store.readings.show_trashed:
            row = self.store.any_row(raw_id)
        if row is None:
            raise patient_not_found(raw_id)
        return row

    def _single(self, row: PatientRow, status: int = 200) -> Response:
        variant = SINGLE if self.store.readings.single_relations == "always" else PLAIN
        return respond(status, self._envelope(self.store.patient_json(row, variant)))

    def _envelope(self, patient: bytes) -> bytes:
        """``{"data": patient}``, or the patient itself (``single_envelope="bare"``: Laravel's
        ``JsonResource::withoutWrapping()``)."""
        return patient if self.store.readings.single_envelope == "bare" else b'{"data":' + patient + b"}"

    def _validated(self, data: JsonObject, *, update: bool) -> JsonObject:
        """The validated fields of a create (all) or update (those present) body."""
        rules = Rules(data)
        out: JsonObject = {}
        for name in _FIELDS:
            if update and name == "insurance":
                continue
            present, _ = rules.get(name)
            ok, value = rules.field(name, required=name in _REQUIRED, sometimes=update)
            if update and not present:
                continue
            out[name] = value if ok else None
            if not ok:
                continue
            if name == "date_of_birth":
                born = rules.date(name, value)
                if born is not None and born >= self.store.now().date():
                    rules.fail(name, "The :attribute field must be a date before today.")
                out[name] = iso_date(born)
            elif name == "meta":
                if not isinstance(value, dict | list):
                    rules.fail(name, "The :attribute field must be an array.")
                elif self.store.readings.meta_input == "ignored":  # not permitted: dropped unsaid
                    del out[name]
                    if not update:
                        out[name] = None
            else:
                text = rules.string(name, value, 255 if name.endswith("_name") else None)
                shape = self.store.readings.allergies_shape
                if text and name == "allergies" and shape != "text":
                    items = [item for item in _ALLERGY_SEPARATORS.split(value) if item]
                    out[name] = items if shape == "list" else [{"name": item, "reaction": None} for item in items]
        rules.check()
        return out


def _given(data: JsonObject, sent: JsonObject, nulls: UpdateNulls) -> JsonObject:
    """The fields of an update body (`data`, as Laravel's middleware leaves it; `sent`, as sent)
    that an app updating "the fields given" sets: under ``skipped`` those not sent as null, one
    sent as blank text stored empty (no middleware made it null: Spring, ASP.NET); under
    ``filtered`` those not empty (PHP's ``array_filter``: null, and ``[]`` or ``{}``)."""
    if nulls == "filtered":
        return {name: value for name, value in data.items() if value is not None and value != [] and value != {}}
    given: JsonObject = {}
    for name, value in data.items():
        as_sent = sent.get(name, value)
        if as_sent is not None:
            given[name] = "" if isinstance(as_sent, str) and not as_sent.strip() else value
    return given


def _merged_meta(stored: object, sent: JsonObject, how: MetaUpdates) -> JsonObject:
    """The `meta` an update stores under ``meta_updates`` ``merged`` (`sent`'s keys over
    `stored`'s) or ``merge_patch`` (RFC 7396 section 2: objects merged at every depth, null
    removing a key, anything else replacing)."""
    base: JsonObject = stored if isinstance(stored, dict) else {}
    if how == "merged":
        return {**base, **sent}
    return _merge_patch(base, sent)


def _merge_patch(target: JsonObject, patch: JsonObject) -> JsonObject:
    merged = dict(target)
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
        elif isinstance(value, dict):
            below = merged.get(name)
            merged[name] = _merge_patch(below if isinstance(below, dict) else {}, value)
        else:
            merged[name] = value
    return merged


def _text(status: int, message: str) -> Response:
    """A write's success said as text (``write_answers="text"``): Spring's
    ``ResponseEntity.ok("...")`` of a ``String`` (``text/plain``), Express's ``res.send("...")``."""
    return Response(message, status_code=status, media_type="text/plain; charset=UTF-8",
                    headers={"Cache-Control": "no-cache, private"})  # fmt: skip
