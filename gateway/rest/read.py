"""read and vread: `GET [type]/[id]` and `GET [type]/[id]/_history/[vid]`.

A Binary is served as its content (the document itself) unless the client asks for the
Binary resource in FHIR JSON (http://hl7.org/fhir/R4/binary.html#rest).
"""

from __future__ import annotations

import base64
from dataclasses import replace

from starlette.requests import Request
from starlette.responses import Response

from gateway.audit.patients import patient_of, record_patients
from gateway.auth.enforce import read_within
from gateway.auth.scopes import Permission
from gateway.cache import is_stale
from gateway.contract import Interaction
from gateway.documents import ids
from gateway.errors import InvalidRequest, NotFound
from gateway.http_dates import http_date, one_http_date
from gateway.rest.context import (
    check_id,
    check_version_id,
    header_value,
    prefer,
    provider_for,
    query_value,
    reach,
    respond,
    response_format,
    tenant_of,
    version_headers,
)
from gateway.rest.document_access import check_document_access, check_vendor_binary
from gateway.rest.documents import DOCUMENT_HEADERS, document_response, is_cda
from gateway.rest.elements import shape, shaping
from gateway.rest.negotiation import (
    CDA_FORMATS,
    CDA_REPRESENTATIONS,
    check_document_format,
    file_formats,
    wants_binary_resource,
)
from gateway.rest.preconditions import check, field_value, preconditions


async def read(request: Request) -> Response:
    resource_type = request.path_params["type"]
    params = request.query_params
    # A generated document is CDA (its XML, or its page); a vendor's file is of a type not yet known.
    content = CDA_REPRESENTATIONS if resource_type == "Binary" and ids.is_generated(request.path_params["id"]) else None
    if resource_type == "Binary" and not wants_binary_resource(
        query_value(request, "_format"), header_value(request, "accept"), content
    ):
        return await _binary_content(request)
    fmt = response_format(request)
    tenant = tenant_of(request)
    resource_id = request.path_params["id"]
    provider = provider_for(tenant, resource_type, Interaction.READ)
    check_id(resource_id)
    check_version_id(request)
    if resource_type == "Binary":  # guarded as a document (gateway.rest.document_access)
        await check_document_access(request, tenant, resource_id)
        resource = await provider.read(resource_id)
        if not ids.is_generated(resource_id):
            await check_vendor_binary(request, tenant, resource)
    else:
        allowed = reach(request, provider, Permission.READ, tenant.context.timezone)
        resource = await read_within(allowed, provider.read, resource_id)
    _check_version(request, resource_type, resource_id, resource)
    if header_value(request, "if-match") is not None or header_value(request, "if-unmodified-since") is not None:
        # RFC 9110 section 13.2.2: evaluated on any method, before If-None-Match (a 412, not 304).
        check(replace(preconditions(request.headers), if_none_match=None), resource)
    record_patients(request.scope, (patient_of(resource),))  # whose record is served (its subject)
    # As a search reads them: `_elements` repeated adds names; `_summary` is given once.
    elements = tuple(e for value in params.getlist("_elements") for e in value.split(",") if e)
    if len(params.getlist("_summary")) > 1:
        raise InvalidRequest("Parameter _summary given more than once", expression="_summary")
    summary = query_value(request, "_summary") or None
    if summary not in (None, "true", "text", "data", "false"):
        raise InvalidRequest("_summary on a read must be true, text, data or false", expression="_summary")
    # Under lenient handling, what `_elements` names that cannot be applied as asked is not said:
    # a read's answer is the resource alone.
    cut = shaping(resource_type, summary, elements, strict=bool(elements) and prefer(request).strict)
    headers = version_headers(resource)
    if is_stale(resource):  # the vendor could not be reached: a cached copy (gateway.cache)
        headers["Warning"] = '110 fhir-gateway "Response is Stale"'
    if not_modified(request, headers):
        return Response(status_code=304, headers=headers)
    if resource_type == "Binary":
        headers["Cache-Control"] = "no-store"  # a document, base64: no copies in shared caches
    return respond(fmt, shape(resource, cut), headers)


def not_modified(request: Request, headers: dict[str, str]) -> bool:
    """The client's copy is current (RFC 9110 §13.1.2 If-None-Match, weak comparison; else
    §13.1.3 If-Modified-Since, to the second): answer 304 without the body."""
    if_none_match = field_value(request.headers, "if-none-match")
    etag = headers.get("ETag")
    if if_none_match is not None:
        if etag is None:
            return False
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or etag.removeprefix("W/") in tags
    since = field_value(request.headers, "if-modified-since")
    if since is None:
        return False
    # Any of the three HTTP-date forms; an unreadable one is ignored (RFC 9110 section 13.1.3).
    client, modified = one_http_date(since), http_date(headers.get("Last-Modified"))
    return client is not None and modified is not None and modified <= client


def _check_version(request: Request, resource_type: str, resource_id: str, resource: dict[str, object]) -> None:
    version = request.path_params.get("vid")
    meta = resource.get("meta")
    current = meta.get("versionId") if isinstance(meta, dict) else None
    if version is not None and current != version:
        # Vendors keep no history: only the current version can be read by version id.
        raise NotFound(f"{resource_type}/{resource_id} has no version '{version}' here (only the current one)")


async def _binary_content(request: Request) -> Response:
    tenant = tenant_of(request)
    resource_id = request.path_params["id"]
    provider = provider_for(tenant, "Binary", Interaction.READ)
    check_id(resource_id)
    check_version_id(request)
    await check_document_access(request, tenant, resource_id)
    format_param, accept = request.query_params.get("_format"), request.headers.get("accept")
    if ids.is_generated(resource_id):
        check_document_format(format_param, accept)  # before it is rendered
        if request.path_params.get("vid") is not None:
            raise NotFound(f"Binary/{resource_id} is rendered on demand and has no versions to read")
        # Rendered and served as it is: no base64 round trip, no second parse for the HTML page.
        rendered = await tenant.documents.render(resource_id)
        return document_response(request, None, resource_id, rendered)
    binary = await provider.read(resource_id)
    await check_vendor_binary(request, tenant, binary)
    _check_version(request, "Binary", resource_id, binary)
    record_patients(request.scope, (patient_of(binary),))  # its securityContext's patient, if one
    content_type = str(binary.get("contentType") or "application/octet-stream")
    cda = is_cda(content_type)
    check_document_format(format_param, accept, CDA_FORMATS if cda else file_formats(content_type))
    content = base64.b64decode(binary.get("data") or "")
    if cda:
        return document_response(request, None, resource_id, content)  # XML, or its HTML page
    headers = {**DOCUMENT_HEADERS, **version_headers(binary)}
    return Response(content, media_type=content_type, headers=headers)
