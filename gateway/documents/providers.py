"""The CCDs the gateway generates for a tenant, served by ordinary providers.

Keeping generated documents on the ordinary FHIR paths means reads, search (with the
gateway's filtering, paging and signed tokens), `_id`, `$everything` and the
CapabilityStatement see one `DocumentReference` type and one `Binary` type per tenant. Ids
starting `ccd-` are generated (`gateway.documents.ids`); every other id is the vendor's, and is
passed to the vendor's own provider of that type, if it has one. A `DocumentReference` search
lists the generated documents first (the patient's CCD, then one per encounter), then the
vendor's own documents.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from gateway.ccd.sections.encounters import HAPPENED, UNDER_WAY
from gateway.contract import (
    ALL_PREFIXES,
    Pushdown,
    Resource,
    ResourceDeclaration,
    ResourceProvider,
    SearchParamSupport,
    SearchRequest,
    VendorPage,
    read_from,
)
from gateway.documents import ids
from gateway.documents.generate import (
    DocumentSource,
    Rendered,
    now,
    render_encounter_ccd,
    render_patient_ccd,
    subject_patient,
)
from gateway.documents.references import binary, document_reference
from gateway.errors import Gone, NotFound
from gateway.record import everything_types, gather_everything
from gateway.search.model import ReferenceValue, SearchQuery
from gateway.search.planning import read_each, single_patient, values

PROFILE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-documentreference"
_PARAMS = (
    SearchParamSupport("patient", Pushdown.NARROWS),
    SearchParamSupport("subject", Pushdown.NARROWS),
    SearchParamSupport("encounter", Pushdown.NARROWS),
    SearchParamSupport("type", Pushdown.GATEWAY, documentation="LOINC 34133-9 (CCD)"),
    SearchParamSupport("date", Pushdown.GATEWAY, prefixes=ALL_PREFIXES),
    SearchParamSupport("period", Pushdown.GATEWAY, prefixes=ALL_PREFIXES),
    SearchParamSupport("category", Pushdown.GATEWAY, documentation="US Core: clinical-note"),
    SearchParamSupport("status", Pushdown.GATEWAY),
)
_GENERATED_DOCS = (
    "The gateway renders a C-CDA R2.1 CCD of each patient (DocumentReference/ccd-p.<patient>) and of each "
    "encounter (ccd-e.<encounter>) from the FHIR it serves, on demand; DocumentReference/$docref gives one for a "
    "period. Binary/<id> is the document: application/xml, or HTML with Accept: text/html or _format=html."
)
_ENCOUNTER_CCD = "Encounter/<id>/$ccd[?section=allergies,medications,...] renders the encounter's CCD."


class Documents:
    """A tenant's generated documents beside its vendor's providers."""

    def __init__(self, source: DocumentSource) -> None:
        self.source = source

    @property
    def _vendor(self) -> Mapping[str, ResourceProvider]:
        return self.source.adapter.providers

    def providers(self, vendor: Mapping[str, ResourceProvider]) -> dict[str, ResourceProvider]:
        """The vendor's providers with DocumentReference and Binary serving generated documents too."""
        merged = dict(vendor)
        vendor_docs = vendor.get("DocumentReference")
        merged["DocumentReference"] = ResourceProvider(
            # Not `versioned`, whatever the vendor's documents are: generated ones carry no
            # meta.versionId, so no vread can be promised for the type.
            ResourceDeclaration(
                "DocumentReference",
                _PARAMS,
                required=(frozenset({"patient", "subject", "encounter"}),),
                profiles=(PROFILE,),
                documentation=_joined(_GENERATED_DOCS, vendor_docs.declaration.documentation if vendor_docs else None),
            ),
            read=self.read_reference,
            search=self.search_references,
            max_page_size=vendor_docs.max_page_size if vendor_docs else 100,
        )
        vendor_binary = vendor.get("Binary")
        merged["Binary"] = ResourceProvider(
            ResourceDeclaration(
                "Binary",
                documentation=_joined(
                    "Binary/ccd-...: a generated CCD.",
                    vendor_binary.declaration.documentation if vendor_binary else None,
                ),
            ),
            read=self.read_binary,
        )
        encounter = vendor.get("Encounter")
        if encounter is not None:
            documented = _joined(encounter.declaration.documentation, _ENCOUNTER_CCD)
            merged["Encounter"] = dataclasses.replace(
                encounter, declaration=dataclasses.replace(encounter.declaration, documentation=documented)
            )
        return merged

    # --- reads ---------------------------------------------------------------------------

    async def read_reference(self, resource_id: str) -> Resource:
        if not ids.is_generated(resource_id):
            return await read_from(self._vendor, "DocumentReference", resource_id)
        document = ids.parse(resource_id)
        if document is None:
            raise NotFound(f"DocumentReference/{resource_id} is not known")
        try:
            if document.encounter is not None:
                encounter = await read_from(self._vendor, "Encounter", document.encounter)
                if encounter.get("status") not in HAPPENED:
                    raise NotFound("no document for a visit that has not taken place")
                return self._encounter_reference(encounter)
            assert document.patient is not None
            await read_from(self._vendor, "Patient", document.patient)
        except (NotFound, Gone):
            raise NotFound(f"DocumentReference/{resource_id} is not known") from None
        return self.patient_reference(document.patient, document.start, document.end)

    async def read_binary(self, resource_id: str) -> Resource:
        if not ids.is_generated(resource_id):
            return await read_from(self._vendor, "Binary", resource_id)
        return binary(resource_id, (await self.render(resource_id)).xml)

    async def render(self, document_id: str) -> Rendered:
        """The generated document of this id (`ccd-…`), rendered now."""
        document = ids.parse(document_id)
        if document is None:
            raise NotFound(f"Binary/{document_id} is not known")
        try:
            if document.encounter is not None:
                return await render_encounter_ccd(self.source, document.encounter)
            assert document.patient is not None
            return await render_patient_ccd(self.source, document.patient, document.start, document.end)
        except (NotFound, Gone):
            raise NotFound(f"Binary/{document_id} is not known") from None

    def patient_reference(self, patient_id: str, start: str | None, end: str | None) -> Resource:
        return document_reference(
            ids.patient_document(patient_id, start, end),
            patient_id,
            self._created(),
            title="Continuity of Care Document",
            custodian=self.source.custodian.name,
            period=(start, end),
        )

    def _encounter_reference(self, encounter: Resource) -> Resource:
        period = encounter.get("period") or {}
        return document_reference(
            ids.encounter_document(str(encounter["id"])),
            subject_patient(encounter),
            self._created(),
            title="Continuity of Care Document: encounter",
            custodian=self.source.custodian.name,
            encounter_id=str(encounter["id"]),
            period=(period.get("start"), period.get("end")),
            final=encounter.get("status") not in UNDER_WAY,
        )

    def _created(self) -> str:
        return now(self.source).isoformat()

    # --- search --------------------------------------------------------------------------

    async def search_references(self, request: SearchRequest) -> VendorPage:
        """The generated documents on the first page; the vendor's own ones on the pages after."""
        vendor_query = self._vendor_part(request.query)
        if request.position is None:
            generated, warnings = await self._generated(request.query)
            return VendorPage(generated, {"vendor": None} if vendor_query is not None else None, warnings=warnings)
        vendor_docs = self._vendor.get("DocumentReference")
        assert vendor_query is not None and vendor_docs is not None and vendor_docs.search is not None
        page = await vendor_docs.search(SearchRequest(vendor_query, request.position["vendor"], request.page_size))
        following = {"vendor": page.next} if page.next is not None else None
        return VendorPage(page.resources, following, None, page.warnings)

    async def _generated(self, query: SearchQuery) -> tuple[list[Resource], tuple[str, ...]]:
        patient_id = single_patient(query)
        if patient_id:
            return await self.of_patient(patient_id)
        encounters = [v.id for v in values(query, "encounter") if isinstance(v, ReferenceValue)]
        return await read_each(lambda i: self.read_reference(ids.encounter_document(i)), encounters), ()

    async def of_patient(self, patient_id: str) -> tuple[list[Resource], tuple[str, ...]]:
        """The patient's CCD and one per encounter that took place ([] for no such patient), and
        what the vendor said it could not list (those encounters' documents may be missing)."""
        try:
            await read_from(self._vendor, "Patient", patient_id)
        except (NotFound, Gone):
            return [], ()
        found = [self.patient_reference(patient_id, None, None)]
        encounter_types = [p for p in everything_types(self._vendor, None) if p.type == "Encounter"]
        if not encounter_types:
            return found, ()
        encounters, missing = await gather_everything(self.source.zone, patient_id, encounter_types, None, None)
        found += [self._encounter_reference(e) for e in encounters if e.get("status") in HAPPENED]
        return found, tuple(missing)

    def _vendor_part(self, query: SearchQuery) -> SearchQuery | None:
        """The query for the vendor's own documents (its parameters only), or None when the
        vendor has none or the query cannot be put to it."""
        provider = self._vendor.get("DocumentReference")
        if provider is None or provider.search is None:
            return None
        support = provider.support
        declared = {p.name for p in support.search_params}
        params = tuple(p for p in query.params if p.name in declared)
        names = {p.name for p in params}
        if any(not (group & names) for group in support.required):
            return None
        return dataclasses.replace(query, params=params)


def _joined(*parts: str | None) -> str:
    return " ".join(p for p in parts if p)
