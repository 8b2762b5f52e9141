"""Routes looked up by segment count (gateway.rest.route_index): the same answer as trying every
route in order, without trying the ones whose template cannot match."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Match, Route

from gateway.rest.route_index import SegmentIndex


def _answer(request: Request) -> Response:
    return PlainTextResponse("")


ROUTES = [
    Route("/fhir/{tenant}/metadata", _answer),
    Route("/fhir/{tenant}/{type}/_search", _answer, methods=["POST"]),
    Route("/fhir/{tenant}/{type}/{id}", _answer),
    Route("/fhir/{tenant}/{type}", _answer),
]


def _scope(path: str, method: str = "GET") -> dict[str, object]:
    return {"type": "http", "path": path, "root_path": "", "method": method, "headers": []}


@pytest.mark.parametrize(
    ("path", "method", "template", "match"),
    [
        ("/fhir/t/metadata", "GET", "/fhir/{tenant}/metadata", Match.FULL),  # before {type}: first match wins
        ("/fhir/t/Patient", "GET", "/fhir/{tenant}/{type}", Match.FULL),
        ("/fhir/t/Patient/_search", "POST", "/fhir/{tenant}/{type}/_search", Match.FULL),
        ("/fhir/t/Patient/_search", "GET", "/fhir/{tenant}/{type}/{id}", Match.FULL),  # a full match beats a partial
        ("/fhir/t/Patient/p1", "GET", "/fhir/{tenant}/{type}/{id}", Match.FULL),
    ],
)
def test_the_route_a_path_takes_is_the_first_in_order_of_those_with_its_segments(
    path: str, method: str, template: str, match: Match
) -> None:
    found, child = SegmentIndex(ROUTES).matches(_scope(path, method))
    assert found is match and child["route"].path == template  # the template metrics and logs name


def test_a_method_a_route_does_not_take_is_a_partial_match_of_that_route() -> None:
    index = SegmentIndex([Route("/fhir/{tenant}/{type}/_search", _answer, methods=["POST"])])
    found, child = index.matches(_scope("/fhir/t/Patient/_search", "DELETE"))
    assert found is Match.PARTIAL and child["route"].path == "/fhir/{tenant}/{type}/_search"


@pytest.mark.parametrize("path", ["/fhir/t/Patient/p1/extra/more", "/fhir", "/fhir/t/Patient/p1/"])
def test_a_path_with_another_number_of_segments_matches_nothing(path: str) -> None:
    assert SegmentIndex(ROUTES).matches(_scope(path))[0] is Match.NONE


def test_a_route_whose_parameter_spans_segments_cannot_be_indexed() -> None:
    with pytest.raises(ValueError, match="single-segment"):
        SegmentIndex([Route("/files/{rest:path}", _answer)])


def _in_order(routes: list[Route], scope: dict[str, object]) -> tuple[Match, str | None]:
    """What Starlette's router does: every route in turn, the first full match, else the first partial."""
    partial = None
    for route in routes:
        found, _ = route.matches(scope)
        if found is Match.FULL:
            return found, route.path
        if found is Match.PARTIAL and partial is None:
            partial = route.path
    return (Match.PARTIAL, partial) if partial else (Match.NONE, None)


def test_a_parameter_route_given_before_a_literal_one_still_wins_for_the_literal_path() -> None:
    routes = [Route("/fhir/{tenant}/{type}/{id}", _answer), Route("/fhir/{tenant}/{type}/_search", _answer)]
    found, child = SegmentIndex(routes).matches(_scope("/fhir/t/Patient/_search"))
    assert found is Match.FULL and child["route"].path == "/fhir/{tenant}/{type}/{id}"


@pytest.mark.parametrize(
    "path",
    [
        "/fhir/t",
        "/fhir/t/metadata",
        "/fhir/t/_history",
        "/fhir/t/Patient",
        "/fhir/t/.well-known/smart-configuration",
        "/fhir/t/Patient/_search",
        "/fhir/t/Patient/_history",
        "/fhir/t/DocumentReference/$docref",
        "/fhir/t/Patient/$docref",
        "/fhir/t/Patient/p1",
        "/fhir/t/Patient/p1/$everything",
        "/fhir/t/Patient/p1/$ccd",
        "/fhir/t/Patient/p1/_history",
        "/fhir/t/Patient/p1/other",
        "/fhir/t/Patient/p1/_history/2",
        "/fhir/t/Patient/",
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_the_gateways_routes_match_as_trying_each_in_order_would(path: str, method: str) -> None:
    from gateway.rest.routes import fhir_routes

    (index,) = (route for route in fhir_routes() if isinstance(route, SegmentIndex))
    found, child = index.matches(_scope(path, method))
    assert (found, child.get("route").path if found is not Match.NONE else None) == _in_order(
        index.routes, _scope(path, method)
    )
