"""Routes looked up by their number of path segments, not tried one by one.

Starlette's router tries each route's regex in turn, so an instance read (the eighth FHIR
route, after the probes) costs a dozen regex matches before its handler runs. Every FHIR
route's parameters are single segments (`[^/]+`), so a path can only match a template with the
same number of `/`: `SegmentIndex` keeps the routes grouped by that count and tries only the
group of the request's path, in the order given (the first match wins, as in Starlette). Within
a group, a route whose last segment is literal (`_search`, `_history`, `$docref`) can only
match a path ending in that text, so a path is tried only against the routes ending in its own
last segment and those ending in a parameter: an instance read tries one template, not five.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette._utils import get_route_path
from starlette.convertors import StringConvertor
from starlette.datastructures import URLPath
from starlette.routing import BaseRoute, Match, NoMatchFound, Route
from starlette.types import Receive, Scope, Send


class SegmentIndex(BaseRoute):
    """Routes grouped by segment count; the route that matched is what `scope["route"]` names
    (its template is the access log's and the metrics' route label)."""

    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = list(routes)
        # (segment count, last segment) -> the routes a path of that shape can match, in the
        # order given; (segment count, None) -> those ending in a parameter (any other ending).
        self._by_shape: dict[tuple[int, str | None], list[Route]] = {}
        groups: dict[int, list[Route]] = {}
        for route in self.routes:
            if not all(isinstance(c, StringConvertor) for c in route.param_convertors.values()):
                raise ValueError(f"{route.path}: only single-segment parameters can be indexed by segment count")
            groups.setdefault(route.path.count("/"), []).append(route)
        for count, group in groups.items():
            for end in {_literal_end(route.path) for route in group}:
                self._by_shape[(count, end)] = [r for r in group if _literal_end(r.path) in (end, None)]

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        raw = scope.get("raw_path")
        if raw and b"%2" in raw and b"%2f" in raw.lower():
            # An encoded "/" is data, not a separator (RFC 3986 section 2.2); the decoded path
            # would read `Patient%2F1` as `Patient/1`, past a proxy that allows by prefix.
            return Match.NONE, {}
        partial: tuple[Match, Scope] | None = None
        path = get_route_path(scope)
        count, last = path.count("/"), path.rsplit("/", 1)[-1]
        candidates = self._by_shape.get((count, last))
        if candidates is None:
            candidates = self._by_shape.get((count, None), [])
        for route in candidates:
            match, child = route.matches(scope)
            if match is Match.FULL:
                return match, {**child, "route": route}
            if match is Match.PARTIAL and partial is None:
                partial = match, {**child, "route": route}
        return partial or (Match.NONE, {})

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = scope["route"]  # set from the child scope `matches` returned
        await route.handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                continue
        raise NoMatchFound(name, path_params)


def _literal_end(template: str) -> str | None:
    """The last segment of a route template when it is literal text, else None (a parameter)."""
    last = template.rsplit("/", 1)[-1]
    return None if "{" in last else last
