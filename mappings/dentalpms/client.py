"""The Dental PMS HTTP client: the only code that knows its URLs, headers and error bodies.

Auth is a static API token sent as `Authorization: Bearer`; every path is under
`/{org_id}`. Errors are documented FastAPI-shaped: `{"detail": "text"}` or, for
validation, `{"detail": [{"type", "loc", "msg", "input"}]}`. Implementations differ
(where the docs are silent): a 422 whose `detail` is a text, `{"error": "text"}` or
`{"error": {"message", ...}}`, `{"message": "text"}`, Spring Boot's binding errors
`{"errors": [{"field", "defaultMessage", "rejectedValue"}]}`, Laravel's `{"message": "text",
"errors": {field: [text, ...]}}`, ASP.NET Core's problem details `{"type", "title",
"status", "detail"}` (RFC 9457), whose validation failure has no `detail`, only the `title`
"One or more validation errors occurred." and `"errors": {key: [text, ...]}`, each key a
property (`Email`) or the JSON path of a value the reader could not take (`$.email`), and a
Rails scaffold's `render json: @patient.errors`, the messages by attribute with no envelope at
all (`{"email": ["is invalid"]}`); all are read. Only `loc` and
`msg` (`field` and `defaultMessage` or `message`), or the text, are passed on: `input` and
`rejectedValue` echo what we sent, which can be PHI.

The query parameters the reference gives a closed set of values (`status`, `problem_status`,
`sort_by`, `sort_dir`) are documented in lower case (`active`, `last_name`, `asc`), but a
service may bind them to its enums by the constants' names: Spring's `@RequestParam` of an enum
type takes only `ACTIVE` (`Enum.valueOf` is case-sensitive) and answers the documented spelling
400, the very spelling its answers are written in (Jackson writes an enum by its name). Which
spelling the vendor takes is learned once, the first time a list asked with such values is
refused, from one request of the patient list asked both ways (`_takes_names`); refused in the
documented spelling and answered in names, every such value is sent as a name from then on.

The write bodies' enum fields (`gender`, `marital_status`, the create's `status`, the
transition's `new_status`) are documented in lower case too, and a service decoding its bodies
with Jackson's defaults (Spring Boot) takes only the constants' names there as well: `female`
is a 400 `HttpMessageNotReadableException`, which says nothing of why by default. So the first
write whose body carries such a value and is refused (400 or 422) is sent once more with them
as names, under an Idempotency-Key of its own (the refused one made nothing): taken so, bodies
are written in names from then on; taken in the documented spelling, never asked again; refused
both ways, it was refused for something else, and the first refusal is the answer.

Every POST and PATCH carries an `Idempotency-Key`, a new one per write (per call of `send`),
which gateway.upstream sends again with that write's own retries. The reference names the
header only in the create's errors ("409: Idempotency conflict (duplicate Idempotency-Key)"),
and says nothing of the other writes: a service may put one idempotency middleware before every
unsafe method (a NestJS interceptor bound globally, a Rails `before_action` in the base
controller) and refuse a write without a key (400, as the IETF Idempotency-Key draft has it).
Sent only with creates, every status move, PATCH and archive was refused there. A key is never
shared by two writes: a take-back PATCH under its PATCH's key would be replayed that PATCH's
answer, or refused as "Idempotency conflict". A service that reads no key on these writes is
unaffected; one that does may now be asked a write again after a 5xx or a timeout (every write
is based on a `base_version`, so a write that landed is not applied twice).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import uuid4

from gateway.contract import AdapterConfig
from gateway.errors import InvalidRequest, NotFound
from gateway.upstream.errors import json_or_error
from gateway.upstream.http import UpstreamClient, UpstreamResponse
from mappings.dentalpms.options import DentalPmsOptions

Params = Mapping[str, str | int]
# How the vendor refuses a body or an action as invalid: the reference's 422, or the 400 Spring
# Boot, ASP.NET Core, Django REST Framework and NestJS answer a failed validation with.
REFUSED = (422, 400)
# The fields of the bodies the gateway writes that the reference lists as enums (module docstring).
_ENUM_FIELDS = frozenset({"gender", "marital_status", "status", "new_status"})
# The methods of the writes that carry an Idempotency-Key (module docstring).
_KEYED_METHODS = frozenset({"POST", "PATCH"})
_LOC_PREFIXES = ("query", "body", "path")
# The query parameters the reference gives a closed set of values (module docstring).
_ENUM_PARAMS = frozenset({"status", "problem_status", "sort_by", "sort_dir"})
# One request of the patient list with a value of each: refused one way and taken the other, it
# says how the vendor spells them (whatever it holds: a 404 for an empty list is taken too).
_SPELLING_PROBE: dict[str, str | int] = {"first": 1, "status": "active", "sort_by": "last_name", "sort_dir": "asc"}


class DentalPmsClient:
    def __init__(self, config: AdapterConfig[DentalPmsOptions]) -> None:
        self._org = config.options.org_id
        token = config.secrets["api_token"]  # required by the vendor's declaration, checked with the config
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self._http = UpstreamClient.from_config(config)
        # Whether the vendor takes enum values only as constants' names (`ACTIVE`); None until a
        # refusal made it worth asking (module docstring).
        self._enum_names: bool | None = None
        # The same of the write bodies' enum fields, learned from a write refused (module docstring).
        self._body_enum_names: bool | None = None

    async def get(self, path: str, params: Params | None = None) -> Any:
        """The answer to a GET, enum values spelled as the vendor takes them (module docstring)."""
        if not params or self._enum_names is False or _ENUM_PARAMS.isdisjoint(params):
            return await self._get(path, params)
        if self._enum_names:
            return await self._get(path, _as_names(params))
        try:
            return await self._get(path, params)
        except InvalidRequest:
            if not await self._takes_names():
                raise  # refused for something else (a `search` too short, say)
        return await self._get(path, _as_names(params))

    async def _get(self, path: str, params: Params | None) -> Any:
        response = await self._http.request("GET", f"/{self._org}{path}", params=params, headers=self._headers)
        return json_or_error(response, message_of)

    async def _takes_names(self) -> bool:
        """Whether the vendor takes enum query values only as constants' names: the patient list
        asked once with documented values refused, and the same asked with names taken. Learned
        for good once either is taken; neither taken, nothing is learned (the refusals were not
        of the spelling)."""
        if self._enum_names is None:
            if await self._taken(_SPELLING_PROBE):
                self._enum_names = False
            elif await self._taken(_as_names(_SPELLING_PROBE)):
                self._enum_names = True
        return bool(self._enum_names)

    async def _taken(self, params: Params) -> bool:
        try:
            await self._get("/patients/cursor", params)
        except InvalidRequest:
            return False
        except NotFound:  # an empty list's 404 (adapter.py): the values were read
            return True
        return True

    async def send(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> UpstreamResponse:
        """A write, enum values spelled as the vendor takes them, under an Idempotency-Key
        (module docstring); the answer whatever its status (the adapter reads 409/422 itself)."""
        headers = _keyed(method, headers)
        if self._body_enum_names is False or not _has_enum_values(body):
            return await self._send(method, path, body, headers)
        if self._body_enum_names:
            return await self._send(method, path, _body_as_names(body), headers)
        response = await self._send(method, path, body, headers)
        if response.status not in REFUSED:
            if 200 <= response.status < 300:
                self._body_enum_names = False
            return response
        named = await self._send(method, path, _body_as_names(body), _own_key(headers))
        if named.status in REFUSED:
            return response  # refused either way: not for the spelling, nothing learned
        self._body_enum_names = True
        return named

    async def _send(self, method: str, path: str, body: Any, headers: Mapping[str, str] | None) -> UpstreamResponse:
        return await self._http.request(
            method, f"/{self._org}{path}", json=body, headers={**self._headers, **(headers or {})}
        )

    async def aclose(self) -> None:
        await self._http.aclose()


def _as_names(params: Params) -> dict[str, str | int]:
    """`params` with each enum value written as its constant's name (`last_name` -> `LAST_NAME`)."""
    return {name: str(value).upper() if name in _ENUM_PARAMS else value for name, value in params.items()}


def _has_enum_values(body: Any) -> bool:
    return isinstance(body, dict) and any(isinstance(body.get(name), str) for name in _ENUM_FIELDS)


def _body_as_names(body: dict[str, Any]) -> dict[str, Any]:
    """`body` with each enum value written as its constant's name (`non_binary` -> `NON_BINARY`)."""
    return {
        name: value.upper() if name in _ENUM_FIELDS and isinstance(value, str) else value
        for name, value in body.items()
    }


def _keyed(method: str, headers: Mapping[str, str] | None) -> Mapping[str, str] | None:
    """`headers` of one logical write, with an Idempotency-Key of its own when it is a POST or
    PATCH without one (module docstring): each call of `send` is one write, and
    gateway.upstream sends its retries with the same headers, so a key is fresh per write and
    reused on the write's own retries."""
    if method.upper() not in _KEYED_METHODS or any(name.lower() == "idempotency-key" for name in headers or {}):
        return headers
    return {**(headers or {}), "Idempotency-Key": str(uuid4())}


def _own_key(headers: Mapping[str, str] | None) -> Mapping[str, str] | None:
    """`headers` with an Idempotency-Key of its own, if they carry one: the request they were
    sent with was refused (it made nothing), and a vendor may keep a refused request's key and
    refuse another body under it (module docstring)."""
    if not headers or not any(name.lower() == "idempotency-key" for name in headers):
        return headers
    return {**{n: v for n, v in headers.items() if n.lower() != "idempotency-key"}, "Idempotency-Key": str(uuid4())}


def message_of(body: Any) -> str:
    """A PHI-free message out of any error body shape (see the module docstring)."""
    if not isinstance(body, dict):
        return ""
    nest = _nestjs_messages(body)
    if nest:
        return "; ".join(nest)
    for key in ("detail", "error", "message", "errors", "title"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
        if key == "errors" and isinstance(value, dict) and value:  # by field: Laravel, ASP.NET Core
            return "; ".join(f"{_field(field)}: {_first_text(texts)}" for field, texts in value.items())
        if isinstance(value, dict) and (text := message_of(value)):
            return text
        if isinstance(value, list) and value:
            return "; ".join(f"{loc}: {msg}" if loc else msg for loc, msg in _items(value))
    return "; ".join(f"{field}: {texts[0]}" for field, texts in _by_attribute(body).items())


def fields_of(body: Any) -> list[str]:
    """The body fields a validation error names (`loc` without its `body`/`query` head)."""
    if not isinstance(body, dict):
        return []
    nest = _nestjs_messages(body)
    if nest:  # class-validator's messages start with the property path: `email must be an email`
        return [field for message in nest if (field := _field(message.split(" ", 1)[0]))]
    for key in ("detail", "errors"):  # a ProblemDetail's `detail` is a text, its field errors beside it
        listed = body.get(key)
        if isinstance(listed, list):
            return [loc for loc, _ in _items(listed) if loc]
        if key == "errors" and isinstance(listed, dict):  # Laravel, ASP.NET Core: {"errors": {field: [text]}}
            return [name for field in listed if (name := _field(field))]
    return list(_by_attribute(body))


def _by_attribute(body: dict[str, Any]) -> dict[str, list[str]]:
    """A Rails model's errors as its scaffold renders them, `{"email": ["is invalid"]}`: every key
    an attribute, every value its messages (module docstring); empty for any other body."""
    if body and all(
        isinstance(texts, list) and texts and all(isinstance(t, str) for t in texts) for texts in body.values()
    ):
        return {str(field): texts for field, texts in body.items()}
    return {}


def _nestjs_messages(body: dict[str, Any]) -> list[str]:
    """The messages of NestJS's `HttpException` body, `{"statusCode", "message", "error"}`, whose
    `error` is only the status's reason phrase ("Conflict"): `message` one text, or ValidationPipe's
    list of class-validator's. None for any other body."""
    if "statusCode" not in body:
        return []
    message = body.get("message")
    if isinstance(message, str):
        return [message] if message else []
    return [m for m in message if isinstance(m, str) and m] if isinstance(message, list) else []


def _field(key: Any) -> str:
    """A field as an error body keys it, without the JSON path's root: System.Text.Json names a
    value it could not read `$.first_name` (`$.address.city`)."""
    text = str(key)
    return text[2:] if text.startswith("$.") else text.lstrip("$")


def _first_text(texts: Any) -> str:
    if isinstance(texts, list) and texts and isinstance(texts[0], str):
        return texts[0]
    return texts if isinstance(texts, str) else "invalid"


def _items(errors: list[Any]) -> list[tuple[str, str]]:
    out = []
    for item in errors:
        if isinstance(item, dict):
            loc = item.get("loc")
            parts = [str(x) for x in loc if x not in _LOC_PREFIXES] if isinstance(loc, list) else []
            if not parts and isinstance(item.get("field"), str):  # Spring's FieldError
                parts = [item["field"]]
            msg = next((item[k] for k in ("msg", "defaultMessage", "message") if isinstance(item.get(k), str)), None)
            out.append((".".join(parts), msg or "invalid"))
        elif isinstance(item, str):
            out.append(("", item))
    return out
