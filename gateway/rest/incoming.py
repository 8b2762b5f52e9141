"""Resources sent by clients: read the body, check it is valid FHIR R4, before any vendor call.

fhir.resources stays off the read path (validating a 20-resource Bundle costs ~15 ms of CPU,
docs/architecture.md#performance-notes); writes are rare and a
vendor must never receive something that is not FHIR, so they pay for a full model check.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request

from gateway import jsonio
from gateway.errors import Invalid, InvalidRequest, PayloadTooLarge, RequestTimeout, UnsupportedMediaType
from gateway.rest.bindings import binding_problems
from gateway.rest.invariants import invariant_problems
from gateway.rest.json_types import json_type_problems
from gateway.rest.model_errors import model_error_text
from gateway.rest.modifiers import refuse_modifiers
from gateway.rest.negotiation import other_version
from gateway.rest.primitive_arrays import misaligned_primitive_arrays
from gateway.text import content_charset

_JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")


async def read_resource(request: Request, resource_type: str) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";")[0].strip().lower()
    if media not in _JSON_TYPES:
        raise UnsupportedMediaType(f"Send the resource as application/fhir+json (got '{media or 'nothing'}')")
    version = other_version(content_type)
    if version is not None:  # a resource of another FHIR version may read as R4 and mean otherwise
        raise UnsupportedMediaType(f"The body is FHIR version '{version}' by its Content-Type; this server is R4 (4.0)")
    charset = content_charset(content_type)
    raw = await read_body(request)
    if charset not in (None, "utf-8") and not raw.isascii():
        # FHIR JSON is UTF-8 (R4 json.html): read as UTF-8, text in another charset is another
        # text. An ASCII body reads the same in any of them (RFC 8259 section 8.1: the label
        # has no meaning for JSON), and is taken.
        raise UnsupportedMediaType(f"Send the resource in UTF-8 (got charset '{charset}')")
    try:
        body = jsonio.loads(raw)
    except ValueError:
        raise InvalidRequest("The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object (a FHIR resource)")
    if body.get("resourceType") != resource_type:
        raise InvalidRequest(
            f"The body's resourceType must be '{resource_type}' (got '{body.get('resourceType')}')",
            expression="resourceType",
        )
    values, depth = _size_of(body, MAX_BODY_VALUES)
    if values > MAX_BODY_VALUES:
        # The byte limit alone lets a body of a million tiny values through, and validating it,
        # and listing each of its errors, would cost seconds of CPU and gigabytes of answer.
        raise PayloadTooLarge(f"A resource sent is limited to {MAX_BODY_VALUES} JSON values")
    if depth > MAX_BODY_DEPTH:
        # The model validates nested elements recursively: a few KB of extensions inside
        # extensions would exhaust Python's stack (a 500). No resource nests anywhere near this.
        raise InvalidRequest(f"A resource sent may nest JSON objects and arrays {MAX_BODY_DEPTH} deep at most")
    repeated = _repeated_property(raw)
    if repeated is not None:
        # RFC 8259 section 4: with a name repeated, what an object holds depends on the reader
        # (the first, the last, an error); a proxy or an audit that reads another value than the
        # gateway would see another resource than the one stored.
        raise InvalidRequest(f"The body gives {repeated} more than once in one JSON object: send each once")
    # Model validation is CPU-bound: off the event loop, so one large write stalls no reads.
    await run_in_threadpool(check_fhir, body)
    refuse_modifiers(body)
    return body


class _Repeated(Exception):
    pass


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise _Repeated(name)
            seen.add(name)
    return found


_ELEMENT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def _repeated_property(raw: bytes) -> str | None:
    """How to name a property the JSON repeats within one object (orjson, which reads the body,
    keeps the last silently), or None. Read a second time, by the standard library, which
    shows each object's names as sent; writes are rare, reads never pay for it."""
    try:
        json.loads(raw, object_pairs_hook=_unique)
    except _Repeated as exc:
        name = str(exc.args[0])
        return f"the property '{name}'" if _ELEMENT_NAME.fullmatch(name) else "a property"
    except (ValueError, RecursionError):
        return None  # orjson read it: what the standard library cannot is no repetition
    return None


MAX_BODY_VALUES = 10_000  # a Patient with every element repeated a few times has a few hundred
MAX_BODY_DEPTH = 64  # a Patient's deepest element (an extension's extension's value) is under 10
MAX_LISTED_PROBLEMS = 100  # issues named one by one; the rest are counted in one more issue


def check_fhir(resource: dict[str, Any]) -> None:
    """Raise Invalid, listing every problem found (the first MAX_LISTED_PROBLEMS, then how
    many more): the elements that break the R4 model, the strings holding control characters,
    the primitives sent as another JSON type than R4's and the codes outside a required
    binding, all in one answer (R4 operationoutcome.html: an
    OperationOutcome carries one issue per problem); or return."""
    resource_type = resource["resourceType"]
    model = get_fhir_model_class(resource_type)
    problems: list[tuple[str, str | None]] = list(_unknown_resource_types(resource, resource_type))
    try:
        if not problems:  # the model raises KeyError, not a ValidationError, at an unknown type
            model.model_validate(resource)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            where = _fhirpath(resource_type, error["loc"])
            problems.append((f"{where}: {model_error_text(error)}", where))
    problems += _control_characters(resource, resource_type)
    # Read from the JSON as sent, so that a body the model could not read still gets them; an
    # element already named as malformed is not named again.
    named = {where for _, where in problems if where is not None}
    for found in (json_type_problems, binding_problems):
        problems += [(message, where) for message, where in found(model, resource, resource_type) if where not in named]
        named.update(where for _, where in problems if where is not None)
    # The model reads `given` and `_given` each on its own: that they line up is checked here.
    problems += [
        (message, where)
        for message, where in misaligned_primitive_arrays(resource, resource_type)
        if where not in named
    ]
    if not problems:  # a body the model reads: the invariants it leaves alone (gateway.rest.invariants)
        problems += invariant_problems(resource)
    if problems:
        raise Invalid(_listed(problems))


def _unknown_resource_types(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """The resources inside `value` (contained, or a Bundle's entries) whose resourceType R4
    does not define, is not a string, or is missing from a contained one (the model meets
    each with a TypeError, or takes it)."""
    if isinstance(value, dict):
        kind = value.get("resourceType")
        if "resourceType" in value and not isinstance(kind, str):
            yield f"{where}: resourceType must be a string naming an R4 resource type", where
            return
        if isinstance(kind, str) and not _known_type(kind):
            yield f"{where}: unknown resourceType '{kind}'", where
            return
        for key, item in value.items():
            if key == "contained" and isinstance(item, list):
                # A contained resource is known by its resourceType (R4 references.html#contained).
                for index, inner in enumerate(item):
                    if isinstance(inner, dict) and "resourceType" not in inner:
                        yield (
                            f"{where}.contained[{index}]: a contained resource needs its resourceType",
                            (f"{where}.contained[{index}]"),
                        )
            yield from _unknown_resource_types(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unknown_resource_types(item, f"{where}[{index}]")


def _known_type(name: str) -> bool:
    try:
        get_fhir_model_class(name)
    except (KeyError, ValueError):
        return False
    return True


def _fhirpath(resource_type: str, loc: tuple[int | str, ...]) -> str:
    """The model's error location as FHIRPath, which OperationOutcome.issue.expression holds
    (R4 operationoutcome-definitions.html): `Patient.name[0].given[1]`, where the model says
    `name.0.given.1`."""
    path = resource_type
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part != "__root__":
            path += f".{part}"
    return path


@dataclass(frozen=True)
class Valueless:
    """What `without_valueless_items` took out of a resource sent: the paths of the items that
    had an extension (which goes with them: not stored), and, for each primitive array it
    shortened, the position each remaining item had as sent."""

    dropped: tuple[str, ...] = ()
    positions: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def as_sent(self, entry: str) -> str:
        """A not-stored entry (a FHIRPath, perhaps followed by why) naming an item of a shortened
        array by its position as sent: a mapping sees `given[0]` where the client sent `given[1]`."""
        for array, sent_at in self.positions.items():
            if entry.startswith(array + "["):
                index, bracket, rest = entry[len(array) + 1 :].partition("]")
                if bracket and index.isdigit() and int(index) < len(sent_at):
                    return f"{array}[{sent_at[int(index)]}]{rest}"
        return entry


def without_valueless_items(resource: dict[str, Any]) -> tuple[dict[str, Any], Valueless]:
    """`resource` without the items of its primitive arrays that have no value, and what was
    taken out (`Valueless`).

    R4 JSON (json.html#primitive) writes `null` in a primitive array where an item has only an
    extension: `"given": [null, "Zed"]`, its extension at the same place in `_given`. The item
    has no value, and a mapping reading the array as strings would meet None; the two arrays
    line up by position, so the same place is taken out of both."""
    dropped: list[str] = []
    positions: dict[str, tuple[int, ...]] = {}
    out = _valueless_dropped(resource, resource["resourceType"], dropped, positions)
    return out, Valueless(tuple(dropped), positions)


def _valueless_dropped(value: Any, where: str, dropped: list[str], positions: dict[str, tuple[int, ...]]) -> Any:
    if isinstance(value, list):
        return [_valueless_dropped(item, f"{where}[{i}]", dropped, positions) for i, item in enumerate(value)]
    if not isinstance(value, dict):
        return value
    out = {key: _valueless_dropped(item, f"{where}.{key}", dropped, positions) for key, item in value.items()}
    for key, items in value.items():
        if key.startswith("_") or not isinstance(items, list) or None not in items:
            continue
        kept = [i for i, item in enumerate(items) if item is not None]
        positions[f"{where}.{key}"] = tuple(kept)
        extensions = out.get(f"_{key}")
        if isinstance(extensions, list) and len(extensions) == len(items):
            lost = [i for i, item in enumerate(items) if item is None and extensions[i]]
            dropped += [f"{where}.{key}[{i}].extension" for i in lost]
            rest = [extensions[i] for i in kept]
            if any(rest):
                out[f"_{key}"] = rest
            else:
                del out[f"_{key}"]
        out[key] = [out[key][i] for i in kept]
    return out


def _listed(problems: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    """The first MAX_LISTED_PROBLEMS, and one more issue saying how many are not listed (an
    incomplete list says so, never silently truncated)."""
    if len(problems) <= MAX_LISTED_PROBLEMS:
        return problems
    unlisted = len(problems) - MAX_LISTED_PROBLEMS
    return [*problems[:MAX_LISTED_PROBLEMS], (f"{unlisted} more problems of the same body are not listed", None)]


def _control_characters(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """The strings of `value` holding a character R4 forbids: none below U+0020 but tab, CR
    and LF (datatypes.html#string, "SHALL NOT contain Unicode character points below 32");
    a vendor would store it, and a CCD could not carry it (XML 1.0 has no such characters)."""
    if isinstance(value, str):
        if _CONTROL.search(value):
            yield f"{where}: a control character (below U+0020, other than tab, CR and LF) is not allowed", where
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _control_characters(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _control_characters(item, f"{where}[{index}]")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _size_of(document: Any, limit: int) -> tuple[int, int]:
    """How many values (objects, arrays and scalars) the parsed JSON holds, and how deep it
    nests; counting stops past `limit` values, so its cost is bounded whatever the document."""
    pending = [(document, 1)]
    seen = deepest = 0
    while pending:
        value, depth = pending.pop()
        seen += 1
        deepest = max(deepest, depth)
        if seen > limit:
            break
        if isinstance(value, dict):
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
    return seen, deepest


MAX_BODY_BYTES = 1_000_000  # a Patient is a few KB; this bounds memory and validation time
# An oversize body is still read, and thrown away, up to this many bytes before the 413 goes
# out: a server that closes while the client is still sending makes the client's TCP stack
# see a reset instead of the answer (RFC 9112 section 9.6, RFC 9110 section 15.5.14). Past
# it, or when the body is too slow, the 413 says `Connection: close`.
DISCARD_BYTES = 16_000_000


async def read_body(request: Request, limit: int = MAX_BODY_BYTES, seconds: float | None = None) -> bytes:
    """The request body, refused with 413 past `limit` bytes (kept in memory up to `limit` only),
    and with 408 if it takes longer than `seconds` (default: server.body_timeout)."""
    coding = request.headers.get("content-encoding", "identity").strip().lower()
    if coding not in ("", "identity"):
        # RFC 9110 section 15.5.16: a content coding the server does not take is a 415, with
        # Accept-Encoding saying which it does (section 12.5.3); read as it is, a gzip body would
        # be "not JSON", and a br-labelled plain one taken as if unlabelled.
        raise UnsupportedMediaType(
            "Send the body without a content coding (Content-Encoding is not supported)",
            headers={"Accept-Encoding": "identity"},
        )
    declared = _declared_length(request)
    if seconds is None:
        settings = getattr(getattr(request.app.state, "rest", None), "settings", None)
        seconds = settings.server.body_timeout if settings is not None else 30.0
    if declared is not None and declared > limit:
        waiting = request.headers.get("expect", "").lower() == "100-continue"
        if waiting or declared > DISCARD_BYTES:
            # The client has not sent the body yet (it waits for 100 Continue), or too much of it
            # is coming to read: answer now and close (RFC 9110 section 10.1.1).
            raise _too_large(limit, close=True)
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(seconds):
            async for chunk in request.stream():
                size += len(chunk)
                if size > DISCARD_BYTES:
                    raise _too_large(limit, close=True)
                if size > limit:
                    chunks.clear()  # read on, and thrown away, so that the 413 arrives cleanly
                else:
                    chunks.append(chunk)
    except TimeoutError:
        if size > limit:
            raise _too_large(limit, close=True) from None
        # RFC 9110 section 15.5.9: the server has decided to close the connection rather than
        # wait on, and SHOULD say so; the rest of the body is then read and thrown away a
        # bounded time only (gateway.slow_clients) instead of holding the socket.
        raise RequestTimeout(
            f"The request body did not arrive within {seconds:g} seconds", headers={"Connection": "close"}
        ) from None
    except ClientDisconnect:
        # The client went away (or its chunked body broke off): nobody reads the answer, but it
        # is the client's doing, so it is counted and logged as a 400, not as a server error.
        raise InvalidRequest("The client closed the connection before its request body was complete") from None
    if size > limit:
        raise _too_large(limit, close=False)
    return b"".join(chunks)


def _declared_length(request: Request) -> int | None:
    declared = request.headers.get("content-length", "")
    if not (declared.isascii() and declared.isdigit()):
        return None  # absent or malformed: the server's HTTP parser has the last word on it
    digits = declared.lstrip("0")
    return DISCARD_BYTES + 1 if len(digits) > 18 else int(digits or "0")


def _too_large(limit: int, *, close: bool) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"Request bodies are limited to {limit} bytes", headers={"Connection": "close"} if close else None
    )
