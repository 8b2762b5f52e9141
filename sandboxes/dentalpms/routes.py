"""The route table of the Dental PMS API under ``/api/v1/{org_id}/patients``.

Every route is behind the token and organisation checks (``auth``); unmatched paths and
wrong methods are answered by the app's routing-error handler without an auth check.
"""

from __future__ import annotations

from starlette.routing import Route

from sandboxes.dentalpms.auth import Authenticator
from sandboxes.dentalpms.errors import ValidationStatus
from sandboxes.dentalpms.medical import MedicalRecords
from sandboxes.dentalpms.patient_lists import PatientLists
from sandboxes.dentalpms.patients import PatientRecords
from sandboxes.dentalpms.store import Store

__all__ = ["api_routes"]


def api_routes(store: Store, *, org_id: str, api_token: str, validation_status: ValidationStatus = 422) -> list[Route]:
    """The patient routes over `store`, for organisation `org_id` and bearer `api_token`; a
    422 answered with `validation_status` (``errors``)."""
    guard = Authenticator(org_id=org_id, api_token=api_token, validation_status=validation_status)
    lists, patients, medical = PatientLists(store), PatientRecords(store), MedicalRecords(store)
    base = "/api/v1/{org_id}/patients"
    one = base + "/{patient_uuid}"
    return [
        Route(base, guard(lists.page), methods=["GET"]),
        Route(base, guard(patients.create), methods=["POST"]),
        Route(base + "/cursor", guard(lists.cursor), methods=["GET"]),
        Route(base + "/search", guard(lists.search), methods=["GET"]),
        Route(base + "/counts/by-location", guard(lists.counts), methods=["GET"]),
        Route(one, guard(patients.read), methods=["GET"]),
        Route(one, guard(patients.update), methods=["PATCH"]),
        Route(one + "/archive", guard(patients.archive), methods=["POST"]),
        Route(one + "/restore", guard(patients.restore), methods=["POST"]),
        Route(one + "/transition-status", guard(patients.transition_status), methods=["POST"]),
        Route(one + "/allergies", guard(medical.allergies), methods=["GET"]),
        Route(one + "/medications", guard(medical.medications), methods=["GET"]),
        Route(one + "/diseases", guard(medical.diseases), methods=["GET"]),
        Route(one + "/vital-signs", guard(medical.vital_signs), methods=["GET"]),
        Route(one + "/vital-signs/{vitals_uuid}", guard(medical.one_vital_signs), methods=["GET"]),
        Route(one + "/medical-summary", guard(medical.summary), methods=["GET"]),
    ]
