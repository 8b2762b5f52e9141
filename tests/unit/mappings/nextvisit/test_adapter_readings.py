"""The Nextvisit adapter over canned vendor answers: a record that cannot be read is left out
with a warning (and its own read is a 502 naming the field), and a read that lacks the
demographics it asked for gets them the way the list gives them."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from gateway.contract import AdapterConfig, SearchRequest, TenantContext
from gateway.errors import Gone, InvalidRequest, NotFound, UpstreamError, UpstreamSecurity
from gateway.search.model import ParamType, ReferenceValue, SearchParam, SearchQuery, SortKey
from mappings.nextvisit import ties
from mappings.nextvisit.adapter import NextvisitAdapter
from mappings.nextvisit.client import Refused
from mappings.nextvisit.options import NextvisitOptions

CTX = TenantContext("t", "urn:t")
DEMOGRAPHICS = {"email": "jane@example.org", "phone": "(312) 555-0142", "address_line1": None, "city": None,
                "state": None, "postal_code": None}  # fmt: skip
JANE: dict[str, Any] = {
    "id": 7, "uuid": "550e8400-e29b-41d4-a716-446655440000", "first_name": "Jane", "last_name": "Doe",
    "date_of_birth": "1985-03-15", "allergies": "Penicillin", "latest_medications": ["Sertraline 50mg", 12],
    "encounters": [
        {"id": 1, "status": "completed", "start_time": "2024-06-20T14:00:00Z", "location": "Main Clinic"},
        {"id": "2", "status": "completed", "date_of_service": "2024-02-30T14:00:00Z", "provider": "Dr Ray"},
        {"id": 3, "status": "scheduled", "start_time": "2024-12-01T09:00:00Z", "location": {"id": 1, "name": "Annex"}},
    ],
    "meta": {}, "updated_at": "2024-06-20T14:45:00Z",
}  # fmt: skip


class CannedVendor:
    """`NextvisitClient.request` answering from a dict of patients, like the documented API."""

    def __init__(self, patients: list[dict[str, Any]], *, show_demographics: bool = True) -> None:
        self.patients = patients
        self.show_demographics = show_demographics
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def request(self, method: str, path: str, *, params: Any = None, json: Any = None) -> Any:
        params = dict(params or {})
        self.calls.append((path, params))
        if path == "/v1/patients":
            rows = [self._render(p, "demographics" in params.get("include", "")) for p in self.patients]
            rows = [r for r in rows if r.get("last_name") == params.get("filter[last_name]", r.get("last_name"))]
            return {"data": rows, "meta": {"current_page": 1, "last_page": 1, "total": len(rows)}}
        patient_id = path.rsplit("/", 1)[1]
        for patient in self.patients:
            if str(patient["id"]) == patient_id:
                return {"data": self._render(patient, self.show_demographics, encounters=True)}
        raise NotFound("No query results")

    @staticmethod
    def _render(patient: dict[str, Any], demographics: bool, encounters: bool = False) -> dict[str, Any]:
        out = copy.deepcopy(patient)
        if not encounters:
            out.pop("encounters", None)
        if demographics:
            out["demographics"] = DEMOGRAPHICS
        return out

    async def aclose(self) -> None:
        return None


def _adapter(vendor: CannedVendor) -> NextvisitAdapter:
    adapter = NextvisitAdapter(AdapterConfig("http://unused", CTX, NextvisitOptions(), {"email": "e", "password": "p"}))
    adapter.client = vendor  # type: ignore[assignment]
    return adapter


def _for_patient(resource_type: str, patient_id: str) -> SearchRequest:
    param = SearchParam("patient", ParamType.REFERENCE, None, (ReferenceValue("Patient", patient_id),), "")
    return SearchRequest(SearchQuery(resource_type, (param,), (), "UTC"), None, 100)


def test_one_unreadable_encounter_is_left_out_with_a_warning_and_its_read_names_the_field() -> None:
    adapter = _adapter(CannedVendor([JANE]))
    encounters = adapter.providers["Encounter"]
    assert encounters.search is not None
    page = asyncio.run(encounters.search(_for_patient("Encounter", "7")))
    assert [r["id"] for r in page.resources] == ["7.e.1", "7.e.3"]
    assert [r["location"][0]["location"]["display"] for r in page.resources] == ["Main Clinic", "Annex"]
    assert page.total is None
    assert page.warnings == (
        "Encounter/7.e.2 could not be read: "
        "the vendor's field encounters[1].date_of_service is not a date or date-time",
    )
    assert asyncio.run(encounters.read("7.e.3")) == page.resources[1]
    with pytest.raises(UpstreamError, match=r"encounters\[1\]\.date_of_service"):
        asyncio.run(encounters.read("7.e.2"))
    with pytest.raises(NotFound):
        asyncio.run(encounters.read("7.e.99"))


def test_an_unreadable_medication_entry_is_reported_and_the_rest_served() -> None:
    adapter = _adapter(CannedVendor([JANE]))
    medications = adapter.providers["MedicationStatement"]
    assert medications.search is not None
    page = asyncio.run(medications.search(_for_patient("MedicationStatement", "7")))
    assert [r["medicationCodeableConcept"]["text"] for r in page.resources] == ["Sertraline 50mg"]
    assert page.warnings and "latest_medications[1]" in page.warnings[0]
    with pytest.raises(UpstreamError, match=r"latest_medications\[1\]"):  # its id cannot be known
        asyncio.run(medications.read("7.m.0000000000"))


def test_an_unreadable_patient_in_a_list_is_a_warning_not_a_failure() -> None:
    broken = {**JANE, "id": 8, "first_name": {"given": "X"}}
    adapter = _adapter(CannedVendor([JANE, broken]))
    patients = adapter.providers["Patient"]
    assert patients.search is not None
    page = asyncio.run(patients.search(SearchRequest(SearchQuery("Patient", (), (), "UTC"), None, 100)))
    assert [r["id"] for r in page.resources] == ["7"]
    assert page.warnings == ("Patient/8 could not be read: the vendor's field first_name has an unexpected type",)
    with pytest.raises(UpstreamError, match="first_name"):
        asyncio.run(patients.read("8"))


def test_a_list_that_ignores_page_is_not_served_twice() -> None:
    # The docs name no `page` parameter: a list paged by cursor answers page 1 whatever page is
    # asked. The walk stops, saying so, rather than serving the first page again as the second.
    class FirstPageAlways(CannedVendor):
        async def request(self, method: str, path: str, *, params: Any = None, json: Any = None) -> Any:
            answer = await super().request(method, path, params=params, json=json)
            if path == "/v1/patients":
                answer["meta"] = {"current_page": 1, "last_page": 3, "total": 3 * len(answer["data"])}
            return answer

    patients = _adapter(FirstPageAlways([JANE])).providers["Patient"]
    assert patients.search is not None
    # The page asked for holds 100 patients: it is filled from the vendor's next page, which is
    # the first again.
    first = asyncio.run(patients.search(SearchRequest(SearchQuery("Patient", (), (), "UTC"), None, 100)))
    assert [r["id"] for r in first.resources] == ["7"] and first.next is None
    assert first.warnings == (
        "Nextvisit answered page 1 when asked for page 2: the patient list cannot be read past page 1",
    )


@pytest.mark.parametrize("show_demographics", [True, False])
def test_read_equals_search_with_or_without_demographics_in_the_read(show_demographics: bool) -> None:
    vendor = CannedVendor([JANE], show_demographics=show_demographics)
    patients = _adapter(vendor).providers["Patient"]
    assert patients.search is not None
    (found,) = asyncio.run(patients.search(SearchRequest(SearchQuery("Patient", (), (), "UTC"), None, 100))).resources
    read = asyncio.run(patients.read("7"))
    assert read == found
    assert {t["value"] for t in read["telecom"]} == {"jane@example.org", "(312) 555-0142"}
    lookups = [params for path, params in vendor.calls if path == "/v1/patients" and "filter[date_of_birth]" in params]
    assert len(lookups) == (0 if show_demographics else 1)
    if lookups:  # by the exact birth-date filter only: name filters match differently per implementation
        assert lookups[0]["filter[date_of_birth]"] == "1985-03-15" and "filter[last_name]" not in lookups[0]


def test_a_soft_deleted_patient_that_an_implementation_still_serves_is_gone() -> None:
    deleted = {**JANE, "id": 9, "deleted_at": "2024-07-01T00:00:00Z"}
    patients = _adapter(CannedVendor([JANE, deleted])).providers["Patient"]
    assert patients.search is not None
    page = asyncio.run(patients.search(SearchRequest(SearchQuery("Patient", (), (), "UTC"), None, 100)))
    assert [r["id"] for r in page.resources] == ["7"] and not page.warnings
    with pytest.raises(Gone):
        asyncio.run(patients.read("9"))
    assert asyncio.run(patients.read("7"))["id"] == "7"


class PagedVendor(CannedVendor):
    """Many patients without birth dates, listed 50 a page in ascending id (ids with gaps),
    but for one the list leaves out; its read ignores `include=demographics`."""

    def __init__(self, patients: list[dict[str, Any]], unlisted: int, simple: bool, past_end_404: bool = False) -> None:
        super().__init__(patients, show_demographics=False)
        self.listed = [p for p in patients if p["id"] != unlisted]
        self.simple = simple  # a simple paginator: no last page, only a next link
        self.past_end_404 = past_end_404  # Django REST Framework's "Invalid page." past the last

    async def request(self, method: str, path: str, *, params: Any = None, json: Any = None) -> Any:
        params = dict(params or {})
        if path != "/v1/patients":
            return await super().request(method, path, params=params, json=json)
        self.calls.append((path, params))
        page, size = int(params.get("page", 1)), int(params["per_page"])
        rows = [self._render(p, True) for p in self.listed[(page - 1) * size : page * size]]
        last = -(-len(self.listed) // size)
        if self.past_end_404 and page > max(last, 1):
            raise NotFound("Invalid page.")
        if self.simple:
            return {"data": rows, "links": {"next": "u" if page < last else None}, "meta": {"current_page": page}}
        return {"data": rows, "links": {"next": None}, "meta": {"current_page": page, "last_page": last}}


@pytest.mark.parametrize("past_end_404", [False, True])
@pytest.mark.parametrize("simple", [False, True])
@pytest.mark.parametrize("wanted", [3, 1501, 2999, 1777])
def test_a_read_without_demographics_finds_them_among_thousands_by_bisection(
    wanted: int, simple: bool, past_end_404: bool
) -> None:
    # A simple paginator states no last page: pages are doubled until one lies past the patient,
    # perhaps past the end, which a DRF paginator answers with a 404: no patient is missing there.
    patients = [{**JANE, "id": i, "date_of_birth": None} for i in range(1, 3000, 2)]
    vendor = PagedVendor(patients, unlisted=1777, simple=simple, past_end_404=past_end_404)
    read = asyncio.run(_adapter(vendor).providers["Patient"].read(str(wanted)))
    lookups = [params for path, params in vendor.calls if path == "/v1/patients"]
    assert 1 <= len(lookups) <= (10 if simple else 7)  # 30 pages: bisected, not walked
    assert all("filter[date_of_birth]" not in params for params in lookups)
    if wanted == 1777:  # not in the list: served as the read gave it
        assert "telecom" not in read
    else:
        assert {t["value"] for t in read["telecom"]} == {"jane@example.org", "(312) 555-0142"}


@pytest.mark.parametrize("field", ["allergies", "latest_medications", "encounters"])
def test_a_list_the_answer_leaves_out_is_unknown_not_empty(field: str) -> None:
    # The documented PatientFull answers never show `allergies`; an implementation may drop null
    # fields or load relations only when included. No key is no answer: never "none recorded".
    resource_type = {"allergies": "AllergyIntolerance", "latest_medications": "MedicationStatement",
                     "encounters": "Encounter"}[field]  # fmt: skip
    # The documented answer writes its nulls (`middle_name: null`): the key left out was not sent.
    shown = {**JANE, "middle_name": None, "gender": "female", "notes": "Prefers afternoons."}
    silent = {k: v for k, v in shown.items() if k != field}
    provider = _adapter(CannedVendor([silent])).providers[resource_type]
    assert provider.search is not None
    page = asyncio.run(provider.search(_for_patient(resource_type, "7")))
    assert page.resources == [] and page.total is None
    (warning,) = page.warnings
    assert f"of Patient/7 could not be read: the vendor's field {field} was not in the answer" in warning
    with pytest.raises(UpstreamError, match=field):  # not "does not exist": it may
        asyncio.run(provider.read(f"7.{resource_type[0].lower()}.1"))
    # Null is an answer: nothing recorded, and the count says so.
    stated = _adapter(CannedVendor([{**JANE, field: None}])).providers[resource_type]
    assert stated.search is not None
    page = asyncio.run(stated.search(_for_patient(resource_type, "7")))
    assert (page.resources, page.total, page.warnings) == ([], 0, ())
    # An answer that leaves its nulls out (no `middle_name`, nothing shown as null) left this
    # column's null out too: nothing recorded. A relation left out was not loaded: unknown.
    dropped = {k: v for k, v in shown.items() if k not in (field, "middle_name")}
    dropping = _adapter(CannedVendor([dropped])).providers[resource_type]
    assert dropping.search is not None
    page = asyncio.run(dropping.search(_for_patient(resource_type, "7")))
    if field == "encounters":
        assert page.total is None and len(page.warnings) == 1
    else:
        assert (page.resources, page.total, page.warnings) == ([], 0, ())


class ListVendor(CannedVendor):
    """A patient list of `patients` in ascending id, paged by Laravel's `cursorPaginate()`
    (`paging="cursor"`: `page` not read) or by page numbers it does not state (`"unnumbered"`),
    honouring the cursor or `page` it is sent or not, or not paged at all (`"unpaged"`: every
    patient at once); its read ignores `include=demographics`."""

    def __init__(self, patients: list[dict[str, Any]], paging: str, honoured: bool = True) -> None:
        super().__init__(patients, show_demographics=False)
        self.paging, self.honoured = paging, honoured

    async def request(self, method: str, path: str, *, params: Any = None, json: Any = None) -> Any:
        params = dict(params or {})
        if path != "/v1/patients":
            return await super().request(method, path, params=params, json=json)
        self.calls.append((path, params))
        listed = [p for p in self.patients if bool(p.get("deleted_at")) == ("filter[trashed]" in params)]
        size = int(params["per_page"])
        if self.paging == "cursor":
            start = int(params.get("cursor", "c0")[1:]) if self.honoured else 0
            rows = [self._render(p, True) for p in listed[start : start + size]]
            following = f"c{start + size}" if start + size < len(listed) else None
            link = f"http://vendor/v1/patients?per_page={size}&cursor={following}" if following else None
            return {"data": rows, "links": {"first": None, "last": None, "prev": None, "next": link},
                    "meta": {"path": "http://vendor/v1/patients", "per_page": size, "next_cursor": following,
                             "prev_cursor": None}}  # fmt: skip
        if self.paging == "unpaged":  # every patient at once, `links` and `meta` as the docs' example
            return {"data": [self._render(p, True) for p in listed], "links": {}, "meta": {}}
        page = int(params.get("page", 1)) if self.honoured else 1
        return {"data": [self._render(p, True) for p in listed[(page - 1) * size : page * size]]}


def _walk_patients(adapter: NextvisitAdapter, size: int) -> tuple[list[str], tuple[str, ...]]:
    """Every patient of an unfiltered search, vendor page after vendor page, and what was said."""
    search = adapter.providers["Patient"].search
    assert search is not None
    ids: list[str] = []
    warnings: tuple[str, ...] = ()
    position: Any = None
    for _ in range(20):
        page = asyncio.run(search(SearchRequest(SearchQuery("Patient", (), (), "UTC"), position, size)))
        ids += [r["id"] for r in page.resources]
        warnings += page.warnings
        position = page.next
        if position is None:
            return ids, warnings
    raise AssertionError(f"the walk does not end: {ids}")


MANY = [{**JANE, "id": i} for i in range(1, 8)]


def test_a_list_paged_by_cursor_is_walked_by_its_cursor() -> None:
    vendor = ListVendor(MANY, "cursor")
    adapter = _adapter(vendor)
    assert _walk_patients(adapter, 3) == ([str(i) for i in range(1, 8)], ())
    asked = [params for path, params in vendor.calls if path == "/v1/patients"]
    assert [params.get("cursor") for params in asked] == [None, "c3", "c6"]
    assert all("page" not in params for params in asked[1:])  # `page` means nothing to it
    # The reads that walk the list find their patients too: demographics, and the trash.
    read = asyncio.run(adapter.providers["Patient"].read("6"))
    assert {t["value"] for t in read["telecom"]} == {"jane@example.org", "(312) 555-0142"}
    trashed = _adapter(ListVendor([*MANY, {**JANE, "id": 9, "deleted_at": "2024-07-01T00:00:00Z"}], "cursor"))
    with pytest.raises(Gone):
        asyncio.run(trashed.providers["Patient"].read("9"))
    # A cursor handed out but not honoured: the first page again is said, not served.
    ids, warnings = _walk_patients(_adapter(ListVendor(MANY, "cursor", honoured=False)), 3)
    assert ids == ["1", "2", "3"] and len(warnings) == 1 and "by its cursor" in warnings[0]


@pytest.mark.parametrize("honoured", [True, False])
def test_pages_the_vendor_does_not_number_are_never_served_twice(honoured: bool) -> None:
    ids, warnings = _walk_patients(_adapter(ListVendor(MANY, "unnumbered", honoured)), 3)
    if honoured:  # no number, but other patients each time: walked to the empty page
        assert (ids, warnings) == ([str(i) for i in range(1, 8)], ())
        return
    assert ids == ["1", "2", "3"]
    assert warnings == (
        "Nextvisit answered the patients of page 1 again when asked for page 2: "
        "the patient list cannot be read past page 1",
    )


@pytest.mark.parametrize("size", [3, 10])
def test_a_list_that_answers_every_patient_at_once_is_its_end_without_a_warning(size: int) -> None:
    # `page` and `per_page` ignored: more (or fewer) patients than asked, then the same again.
    assert _walk_patients(_adapter(ListVendor(MANY, "unpaged")), size) == ([str(i) for i in range(1, 8)], ())


def test_a_page_that_cannot_be_told_from_a_repeat_is_not_served() -> None:
    # Page 2 of a list whose first page was numbered, that now numbers none: nothing to compare.
    search = _adapter(ListVendor(MANY, "unnumbered")).providers["Patient"].search
    assert search is not None
    page = asyncio.run(search(SearchRequest(SearchQuery("Patient", (), (), "UTC"), 2, 3)))
    assert page.resources == [] and page.next is None
    assert page.warnings == (
        "Nextvisit did not say which page it answered when asked for page 2: "
        "the patient list cannot be read past page 1",
    )


def test_a_read_asks_for_the_encounters_a_show_serves_only_when_included() -> None:
    # Spatie's query builder loads a relation only when `include` names it (`whenLoaded`).
    class IncludedOnly(CannedVendor):
        async def request(self, method: str, path: str, *, params: Any = None, json: Any = None) -> Any:
            answer = await super().request(method, path, params=params, json=json)
            if path != "/v1/patients" and "encounters" not in str((params or {}).get("include", "")).split(","):
                del answer["data"]["encounters"]
            return answer

    encounters = _adapter(IncludedOnly([JANE])).providers["Encounter"]
    assert encounters.search is not None
    page = asyncio.run(encounters.search(_for_patient("Encounter", "7")))
    assert [r["id"] for r in page.resources] == ["7.e.1", "7.e.3"]
    assert page.warnings and "encounters[1]" in page.warnings[0]  # the one that cannot be read


TEXTS = {"notes": "Prefers mornings.", "allergies": "Penicillin"}


@pytest.mark.parametrize(
    ("stored", "sent"),
    [
        (TEXTS, TEXTS),
        # Allergies answered as a list (a vendor keeping them as one): sent back as the text the body takes.
        ({"notes": None, "allergies": ["Latex", "Codeine"]}, {"allergies": "Latex, Codeine"}),
        # Rows (a relation rendered as one): each as the text writes it.
        ({"allergies": ["Latex", {"name": "Codeine", "reaction": "rash"}]}, {"allergies": "Latex, Codeine (rash)"}),
        ({"notes": None, "allergies": ["Latex", {"reaction": "rash"}]}, {}),  # a row naming no substance: not sent
        ({}, {}),  # not in the answer: nothing to send back
    ],
)
def test_an_update_sends_back_the_notes_and_allergy_text_it_read(stored: dict[str, Any], sent: dict[str, Any]) -> None:
    # The docs do not say whether PUT replaces the record (fields left out become null).
    class Recording(CannedVendor):
        def __init__(self, patients: list[dict[str, Any]]) -> None:
            super().__init__(patients)
            self.bodies: list[dict[str, Any]] = []

        async def request(self, method: str, path: str, *, params: Any = None, json: Any = None) -> Any:
            if method == "PUT":
                self.bodies.append(json)
                return {"data": self.patients[0]}
            return await super().request(method, path, params=params, json=json)

    record = {k: v for k, v in JANE.items() if k not in ("notes", "allergies")} | stored
    vendor = Recording([record])
    patients = _adapter(vendor).providers["Patient"]
    assert patients.update is not None
    resource = asyncio.run(patients.read("7"))
    asyncio.run(patients.update("7", resource, None))
    (body,) = vendor.bodies
    assert {k: body[k] for k in ("notes", "allergies") if k in body} == sent
    assert body["first_name"] == "Jane" and body["last_name"] == "Doe"


def test_a_date_search_names_the_encounters_whose_time_it_cannot_read() -> None:
    # A time under a name no spelling reads (`visit_starts`) leaves the encounter without a
    # period: a date search cannot tell whether it matches, and says so rather than drop it.
    # A Rails `*_at` column (`scheduled_at`) is read.
    unread = {"id": 1, "status": "completed", "visit_starts": "2024-06-20T14:00:00Z"}
    rails = {"id": 4, "status": "completed", "scheduled_at": "2024-06-21T14:00:00.000-04:00"}
    jane = {**JANE, "encounters": [unread, rails]}
    encounters = _adapter(CannedVendor([jane])).providers["Encounter"]
    assert encounters.search is not None
    dated = _for_patient("Encounter", "7")
    date = SearchParam("date", ParamType.DATE, None, (), "date=ge2024")
    dated = SearchRequest(SearchQuery("Encounter", (*dated.query.params, date), (), "UTC"), None, 100)
    page = asyncio.run(encounters.search(dated))
    by_id = {r["id"]: r for r in page.resources}
    assert by_id["7.e.4"]["period"]["start"] == "2024-06-21T18:00:00Z"
    assert page.warnings == (
        "Encounter/7.e.1 has no time the gateway could read: this date search cannot tell whether it matches",
    )
    assert page.total is None
    undated = asyncio.run(encounters.search(_for_patient("Encounter", "7")))  # no date asked: nothing to say
    assert undated.warnings == ()


class PolicyVendor(CannedVendor):
    """A vendor whose authorization policy refuses the reads of `refused` ids with a 403 (another
    team's patients), the list and the other reads allowed."""

    def __init__(self, patients: list[dict[str, Any]], refused: set[str]) -> None:
        super().__init__(patients)
        self.refused = refused

    async def request(self, method: str, path: str, *, params: Any = None, json: Any = None) -> Any:
        if path.rsplit("/", 1)[1] in self.refused or ("*" in self.refused and path != "/v1/patients"):
            self.calls.append((path, dict(params or {})))
            raise Refused("The vendor refused the gateway's credentials (HTTP 403)")
        return await super().request(method, path, params=params, json=json)


def test_another_teams_patient_refused_by_a_policy_does_not_exist_here() -> None:
    # A 403 for one patient while the tenant's own patients read: a policy's refusal of that
    # record ("This action is unauthorized."), not the gateway's credentials: not found here.
    adapter = _adapter(PolicyVendor([JANE], {"9001"}))
    with pytest.raises(NotFound):
        asyncio.run(adapter.providers["Patient"].read("9001"))
    allergies = adapter.providers["AllergyIntolerance"]
    assert allergies.search is not None
    page = asyncio.run(allergies.search(_for_patient("AllergyIntolerance", "9001")))
    assert (page.resources, page.total) == ([], 0)


def test_a_403_for_every_read_is_the_gateways_access_refused() -> None:
    # The tenant's own patients refused too: the operator's to check, never "not found".
    adapter = _adapter(PolicyVendor([JANE], {"*"}))
    with pytest.raises(UpstreamSecurity):
        asyncio.run(adapter.providers["Patient"].read("9001"))
    with pytest.raises(UpstreamSecurity):  # one of its own patients, refused
        asyncio.run(adapter.providers["Patient"].read("7"))


class PagedPolicyVendor(PolicyVendor):
    """A PolicyVendor whose list pages as documented (`per_page`, `page`, ascending id)."""

    async def request(self, method: str, path: str, *, params: Any = None, json: Any = None) -> Any:
        answer = await super().request(method, path, params=params, json=json)
        if path != "/v1/patients":
            return answer
        rows = sorted(answer["data"], key=lambda row: int(row["id"]))
        size, page = int((params or {}).get("per_page", 50)), int((params or {}).get("page", 1))
        last = max(1, -(-len(rows) // size))
        data = rows[(page - 1) * size : page * size]
        return {"data": data, "meta": {"current_page": page, "last_page": last, "total": len(rows)}}


def test_a_policy_refusing_one_of_the_tenants_own_patients_is_not_read_as_not_found() -> None:
    # Patient 12 is listed among this team's patients, yet its read is refused (a policy the
    # gateway's account does not satisfy): the operator's to check. Read as "does not exist",
    # a client would take its allergy search's empty answer for "no known allergies".
    team = [{**JANE, "id": pid} for pid in range(7, 15)]
    adapter = _adapter(PagedPolicyVendor(team, {"12"}))
    with pytest.raises(UpstreamSecurity):
        asyncio.run(adapter.providers["Patient"].read("12"))
    allergies = adapter.providers["AllergyIntolerance"]
    assert allergies.search is not None
    with pytest.raises(UpstreamSecurity):
        asyncio.run(allergies.search(_for_patient("AllergyIntolerance", "12")))
    delete = adapter.providers["Patient"].delete
    assert delete is not None
    with pytest.raises(UpstreamSecurity):  # not "nothing there to delete": a success for a record kept
        asyncio.run(delete("12"))
    with pytest.raises(NotFound):  # another team's patient, not in this team's list: not found here
        asyncio.run(adapter.providers["Patient"].read("9001"))


def test_a_run_read_to_its_end_is_served_without_saying_it_could_not_be() -> None:
    # The page ends among 230 Ngs: the list filtered by `Ng` is read to its last page (the
    # fifth), so every Ng is served with the page and nothing is said to be missing.
    clinic = [{**JANE, "id": pid, "last_name": "Adams" if pid <= 10 else "Ng"} for pid in range(1, 241)]
    vendor = PagedPolicyVendor(clinic, set())
    patients = _adapter(vendor).providers["Patient"]
    assert patients.search is not None
    sorted_by_family = SearchQuery("Patient", (), (SortKey("family", False),), "UTC")
    page = asyncio.run(patients.search(SearchRequest(sorted_by_family, None, 12)))
    assert page.warnings == ()
    # Twelve asked for: the rest of the run is served from the same position, told apart by id.
    assert [r["id"] for r in page.resources] == [str(pid) for pid in range(1, 13)]
    assert len([path for path, _ in vendor.calls if path == "/v1/patients"]) == 1 + 5
    # 300 Ngs: the filtered list is read five pages deep and no further, and the page says so.
    clinic = [{**JANE, "id": pid, "last_name": "Adams" if pid <= 10 else "Ng"} for pid in range(1, 311)]
    vendor = PagedPolicyVendor(clinic, set())
    patients = _adapter(vendor).providers["Patient"]
    assert patients.search is not None
    page = asyncio.run(patients.search(SearchRequest(sorted_by_family, None, 12)))
    assert len(page.warnings) == 1 and "more than 250" in page.warnings[0]
    assert page.total is None
    assert len([path for path, _ in vendor.calls if path == "/v1/patients"]) == 1 + 5


class AllowListedShow(CannedVendor):
    """A show on Spatie's query builder with an include allow-list of its own (`allowed`; None:
    it refuses every read, whatever is included): 400 for any other include."""

    def __init__(self, patients: list[dict[str, Any]], allowed: tuple[str, ...] | None) -> None:
        super().__init__(patients, show_demographics=False)
        self.allowed = allowed

    async def request(self, method: str, path: str, *, params: Any = None, json: Any = None) -> Any:
        if path != "/v1/patients":
            names = [n for n in dict(params or {}).get("include", "").split(",") if n]
            if self.allowed is None or any(name not in self.allowed for name in names):
                self.calls.append((path, dict(params or {})))
                raise InvalidRequest("The vendor rejected the request: Requested include(s) are not allowed.")
        return await super().request(method, path, params=params, json=json)


def test_a_show_refusing_the_demographics_include_is_read_with_what_it_takes() -> None:
    vendor = AllowListedShow([JANE], ("user", "encounters"))
    adapter = _adapter(vendor)
    patient = asyncio.run(adapter.providers["Patient"].read("7"))
    assert {t["value"] for t in patient["telecom"]} == {"jane@example.org", "(312) 555-0142"}  # from the list
    shows = [params.get("include") for path, params in vendor.calls if path == "/v1/patients/7"]
    assert shows == ["demographics,encounters", "demographics", "encounters"]
    vendor.calls.clear()
    encounters = asyncio.run(adapter.providers["Encounter"].search(_for_patient("Encounter", "7")))
    assert [r["id"] for r in encounters.resources] == ["7.e.1", "7.e.3"]
    assert [params.get("include") for path, params in vendor.calls if path == "/v1/patients/7"] == ["encounters"]


def test_a_show_refusing_every_read_is_the_vendors_refusal() -> None:
    vendor = AllowListedShow([JANE], None)
    with pytest.raises(InvalidRequest):
        asyncio.run(_adapter(vendor).providers["Patient"].read("7"))
    assert [params.get("include") for _, params in vendor.calls] == ["demographics,encounters", "demographics",
                                                                     "encounters", None]  # fmt: skip


class TrashIgnored(CannedVendor):
    """A list that does not read `filter[trashed]`: it lists what it always lists (live
    patients with a null `deleted_at`, and deleted ones too when `with_trashed`); its read
    does not find a deleted patient."""

    def __init__(self, patients: list[dict[str, Any]], *, with_trashed: bool) -> None:
        super().__init__(patients)
        self.with_trashed = with_trashed

    async def request(self, method: str, path: str, *, params: Any = None, json: Any = None) -> Any:
        if path == "/v1/patients":
            self.calls.append((path, dict(params or {})))
            shown = [p for p in self.patients if self.with_trashed or not p.get("deleted_at")]
            rows = [{"deleted_at": None, **self._render(p, True)} for p in shown]
            return {"data": rows, "meta": {"current_page": 1, "last_page": 1, "total": len(rows)}}
        if any(str(p["id"]) == path.rsplit("/", 1)[1] and p.get("deleted_at") for p in self.patients):
            raise NotFound("No query results")
        return await super().request(method, path, params=params, json=json)


def test_a_list_that_ignores_filter_trashed_is_not_walked_for_a_deleted_patient() -> None:
    deleted = {**JANE, "id": 9, "deleted_at": "2024-07-01T00:00:00Z"}
    vendor = TrashIgnored([JANE, deleted], with_trashed=False)
    with pytest.raises(NotFound):  # nothing the vendor lists is deleted: it cannot say
        asyncio.run(_adapter(vendor).providers["Patient"].read("9"))
    assert [params.get("filter[trashed]") for path, params in vendor.calls if path == "/v1/patients"] == ["only"]
    # A list that shows deleted patients unasked still finds it among them: gone.
    with pytest.raises(Gone):
        asyncio.run(_adapter(TrashIgnored([JANE, deleted], with_trashed=True)).providers["Patient"].read("9"))


@pytest.mark.parametrize("options", [{}, {"vendor_timezone": "UTC"}], ids=["unset", "chosen"])
def test_the_operator_is_told_once_of_times_without_an_offset_in_a_zone_nobody_chose(
    options: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    # Spring's LocalDateTime or Django with USE_TZ = False: no answer says the app's zone.
    local = {
        **JANE,
        "updated_at": "2024-06-20 09:45:00",
        "encounters": [{"id": 1, "start_time": "2024-06-20T09:00:00"}],
    }
    config = AdapterConfig("http://unused", CTX, NextvisitOptions(**options), {"email": "e", "password": "p"})
    adapter = NextvisitAdapter(config)
    adapter.client = CannedVendor([local, {**local, "id": 8}])  # type: ignore[assignment]
    with caplog.at_level("WARNING", logger="mappings.nextvisit"):
        for patient_id in ("7", "8"):
            asyncio.run(adapter.providers["Patient"].read(patient_id))
    told = [r.getMessage() for r in caplog.records if "vendor_timezone" in r.getMessage()]
    if options:  # the operator named the zone: nothing to tell
        assert told == []
        return
    assert told == [
        "Nextvisit tenant t: the vendor writes times without an offset (updated_at, encounters[].start), read as "
        "UTC; if its app keeps another zone's clock, set options.vendor_timezone to it (an IANA name)"
    ]


class ShowsNobodyAs(CannedVendor):
    """A show that answers 200 with `answer` where the documented one answers 404."""

    def __init__(self, patients: list[dict[str, Any]], answer: Any) -> None:
        super().__init__(patients)
        self.answer = answer

    async def request(self, method: str, path: str, *, params: Any = None, json: Any = None) -> Any:
        try:
            return await super().request(method, path, params=params, json=json)
        except NotFound:
            if path == "/v1/patients":
                raise
            return copy.deepcopy(self.answer)


@pytest.mark.parametrize(
    "answer", [None, {"data": None}, {}, {"data": {}}, {"data": None, "message": "Not found"}],
    ids=["null", "null-data", "empty", "empty-data", "null-data-message"],
)  # fmt: skip
def test_a_show_answering_200_with_no_patient_reads_as_not_found(answer: Any) -> None:
    adapter = _adapter(ShowsNobodyAs([JANE], answer))
    with pytest.raises(NotFound):
        asyncio.run(adapter.providers["Patient"].read("99"))
    with pytest.raises(NotFound):
        asyncio.run(adapter.providers["Encounter"].read("99.e.1"))
    encounters = adapter.providers["Encounter"].search
    assert encounters is not None
    page = asyncio.run(encounters(_for_patient("Encounter", "99")))
    assert (page.resources, page.total, page.warnings) == ([], 0, ())


def test_a_show_naming_a_patient_without_its_id_is_still_unreadable() -> None:
    adapter = _adapter(ShowsNobodyAs([JANE], {"data": {"first_name": "Jane", "last_name": "Doe"}}))
    with pytest.raises(UpstreamError, match="field id is missing"):
        asyncio.run(adapter.providers["Patient"].read("99"))


def test_a_read_finds_its_demographics_in_a_list_that_keeps_its_own_order() -> None:
    # Asked for `sort=id`, a list that does not read `sort` answers newest first: the patient's
    # row is further on although the first page already lists higher ids.
    vendor = ListVendor([{**JANE, "id": i} for i in range(120, 0, -1)], "cursor")  # three pages of 50
    read = asyncio.run(_adapter(vendor).providers["Patient"].read("2"))
    assert {t["value"] for t in read["telecom"]} == {"jane@example.org", "(312) 555-0142"}


def _named(*names: str | None) -> list[dict[str, Any]]:
    return [{**JANE, "id": i, "last_name": name} for i, name in enumerate(names, 1)]


@pytest.mark.parametrize(
    ("names", "descending", "sorted_"),
    [
        (("Smith", "Sørensen", "St. James", "Stone"), False, True),  # MySQL `_ci`: `ø` as `o`
        (("Stacy", "St. James", "Stone"), False, True),  # a locale ignoring punctuation
        (("Zhang", "de la Cruz"), False, True),  # by code point (a `C` collation)
        (("Núñez", None, "nunez", "Nyberg"), False, True),  # no name: not judged
        (("Young", "Adams", "Moore"), False, False),  # newest first, whatever `sort` said
        (("Young", "Moore", "Adams"), True, True),
        (("Young", "Moore", "Adams"), False, False),
    ],
)
def test_a_page_in_no_order_any_collation_keeps_is_told_from_a_sorted_one(
    names: tuple[str | None, ...], descending: bool, sorted_: bool
) -> None:
    assert ties.in_order(_named(*names), "last_name", descending) is sorted_


def test_a_sorted_search_on_a_list_that_does_not_sort_says_so_or_sorts_what_it_has_whole() -> None:
    family = SearchQuery("Patient", (), (SortKey("family", False),), "UTC")
    names = ("Young", "Adams", "Moore", "Baker", "Lopez", "Clark", "Hill")
    rows = _named(*names)
    paged = _adapter(ListVendor(rows, "cursor"))
    search = paged.providers["Patient"].search
    assert search is not None
    first = asyncio.run(search(SearchRequest(family, None, 3)))
    assert [r["name"][0]["family"] for r in first.resources] == ["Young", "Adams", "Moore"]  # as listed
    assert len(first.warnings) == 1 and "did not sort" in first.warnings[0] and first.total is None
    whole = _adapter(ListVendor(rows, "unpaged")).providers["Patient"].search
    assert whole is not None
    served: list[str] = []
    position: Any = None
    for _ in range(len(names)):  # three a page, from the list read whole each time
        page = asyncio.run(whole(SearchRequest(family, position, 3)))
        served += [r["name"][0]["family"] for r in page.resources]
        assert page.warnings == ()
        position = page.next
        if position is None:
            break
    assert served == sorted(names)


class NewestFirst(CannedVendor):
    """A list that does not read `sort`: newest first, in pages of `per_page` it numbers."""

    async def request(self, method: str, path: str, *, params: Any = None, json: Any = None) -> Any:
        if path != "/v1/patients":
            return await super().request(method, path, params=params, json=json)
        size, page = int(params["per_page"]), int(params.get("page", 1))
        rows = sorted(self.patients, key=lambda p: -int(p["id"]))[(page - 1) * size : page * size]
        return {"data": [self._render(p, True) for p in rows], "meta": {"current_page": page, "last_page": 9}}


def test_a_walk_of_a_list_in_its_own_order_serves_no_patient_twice_when_one_is_created_between_pages() -> None:
    vendor = NewestFirst([{**JANE, "id": i} for i in range(1, 8)])
    search = _adapter(vendor).providers["Patient"].search
    assert search is not None
    everyone = SearchQuery("Patient", (), (), "UTC")
    first = asyncio.run(search(SearchRequest(everyone, None, 3)))
    vendor.patients.append({**JANE, "id": 8})  # created meanwhile: listed first, the rest shift on
    second = asyncio.run(search(SearchRequest(everyone, first.next, 3)))
    assert [r["id"] for r in first.resources] == ["7", "6", "5"]
    # 5 shifted onto this page: served already; the page is filled from the vendor's next one.
    assert [r["id"] for r in second.resources] == ["4", "3", "2"]


class SkipsEmpty(CannedVendor):
    """A PUT that stores what it is sent but the values it skips: null (Spring's
    `NullValuePropertyMappingStrategy.IGNORE`), and empty text too (`array_filter`), or that
    refuses empty text (`refuses_blank`: a 422)."""

    def __init__(self, patients: list[dict[str, Any]], skipped: tuple[Any, ...], refuses_blank: bool = False) -> None:
        super().__init__(patients)
        self.skipped = skipped
        self.refuses_blank = refuses_blank
        self.bodies: list[dict[str, Any]] = []

    async def request(self, method: str, path: str, *, params: Any = None, json: Any = None) -> Any:
        if method != "PUT":
            return await super().request(method, path, params=params, json=json)
        self.bodies.append(json)
        if self.refuses_blank and json.get("middle_name") == "":
            raise InvalidRequest("The vendor rejected the request: middle_name: This field may not be blank.")
        self.patients[0].update({k: v for k, v in json.items() if v not in self.skipped})
        return {"data": self.patients[0]}


@pytest.mark.parametrize(
    ("skipped", "refuses_blank", "given", "unkept"),
    [
        ((), False, ["Jane"], ()),  # null stored: one PUT
        ((None,), False, ["Jane"], ()),  # null skipped, empty text stored: cleared by a second PUT
        ((None, ""), False, ["Jane", "Marie"], ("Patient.name.given",)),  # nothing empty stored: said
        ((None,), True, ["Jane", "Marie"], ("Patient.name.given",)),  # empty text refused: said
    ],
)
def test_an_update_clears_the_middle_name_it_leaves_out_or_says_it_could_not(
    skipped: tuple[Any, ...], refuses_blank: bool, given: list[str], unkept: tuple[str, ...]
) -> None:
    vendor = SkipsEmpty([{**JANE, "middle_name": "Marie"}], skipped, refuses_blank)
    patients = _adapter(vendor).providers["Patient"]
    assert patients.update is not None
    resource = asyncio.run(patients.read("7"))
    assert resource["name"][0]["given"] == ["Jane", "Marie"]
    written = asyncio.run(patients.update("7", {**resource, "name": [{"family": "Doe", "given": ["Jane"]}]}, None))
    assert written.resource["name"][0]["given"] == given
    assert [entry.partition(" (")[0] for entry in written.not_stored] == list(unkept)
    assert [body["middle_name"] for body in vendor.bodies] == ([None] if not skipped else [None, ""])


def test_a_create_whose_patient_is_not_found_yet_is_answered_as_made() -> None:
    # A read served by a replica behind the writes: the create named the patient, its read does
    # not find it yet. A 404 would have the client send the create again.
    class Lagging(CannedVendor):
        async def request(self, method: str, path: str, *, params: Any = None, json: Any = None) -> Any:
            if method == "POST":
                self.calls.append((path, {}))
                return {"data": {**json, "id": 8, "updated_at": "2026-11-21T00:00:00Z"}}
            return await super().request(method, path, params=params, json=json)

    patients = _adapter(Lagging([JANE])).providers["Patient"]
    assert patients.create is not None
    sent = {"resourceType": "Patient", "name": [{"family": "Lag", "given": ["Rae"]}], "birthDate": "1969-07-20",
            "gender": "female"}  # fmt: skip
    written = asyncio.run(patients.create(sent))
    assert (written.resource["id"], written.resource["gender"], written.not_stored) == ("8", "female", ())
    assert len(written.warnings) == 1 and "has not found it yet" in written.warnings[0]


class OmittingVendor(CannedVendor):
    """A vendor leaving a patient's empty lists out (Go's `omitempty`), whose list may refuse
    `include=encounters` (an allow-list of its own: Spatie's 400)."""

    def __init__(self, patients: list[dict[str, Any]], *, refuses_encounters: bool) -> None:
        super().__init__(patients)
        self.refuses_encounters = refuses_encounters

    async def request(self, method: str, path: str, *, params: Any = None, json: Any = None) -> Any:
        if path == "/v1/patients" and "encounters" in dict(params or {}).get("include", ""):
            if self.refuses_encounters:
                raise InvalidRequest("Requested include(s) `encounters` are not allowed.")
            self.calls.append((path, dict(params or {})))
            rows = [{k: v for k, v in p.items() if v != []} for p in self.patients]
            return {"data": rows, "meta": {"current_page": 1, "last_page": 1, "total": len(rows)}}
        return await super().request(method, path, params=params, json=json)


@pytest.mark.parametrize("refuses_encounters", [False, True])
def test_visits_left_out_are_none_only_where_the_list_shows_it_leaves_empty_lists_out(
    refuses_encounters: bool,
) -> None:
    # A patient without visits (no `encounters` key) beside one with some: the list asked for
    # them shows empty ones are left out, so "none". A list refusing the include shows nothing:
    # unknown, and the read is not failed by the refusal.
    bare = {**JANE, "id": 8, "middle_name": None, "encounters": []}
    shown = {k: v for k, v in bare.items() if k != "encounters"}
    vendor = OmittingVendor([JANE, bare], refuses_encounters=refuses_encounters)
    vendor.patients = [JANE, shown]  # the show answers without the key, as the list does
    provider = _adapter(vendor).providers["Encounter"]
    assert provider.search is not None
    page = asyncio.run(provider.search(_for_patient("Encounter", "8")))
    if refuses_encounters:
        assert page.total is None and "encounters was not in the answer" in page.warnings[0]
    else:
        assert (page.resources, page.total, page.warnings) == ([], 0, ())
