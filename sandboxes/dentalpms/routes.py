"""The route table of the Dental PMS API under ``/api/v1/{org_id}/patients``.

Every route is behind the token and organisation checks (``auth``); unmatched paths and
wrong methods are answered by the app's routing-error handler without an auth check.

``CountsEndpoint``: ``/patients/counts/by-location`` is served (``"served"``), or, as by an
implementation that skipped the report (the reference documents it, but nothing else needs it),
not there at all (``"absent"``: the router's 404 for a path it does not have) or a stub
answering ``501 Not Implemented`` (``"not_implemented"``, after the token and organisation
checks, as FastAPI's ``raise HTTPException(501)`` in the endpoint or Spring's
``ResponseStatusException(NOT_IMPLEMENTED)`` answers).
"""

from __future__ import annotations

from typing import Literal

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandboxes.dentalpms.auth import Authenticator
from sandboxes.dentalpms.errors import ValidationStatus
from sandboxes.dentalpms.medical import MedicalRecords
from sandboxes.dentalpms.patient_lists import PatientLists
from sandboxes.dentalpms.patients import PatientRecords
from sandboxes.dentalpms.store import Store
from sandboxes.toolkit.errors import ApiError

__all__ = ["CountsEndpoint", "api_routes"]

CountsEndpoint = Literal["served", "absent", "not_implemented"]


def api_routes(
    store: Store,
    *,
    org_id: str,
    api_token: str,
    validation_status: ValidationStatus = 422,
    counts_endpoint: CountsEndpoint = "served",
) -> list[Route]:
    """The patient routes over `store`, for organisation `org_id` and bearer `api_token`; a
    422 answered with `validation_status` (``errors``), the counts as `counts_endpoint` says."""
    if counts_endpoint not in ("served", "absent", "not_implemented"):
        raise ValueError(f"counts_endpoint must be 'served', 'absent' or 'not_implemented', not {counts_endpoint!r}")
    guard = Authenticator(org_id=org_id, api_token=api_token, validation_status=validation_status)
    lists, patients, medical = PatientLists(store), PatientRecords(store), MedicalRecords(store)
    base = "/api/v1/{org_id}/patients"
    one = base + "/{patient_uuid}"
    keyed = store.write_keys.keyed  # write_keys: which writes must carry an Idempotency-Key
    counts = {"served": [lists.counts], "absent": [], "not_implemented": [_not_implemented]}[counts_endpoint]
    return [
        Route(base, guard(lists.page), methods=["GET"]),
        Route(base, guard(keyed(patients.create, replayed=False)), methods=["POST"]),
        Route(base + "/cursor", guard(lists.cursor), methods=["GET"]),
        Route(base + "/search", guard(lists.search), methods=["GET"]),
        *(Route(base + "/counts/by-location", guard(endpoint), methods=["GET"]) for endpoint in counts),
        Route(one, guard(patients.read), methods=["GET"]),
        Route(one, guard(keyed(patients.update)), methods=["PATCH"]),
        Route(one + "/archive", guard(keyed(patients.archive)), methods=["POST"]),
        Route(one + "/restore", guard(keyed(patients.restore)), methods=["POST"]),
        Route(one + "/transition-status", guard(keyed(patients.transition_status)), methods=["POST"]),
        Route(one + "/allergies", guard(medical.allergies), methods=["GET"]),
        Route(one + "/medications", guard(medical.medications), methods=["GET"]),
        Route(one + "/diseases", guard(medical.diseases), methods=["GET"]),
        Route(one + "/vital-signs", guard(medical.vital_signs), methods=["GET"]),
        Route(one + "/vital-signs/{vitals_uuid}", guard(medical.one_vital_signs), methods=["GET"]),
        Route(one + "/medical-summary", guard(medical.summary), methods=["GET"]),
    ]


async def _not_implemented(request: Request) -> Response:
    raise ApiError(501, "Not Implemented")
