"""The route table of the Nextvisit API under ``/v1``.

Laravel registers one route per path with its methods; ``HEAD`` is served as ``GET``.
Every route but ``POST /v1/auth/tokens`` is behind the token guard (``auth``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandboxes.nextvisit.auth import Authenticator
from sandboxes.nextvisit.errors import render_api_error
from sandboxes.nextvisit.patient_lists import PatientLists
from sandboxes.nextvisit.patients import PatientRecords
from sandboxes.nextvisit.sessions import Sessions
from sandboxes.nextvisit.store import Store
from sandboxes.toolkit.aliases import Handler
from sandboxes.toolkit.errors import catch_api_errors

__all__ = ["api_routes"]


def _by_method(handlers: dict[str, Handler]) -> Handler:
    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await handlers[method](request)

    return dispatch


def api_routes(store: Store) -> list[Route]:
    """The login and patient routes over `store`."""
    guard = Authenticator(store.tokens, store.readings.unauthenticated_status)
    sessions, lists, patients = Sessions(store), PatientLists(store), PatientRecords(store)
    collection = {"GET": guard(lists.page), "POST": guard(patients.create)}
    one = {
        "GET": guard(patients.show),
        "PUT": guard(patients.update),
        "PATCH": guard(patients.update),
        "DELETE": guard(patients.delete),
    }
    return [
        Route(store.readings.login_path, catch_api_errors(sessions.login, render_api_error), methods=["POST"]),
        Route("/v1/auth/tokens/current", guard(sessions.logout), methods=["DELETE"]),
        Route("/v1/patients", _by_method(collection), methods=list(collection)),
        Route("/v1/patients/search", guard(lists.search), methods=["GET"]),
        Route("/v1/patients/{patient_id}", _by_method(one), methods=list(one)),
    ]
