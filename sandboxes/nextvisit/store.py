"""Nextvisit's in-memory data: patients, users, the API user's tokens, and every write.

The store renders its own copy of the clinic at start-up, so writes never touch the
cached ``Clinic``. Writes are stamped by the app's clock to the second. New patients get
the next id after the highest ever used and a uuid5; an update that changes nothing
leaves ``updated_at`` alone (Eloquent saves only dirty models); ``DELETE`` is a soft
delete (``deleted_at`` and ``updated_at`` set to now). The clinic's deleted patient was
deleted at its ``updated_at``.

Users: every clinic provider is a user (same id); the API user comes after them (name
"Sandbox API User", the configured email, ``current_team_id`` 1) and owns patients
created over the API. Sorted lists and query results are cached until the next write.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cachetools import LRUCache

from sandboxes.clinic import Clinic
from sandboxes.nextvisit.php_json import php_json
from sandboxes.nextvisit.readings import Readings, nfd
from sandboxes.nextvisit.render import Renderer, iso_seconds, provider_user
from sandboxes.nextvisit.replica import Replica
from sandboxes.nextvisit.resource import patient_full
from sandboxes.nextvisit.rows import PatientRow, Variant
from sandboxes.nextvisit.search_index import SearchIndex
from sandboxes.nextvisit.tokens import PersonalAccessTokens
from sandboxes.nextvisit.wire import on_the_wire, with_empty_arrays, with_extra_field, with_shapes
from sandboxes.toolkit.aliases import JsonObject
from sandboxes.toolkit.caches import bounded_cache, memoized
from sandboxes.toolkit.clock import Clock
from sandboxes.toolkit.folding import folded_words
from sandboxes.toolkit.integers import ascii_int

__all__ = ["Store"]

_TEAM_ID = 1
_TEAM_NAME = "Sandbox Dental Group"
_API_USER_NAME = "Sandbox API User"
_SEARCH_MAX_WORDS = 10  # Meilisearch's default: later query words are ignored


class Store:
    """All patients by id (soft-deleted ones too), users, tokens, and the write operations."""

    def __init__(
        self, clinic: Clinic, email: str, password: str, clock: Clock, readings: Readings | None = None
    ) -> None:
        self.clock = clock
        self.readings = readings or Readings()
        self.render = Renderer(clinic, self.readings)
        self.rows: dict[int, PatientRow] = {}
        for patient in clinic.patients:
            row = self.render.patient(patient)
            self._store_names(row.doc)
            row.refresh()
            self.rows[row.id] = row
        self.next_patient_id = max(self.rows, default=0) + 1
        self.users: dict[int, JsonObject] = {provider.id: provider_user(provider) for provider in clinic.providers}
        epoch = min((patient.created_at for patient in clinic.patients), default=datetime(2020, 1, 1, tzinfo=UTC))
        epoch = epoch - timedelta(days=1)
        self.api_user_id = max(self.users, default=0) + 1
        self.users[self.api_user_id] = {"id": self.api_user_id, "name": _API_USER_NAME, "email": email}
        self.login_user: JsonObject = {
            **self.users[self.api_user_id],
            "email_verified_at": iso_seconds(epoch),
            "current_team_id": _TEAM_ID,
            "created_at": iso_seconds(epoch),
            "updated_at": iso_seconds(epoch),
        }
        self.team: JsonObject = {"id": _TEAM_ID, "name": _TEAM_NAME}
        self.email = email
        self.password = password.encode()
        self.tokens = PersonalAccessTokens(clock, self.readings.token_lifetime)
        self._orders: dict[tuple[str, bool], list[PatientRow]] = {}  # one entry per sort
        self._queries: LRUCache[tuple[Any, ...], list[PatientRow]] = bounded_cache()
        self._index = SearchIndex(self.rows)
        self.replica = Replica(self.readings.replica_lag, self.now)  # what a read of one patient sees

    def _store_names(self, doc: JsonObject) -> None:
        """Names as this reading stores them: decomposed (NFD) under ``sensitive_nfd``."""
        if self.readings.stores_nfd:
            for name in ("first_name", "middle_name", "last_name"):
                doc[name] = nfd(doc[name])

    def now(self) -> datetime:
        return self.clock().astimezone(UTC).replace(microsecond=0)

    # ---- rendering

    def patient_json(self, row: PatientRow, variant: Variant) -> bytes:
        """The ``PatientFull`` resource of `row` in `variant`, encoded (cached until a write)."""
        cached = row.rendered.get(variant)
        if cached is None:
            resource = patient_full(row, variant, user=self.users[row.user_id], team=self.team)
            resource = with_empty_arrays(with_extra_field(resource, self.readings), self.readings)
            resource = with_shapes(resource, self.readings)
            resource = on_the_wire(resource, self.readings)
            cached = row.rendered[variant] = php_json(resource)
        return cached

    # ---- reading

    def any_row(self, raw_id: str) -> PatientRow | None:
        """The patient path id `raw_id` names, soft-deleted or not (see ``live_row``)."""
        patient_id = ascii_int(raw_id)
        return None if patient_id is None else self.rows.get(patient_id)

    def live_row(self, raw_id: str) -> PatientRow | None:
        """The live patient path id `raw_id` names, compared as MySQL compares a digit
        string with an integer column (``007`` is patient 7); None for anything else."""
        patient_id = ascii_int(raw_id)
        row = None if patient_id is None else self.rows.get(patient_id)
        return None if row is None or row.deleted else row

    def ordered(self, sort: str) -> list[PatientRow]:
        """All patients (trashed too) in `sort` order, ties by id (cached until a write).

        Names sort by their folded form; a null ``date_of_birth`` sorts first ascending
        and last descending (as MySQL sorts nulls).
        """
        desc = sort.startswith("-")
        name = sort.lstrip("-")

        def sort_rows() -> list[PatientRow]:
            rows = sorted(self.rows.values(), key=lambda row: row.id)
            if name == "first_name":
                rows.sort(key=lambda row: row.first_key, reverse=desc)
            elif name == "last_name":
                rows.sort(key=lambda row: row.last_key, reverse=desc)
            elif name == "date_of_birth":
                rows.sort(key=lambda row: (row.doc["date_of_birth"] is not None, row.doc["date_of_birth"] or ""),
                          reverse=desc)  # fmt: skip
            elif name == "created_at":
                rows.sort(key=lambda row: row.doc["created_at"], reverse=desc)
            elif desc:
                rows.reverse()
            return rows

        return memoized(self._orders, (name, desc), sort_rows)

    def listing(
        self,
        sort: str,
        first: tuple[str, ...],
        last: tuple[str, ...],
        dob: str | None,
        trashed: str | None,
    ) -> list[PatientRow]:
        """Patients in `sort` order matching the list filters (cached until a write).

        `first`/`last` are alternatives (as sent), any of which must match the stored name
        the way the app's reading matches names (``Readings.names_hit``); `dob` must equal
        the birth date; `trashed` is None (live only),
        ``with`` or ``only``.
        """

        def keep(row: PatientRow) -> bool:
            if trashed == "only" and not row.deleted:
                return False
            if trashed is None and row.deleted:
                return False
            names_hit = self.readings.names_hit
            if first and not any(names_hit(value, row.doc["first_name"]) for value in first):
                return False
            if last and not any(names_hit(value, row.doc["last_name"]) for value in last):
                return False
            return dob is None or row.doc["date_of_birth"] == dob

        if self.readings.replica_lists:  # what the replica holds changes with the clock: not cached
            return [row for row in self.ordered(sort) if keep(row) and self.replica.behind(row.id) != (True, None)]
        key = ("list", sort, first, last, dob, trashed)
        return memoized(self._queries, key, lambda: [row for row in self.ordered(sort) if keep(row)])

    def search(self, query: str, desc: bool) -> list[PatientRow]:
        """Live patients matching `query` (see ``search_index``), cached until a write."""
        words = tuple(folded_words(query)[:_SEARCH_MAX_WORDS])
        return memoized(self._queries, ("search", words, desc), lambda: self._index.search(words, desc))

    # ---- writing

    def changed(self, row: PatientRow) -> None:
        """`row` was written: re-derive it and drop every cached order, query and index."""
        row.refresh()
        self._orders.clear()
        self._queries.clear()
        self._index.clear()

    def create(self, fields: JsonObject) -> PatientRow:
        """A new patient, owned by the API user, from validated create `fields`."""
        now = iso_seconds(self.now())
        patient_id = self.next_patient_id
        self.next_patient_id += 1
        doc: JsonObject = {
            "id": patient_id,
            "uuid": self.render.uuid("patient", patient_id),
            "first_name": fields["first_name"],
            "middle_name": fields["middle_name"],
            "last_name": fields["last_name"],
            "gender": None,
            "date_of_birth": fields["date_of_birth"],
            "notes": fields["notes"],
            "allergies": fields["allergies"],
            "insurance": fields["insurance"],
            "latest_medications": [],
            "meta": fields["meta"],
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
        }
        self._store_names(doc)
        row = PatientRow(doc=doc, user_id=self.api_user_id, encounters=[], timeline=[], demographics=None)
        self.rows[patient_id] = row
        self.replica.written(patient_id, None)
        self.changed(row)
        return row

    def update(self, row: PatientRow, fields: JsonObject) -> None:
        """Set validated update `fields`; ``updated_at`` moves only when something changed."""
        fields = dict(fields)
        if self.readings.stores_nfd:
            fields.update({k: nfd(v) for k, v in fields.items() if k.endswith("_name") and isinstance(v, str)})
        dirty = {name: value for name, value in fields.items() if row.doc[name] != value}
        if dirty:
            self.replica.written(row.id, row.doc)
            row.doc.update(dirty)
            row.doc["updated_at"] = iso_seconds(self.now())
            self.changed(row)

    def delete(self, row: PatientRow) -> None:
        """Soft-delete `row`."""
        self.replica.written(row.id, row.doc)
        now = iso_seconds(self.now())
        row.doc["deleted_at"] = now
        row.doc["updated_at"] = now
        self.changed(row)
