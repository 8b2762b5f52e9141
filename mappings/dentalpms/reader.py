"""Reading Dental PMS answers through their models (`vendor.py`), with drift recorded.

A list is read record by record: a record that cannot be read is left out and reported as
`Unreadable` (its vendor id when that can be read, and the field path, never a value), the
others are served. An envelope (the list around the records) or a single record asked for
by id that cannot be read is a 502 naming the field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from pydantic import ValidationError

from gateway.contract import Drift, VendorModel
from gateway.errors import UpstreamUnusable
from mappings.dentalpms.vendor import VendorPatient, canonical, problem_of
from mappings.drift_scan import unexpected_only

VendorRecord = dict[str, Any]
ModelT = TypeVar("ModelT", bound=VendorModel)


@dataclass(frozen=True)
class Unreadable:
    vendor_id: str | None  # the record's id (canonical uuid) when it can be read
    message: str  # what to tell the client: which record, which field (no PHI)


def vendor_id_of(raw: Any) -> str | None:
    value = raw.get("id") if isinstance(raw, dict) else None
    try:
        return str(UUID(value)) if isinstance(value, str) else None
    except ValueError:
        return None


class Reader:
    """One tenant's reader: models in, canonical records out, drift noted."""

    def __init__(self, drift: Drift) -> None:
        self._drift = drift

    def one(self, shape: str, model: type[ModelT], raw: Any, who: str) -> ModelT:
        """A single answer (a record asked for by id, or a list envelope); 502 when unreadable."""
        try:
            read = model.model_validate(raw)
        except ValidationError as exc:
            self._drift.unreadable(shape, exc)
            raise UpstreamUnusable(f"{who} could not be read: {problem_of(exc)}") from None
        self._drift.fields(shape, unexpected_only(read))
        return read

    def patient(self, raw: Any, who: str) -> VendorRecord:
        return canonical(self.one("patient", VendorPatient, raw, who))

    def records(
        self, shape: str, model: type[VendorModel], items: list[Any], label: Callable[[str | None, int], str]
    ) -> tuple[list[VendorRecord], list[Unreadable]]:
        """The records of a list that can be read, and one `Unreadable` for each that cannot;
        `label(vendor id or None, position)` names a record for the client."""
        found: list[VendorRecord] = []
        unreadable: list[Unreadable] = []
        read: list[VendorModel] = []
        for index, raw in enumerate(items):
            try:
                record = model.model_validate(raw)
            except ValidationError as exc:
                self._drift.unreadable(shape, exc)
                vendor_id = vendor_id_of(raw)
                message = f"{label(vendor_id, index)} could not be read: {problem_of(exc)}"
                unreadable.append(Unreadable(vendor_id, message))
                continue
            read.append(record)
            found.append(canonical(record))
        self._drift.fields(shape, unexpected_only(read))
        return found, unreadable

    def lazy_records(
        self, shape: str, model: type[VendorModel], items: list[Any], label: Callable[[str | None, int], str]
    ) -> LazyRecords:
        """As `records`, read only as far as the caller looks (see `LazyRecords`)."""
        return LazyRecords(self, shape, model, items, label)


class LazyRecords:
    """The readable records of a vendor list, each read (validated) when first asked for.

    A page of vital signs is mapped only as far as the FHIR page needs (a reading makes several
    Observations), so reading the whole vendor page first would cost more than the mapping.
    Positions count readable records only, as `Reader.records` does; `unreadable` holds the
    records found unreadable so far (every one of them once the list has been read through).
    """

    def __init__(
        self,
        reader: Reader,
        shape: str,
        model: type[VendorModel],
        items: list[Any],
        label: Callable[[str | None, int], str],
    ) -> None:
        self._reader, self._shape, self._model, self._items, self._label = reader, shape, model, items, label
        self._next = 0  # the next item of `items` to read
        self._read: list[VendorRecord] = []
        self.unreadable: list[Unreadable] = []

    def has(self, index: int) -> bool:
        """Whether there is a readable record at `index` (reading up to it)."""
        while len(self._read) <= index and self._next < len(self._items):
            self._read_next()
        return index < len(self._read)

    def __getitem__(self, index: int) -> VendorRecord:
        if not self.has(index):
            raise IndexError(index)
        return self._read[index]

    def __iter__(self) -> Iterator[VendorRecord]:
        index = 0
        while self.has(index):
            yield self._read[index]
            index += 1

    def _read_next(self) -> None:
        position = self._next
        self._next += 1
        found, unreadable = self._reader.records(
            self._shape, self._model, [self._items[position]], lambda vendor_id, _: self._label(vendor_id, position)
        )
        self._read += found
        self.unreadable += unreadable
