"""Who may read a document (a Binary, a CCD): a caller with an unconditional Binary scope, or
one that may read the DocumentReference that describes it.

A CCD carries a patient's allergies, medications, problems and visits: reading one is reading
a clinical document, so it takes `DocumentReference` read (US Core reaches Binary through
DocumentReference.content.attachment.url). A caller confined to its launch patient meets
another patient's document as a missing one; a patient CCD's id names its patient, so that
is settled before any vendor call.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from gateway.auth.decision import grants
from gateway.auth.enforce import Access, access, not_found, read_within
from gateway.auth.scopes import Permission
from gateway.documents import ids
from gateway.errors import Forbidden, NotFound
from gateway.rest.context import caller
from gateway.tenants import Tenant


def document_access(request: Request, tenant: Tenant) -> Access | None:
    """None when the caller may read every document; else its DocumentReference read access."""
    who = caller(request)
    if any(not g.params for g in grants(who, "Binary", Permission.READ)):
        return None
    references = tenant.providers.get("DocumentReference")
    if references is None:
        raise Forbidden("Reading documents needs a DocumentReference read scope (or an unconditional Binary one)")
    allowed = access(who, references.support, Permission.READ, tenant.context.timezone)
    return None if allowed.queries is None else allowed


async def check_document_access(request: Request, tenant: Tenant, binary_id: str) -> None:
    """For a generated document: 404 unless the caller may read its DocumentReference. (A
    vendor's Binary is checked once read: `check_vendor_binary`.)"""
    allowed = document_access(request, tenant)
    if allowed is None or not ids.is_generated(binary_id):
        return
    document = ids.parse(binary_id)
    if document is None:
        return  # the read answers 404 for it
    if document.patient is not None and allowed.patient not in (None, document.patient):
        raise not_found("Binary", binary_id)
    try:
        reference = await tenant.documents.read_reference(binary_id)
    except NotFound:
        raise not_found("Binary", binary_id) from None
    if not allowed.admits(reference):
        raise not_found("Binary", binary_id)


async def check_vendor_binary(request: Request, tenant: Tenant, binary: dict[str, Any]) -> None:
    """A vendor's Binary names what guards it in `securityContext` (R4 Binary: "use as proxy
    when enforcing access control"): a DocumentReference the caller must be able to read, or
    its patient. Without one, a confined caller cannot be shown it."""
    allowed = document_access(request, tenant)
    if allowed is None:
        return
    binary_id = str(binary.get("id"))
    reference = str((binary.get("securityContext") or {}).get("reference") or "")
    kind, _, target = reference.rpartition("/")
    kind = kind.rpartition("/")[2]
    if kind == "DocumentReference" and target:
        references = tenant.providers["DocumentReference"]
        try:
            await read_within(allowed, references.read, target)
        except NotFound:
            raise not_found("Binary", binary_id) from None
        return
    # Its patient alone settles it only when the caller's one grant asks nothing but that patient
    # (its compartment, or a `patient` constraint: each one naming it).
    conditions = allowed.grants[0].params if len(allowed.grants) == 1 else ()
    if kind == "Patient" and target and conditions and all(c in _naming(target) for c in conditions):
        return
    raise not_found("Binary", binary_id)


def _naming(patient: str) -> tuple[tuple[str, str], ...]:
    return (("patient", patient), ("patient", f"Patient/{patient}"))
