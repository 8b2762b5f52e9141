"""The Dental PMS HTTP client: the only code that knows its URLs, headers and error bodies.

Auth is a static API token sent as `Authorization: Bearer`; every path is under
`/{org_id}`. Errors are FastAPI-shaped: `{"detail": "text"}` or, for validation,
`{"detail": [{"type", "loc", "msg", "input"}]}`. Only `loc` and `msg` are passed on:
`input` echoes what we sent, which can be PHI.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.contract import AdapterConfig
from gateway.upstream.errors import json_or_error
from gateway.upstream.http import UpstreamClient
from mappings.dentalpms.options import DentalPmsOptions

Params = Mapping[str, str | int]


class DentalPmsClient:
    def __init__(self, config: AdapterConfig[DentalPmsOptions]) -> None:
        self._org = config.options.org_id
        token = config.secrets["api_token"]  # required by the vendor's declaration, checked with the config
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self._http = UpstreamClient.from_config(config)

    async def get(self, path: str, params: Params | None = None) -> Any:
        response = await self._http.request("GET", f"/{self._org}{path}", params=params, headers=self._headers)
        return json_or_error(response, _message)

    async def aclose(self) -> None:
        await self._http.aclose()


def _message(body: Any) -> str:
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                loc = ".".join(str(x) for x in item.get("loc", []) if x not in ("query", "body", "path"))
                parts.append(f"{loc}: {item.get('msg', 'invalid')}" if loc else str(item.get("msg", "invalid")))
        return "; ".join(parts)
    return ""
