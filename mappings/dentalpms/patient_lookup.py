"""Finding the Dental PMS patient a create describes (writes.py): the patient a refused or
answerless create made, or the one already holding its chart number, among the newest patients or
in a list narrowed to it, without a walk of every list."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from gateway.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
)
from mappings.dentalpms.reader import VendorRecord
from mappings.dentalpms.search_length import whole_value_term
from mappings.dentalpms.statuses import NOT_ACTIVE
from mappings.dentalpms.vendor import VendorCursorList, VendorPageList, VendorPatient
from mappings.dentalpms.write_base import PatientWriteBase

LOOKUP_PAGES = 5  # pages of the newest patients walked to find the one a refused create describes

LOOKUP_PAGE_SIZE = 50  # the documented default page size, which a service may take as its bound


def same_patient(body: dict[str, Any], record: VendorRecord) -> bool:
    """`record` is the patient `body` describes: the same names and birth date, exactly."""
    return all(_nfc(record.get(name)) == _nfc(body.get(name)) for name in ("first_name", "last_name", "date_of_birth"))


def alike(body: dict[str, Any], record: VendorRecord) -> bool:
    """`record` may be the patient `body` describes, as a vendor may have stored its names: the
    same birth date and names but for case, accents and spacing. A refused create whose body
    only such a patient is like is not taken for a new create (`_refused_duplicate`)."""
    return record.get("date_of_birth") == body.get("date_of_birth") and all(
        _loose(record.get(name)) == _loose(body.get(name)) for name in ("first_name", "last_name")
    )


def _loose(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    marks = unicodedata.normalize("NFKD", value)
    return " ".join("".join(c for c in marks if not unicodedata.combining(c)).casefold().split())


def _nfc(value: Any) -> Any:
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


class PatientLookup(PatientWriteBase):
    """The look-ups of a create (module docstring)."""

    async def _find_described(self, body: dict[str, Any]) -> VendorRecord | None:
        """The patient `body` describes: a live one first (in any status: a vendor's list may
        answer only active patients unless asked for another, mappings.dentalpms.statuses),
        else an archived one."""
        chart = body.get("chart_number")
        if chart:
            return await self._by_chart_number(chart, body)
        for status in (None, *NOT_ACTIVE, "archived"):
            found = await self._newest_like(body, status)
            if found is not None:
                return found
        return None

    async def _by_chart_number(self, chart: str, body: dict[str, Any]) -> VendorRecord | None:
        """The patient (archived ones too) holding `chart`, when it is the one `body` describes
        or turns up in a list narrowed to it. Each status is asked for in turn once the list
        without one has not got it (it may answer only active patients:
        mappings.dentalpms.statuses). `ChartHolderUnknown` when a list could not be read far
        enough to tell (`_chart_holder`)."""
        unseen = False  # some list had more patients than were read
        narrowing = self._narrowing(body)
        for status in (None, *NOT_ACTIVE, "archived"):
            found, whole = await self._chart_holder(chart, {"status": status} if status else {}, narrowing)
            if found is not None:
                return found
            unseen = unseen or not whole
        if unseen:
            raise ChartHolderUnknown(chart)
        return None

    def _narrowing(self, body: dict[str, Any]) -> dict[str, str] | None:
        """How a list is narrowed to the patient `body` describes without the chart number as
        the `search` (`_chart_holder`): by its birth date (`dob_to` a day later: it may be read
        as exclusive, adapter.py), else by a name the vendor's `search` finds as itself under
        every reading (search_length.whole_value_term), the longer of its last and first name,
        the newest patients first (a retried create's patient is among them); None when neither
        can (no birth date, names with accents)."""
        born = body.get("date_of_birth")
        if born:
            return {"dob_from": born, "dob_to": (date.fromisoformat(born) + timedelta(days=1)).isoformat()}
        names = (body.get("last_name"), body.get("first_name"))
        found = [n for n in names if isinstance(n, str) and whole_value_term(n) and self._shortest_search.takes(n)]
        if not found:
            return None
        return {"search": max(found, key=len), "sort_by": "created_at", "sort_dir": "desc"}

    async def _chart_holder(
        self, chart: str, status: dict[str, str], narrowing: dict[str, str] | None
    ) -> tuple[VendorRecord | None, bool]:
        """The patient of the list filtered by `status` holding `chart`, and whether the list
        was read to its end. The list's free text finds a whole chart number under every reading
        of it (search_length.whole_value_term); the match is exact here. The docs give `search`
        no minimum length, but a service may refuse a shorter term than it takes and a chart
        number may be shorter (`7`): the list is then read `narrowing` (no term as short is sent
        again). By a birth date, every patient born that day; by a name, only the patients so
        named, which is enough: another holder is a chart number in use, whoever it is
        (`_refused_duplicate`). Without either, only a walk of every patient of every status
        would find the holder, as many requests as the practice has pages: `ChartHolderUnknown`
        instead. Refused again (raised), the refusal was not of the term; a name refused too,
        the holder is unknown."""
        refused = False
        if whole_value_term(chart) and self._shortest_search.takes(chart):
            try:
                return await self._chart_in_pages(chart, {**status, "search": chart}, 1)
            except InvalidRequest:
                refused = True
        if narrowing is None:
            raise ChartHolderUnknown(chart)
        named = "search" in narrowing
        try:
            # A name is read a page deep, newest first; the patients of a birth date to the end.
            found = await self._chart_in_pages(chart, {**status, **narrowing}, 1 if named else None)
        except InvalidRequest:
            if not named:
                raise
            raise ChartHolderUnknown(chart) from None
        if refused:  # the same list, narrowed otherwise, answered: the term was too short for it
            self._shortest_search.refused(chart)
        return found

    async def _chart_in_pages(
        self, chart: str, filters: dict[str, str], pages: int | None
    ) -> tuple[VendorRecord | None, bool]:
        """The patient holding `chart` in the first `pages` pages (None: all) of the page list
        filtered by `filters`, and whether those pages were the whole list."""
        page = 1
        while True:
            params: dict[str, str | int] = {**filters, "page": page, "page_size": LOOKUP_PAGE_SIZE}
            try:
                raw = await self._client.get("/patients", params)
            except NotFound:  # past the end; page 1 of an empty list for some implementations
                return None, True
            listing = self._reader.one("patient_page", VendorPageList, raw, "A Dental PMS patient list")
            records, _ = self._reader.records("patient", VendorPatient, listing.items, lambda *_: "A patient")
            for record in records:
                if record.get("chart_number") == chart:
                    return record, True
            if not listing.has_more(page, LOOKUP_PAGE_SIZE):
                return None, True
            if page == pages:
                return None, False
            page += 1

    async def _newest_holding(
        self, body: dict[str, Any], chart: str | None, wanted: Callable[[VendorRecord], bool] | None = None
    ) -> VendorRecord | None:
        """The newest live patient, of any status, that is the one `body` describes and holds
        `chart` (when given), and is `wanted`: one this request made (`_refused_create`,
        `_created`)."""

        def holding(record: VendorRecord) -> bool:
            return (
                same_patient(body, record)
                and (chart is None or record.get("chart_number") == chart)
                and (wanted is None or wanted(record))
            )

        for status in (None, *NOT_ACTIVE):
            found = await self._newest_like(body, status, holding)
            if found is not None:
                return found
        return None

    async def _newest_like(
        self, body: dict[str, Any], status: str | None = None, wanted: Callable[[VendorRecord], bool] | None = None
    ) -> VendorRecord | None:
        """The newest patient in `status` (None: as the list answers without one; `archived`:
        deleted ones) with the body's names and birth date (and `wanted`, when given): a refused
        retry's first create is among the newest (sorted by `created_at`, newest first; birth
        date filtered)."""
        archived = status == "archived"
        params: dict[str, str | int] = {"first": LOOKUP_PAGE_SIZE, "sort_by": "created_at", "sort_dir": "desc"}
        if body.get("date_of_birth"):  # `dob_to` a day later: it may be read as exclusive (adapter.py)
            params["dob_from"] = body["date_of_birth"]
            params["dob_to"] = (date.fromisoformat(body["date_of_birth"]) + timedelta(days=1)).isoformat()
        if status:
            params["status"] = status
        for _ in range(LOOKUP_PAGES):
            try:
                raw = await self._client.get("/patients/cursor", params)
            except NotFound:  # a list matching no one, answered `NotFound()` (adapter.py `_cursor_page`)
                return None
            listing = self._reader.one("patient_cursor_page", VendorCursorList, raw, "A Dental PMS patient list")
            records, _ = self._reader.records("patient", VendorPatient, listing.data, lambda *_: "A patient")
            for record in records:
                if (
                    alike(body, record)
                    and bool(record.get("deleted_at")) == archived
                    and (wanted is None or wanted(record))
                ):
                    return record
            following = listing.following(LOOKUP_PAGE_SIZE)
            if following is None:
                return None
            params["after"] = following
        return None


class ChartHolderUnknown(Conflict):
    """A create refused for a chart number whose holder the lists cannot tell in a few requests
    (`PatientWrites._chart_holder`): still the 409 naming the identifier, without the holder."""

    def __init__(self, chart: str) -> None:
        super().__init__(
            f"Chart number {chart} is in use at the Dental PMS; nothing was created. The vendor does not "
            "say which patient holds it (this one, created before, or another), and finding it would take "
            "a walk of every patient list",
            expression="Patient.identifier",
        )
