"""A tenant's adapter plus the CCDs the gateway generates for it.

Wrapping the vendor adapter keeps generated documents on the ordinary FHIR paths: reads,
search (with the gateway's filtering, paging and signed tokens), `$everything` and the
CapabilityStatement see one `DocumentReference` type and one `Binary` type per tenant.
Ids starting `ccd-` are generated (`gateway.documents.ids`); every other id is the vendor's.
A `DocumentReference` search lists the generated documents first (the patient's CCD, then
one per encounter), then the vendor's own documents, if it has any.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from gateway.ccd.sections.encounters import HAPPENED
from gateway.documents import ids
from gateway.documents.generate import (
    DocumentSource,
    now,
    render_encounter_ccd,
    render_patient_ccd,
    subject_patient,
)
from gateway.documents.references import binary, document_reference
from gateway.errors import Gone, NotFound, UpstreamError
from gateway.record import everything_types, gather_everything
from gateway.search.model import ReferenceValue, SearchQuery
from mappings.base import (
    ALL_PREFIXES,
    Adapter,
    Interaction,
    Pushdown,
    ResourceSupport,
    SearchParamSupport,
    SearchRequest,
    VendorPage,
)
from mappings.query import ids as queried_ids
from mappings.query import read_each, single_patient, values

Resource = dict[str, Any]
PROFILE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-documentreference"
_PARAMS = (
    SearchParamSupport("_id", Pushdown.NARROWS),
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


class WithDocuments:
    def __init__(self, inner: Adapter, source: DocumentSource) -> None:
        self._inner = inner
        self._source = source

    def __getattr__(self, name: str) -> Any:
        # Writes (create/update/delete) and anything vendor-specific stay the vendor adapter's.
        return getattr(self._inner, name)

    @property
    def resources(self) -> Mapping[str, ResourceSupport]:
        merged = dict(self._inner.resources)
        vendor_docs = merged.get("DocumentReference")
        merged["DocumentReference"] = ResourceSupport(
            "DocumentReference",
            frozenset({Interaction.READ, Interaction.SEARCH}),
            _PARAMS,
            required=(frozenset({"_id", "patient", "subject", "encounter"}),),
            profiles=(PROFILE,),
            documentation=" ".join(d for d in (_GENERATED_DOCS, vendor_docs and vendor_docs.documentation) if d),
        )
        vendor_binary = merged.get("Binary")
        merged["Binary"] = ResourceSupport(
            "Binary",
            frozenset({Interaction.READ}),
            documentation=" ".join(
                d for d in ("Binary/ccd-...: a generated CCD.", vendor_binary and vendor_binary.documentation) if d
            ),
        )
        encounter = merged.get("Encounter")
        if encounter is not None and Interaction.READ in encounter.interactions:
            note = "Encounter/<id>/$ccd[?section=allergies,medications,...] renders the encounter's CCD."
            merged["Encounter"] = dataclasses.replace(
                encounter, documentation=" ".join(d for d in (encounter.documentation, note) if d)
            )
        return merged

    @property
    def max_page_size(self) -> int:
        return self._inner.max_page_size

    @property
    def vendor(self) -> Adapter:
        """The vendor's adapter alone (no generated documents)."""
        return self._inner

    @property
    def source(self) -> DocumentSource:
        return self._source

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def read(self, resource_type: str, resource_id: str) -> Resource:
        if resource_type in ("DocumentReference", "Binary") and ids.is_generated(resource_id):
            document = ids.parse(resource_id)
            if document is None:
                raise NotFound(f"{resource_type}/{resource_id} is not known")
            if resource_type == "DocumentReference":
                return await self._reference(resource_id, document)
            return await self._binary(resource_id, document)
        return await self._inner.read(resource_type, resource_id)

    async def search(self, resource_type: str, request: SearchRequest) -> VendorPage:
        if resource_type != "DocumentReference":
            return await self._inner.search(resource_type, request)
        position = request.position
        if position is None:
            generated = await self._generated(request.query)
            more = {"vendor": None} if self._vendor_part(request.query) is not None else None
            return VendorPage(generated, more)
        vendor_query = self._vendor_part(request.query)
        assert vendor_query is not None
        page = await self._inner.search(
            "DocumentReference", SearchRequest(vendor_query, position["vendor"], request.page_size)
        )
        following = {"vendor": page.next} if page.next is not None else None
        return VendorPage(page.resources, following, None, page.warnings)

    # --- generated documents -------------------------------------------------------------

    async def _reference(self, resource_id: str, document: ids.DocumentId) -> Resource:
        try:
            if document.encounter is not None:
                encounter = await self._inner.read("Encounter", document.encounter)
                if encounter.get("status") not in HAPPENED:
                    raise NotFound("no document for a visit that has not taken place")
                return self._encounter_reference(encounter)
            assert document.patient is not None
            await self._inner.read("Patient", document.patient)
        except (NotFound, Gone):
            raise NotFound(f"DocumentReference/{resource_id} is not known") from None
        return self.patient_reference(document.patient, document.start, document.end)

    async def _binary(self, resource_id: str, document: ids.DocumentId) -> Resource:
        try:
            if document.encounter is not None:
                rendered = await render_encounter_ccd(self._source, document.encounter)
            else:
                assert document.patient is not None
                rendered = await render_patient_ccd(self._source, document.patient, document.start, document.end)
        except (NotFound, Gone):
            raise NotFound(f"Binary/{resource_id} is not known") from None
        return binary(resource_id, rendered.xml)

    def patient_reference(self, patient_id: str, start: str | None, end: str | None) -> Resource:
        return document_reference(
            ids.patient_document(patient_id, start, end),
            patient_id,
            self._created(),
            title="Continuity of Care Document",
            custodian=self._source.custodian.name,
            period=(start, end),
        )

    def _encounter_reference(self, encounter: Resource) -> Resource:
        period = encounter.get("period") or {}
        return document_reference(
            ids.encounter_document(str(encounter["id"])),
            subject_patient(encounter),
            self._created(),
            title="Continuity of Care Document: encounter",
            custodian=self._source.custodian.name,
            encounter_id=str(encounter["id"]),
            period=(period.get("start"), period.get("end")),
        )

    def _created(self) -> str:
        return now(self._source).isoformat()

    async def _generated(self, query: SearchQuery) -> list[Resource]:
        wanted = queried_ids(query)
        if wanted is not None:
            chosen = [i for i in wanted if ids.is_generated(i)]
            return await read_each(lambda i: self.read("DocumentReference", i), chosen)
        patient_id = single_patient(query)
        if patient_id:
            return await self._of_patient(patient_id)
        encounters = [v.id for v in values(query, "encounter") if isinstance(v, ReferenceValue)]
        return await read_each(lambda i: self.read("DocumentReference", ids.encounter_document(i)), encounters)

    async def _of_patient(self, patient_id: str) -> list[Resource]:
        try:
            patient = await self._inner.read("Patient", patient_id)
        except (NotFound, Gone):
            return []
        found = [self.patient_reference(patient_id, None, None)]
        encounter_types = [s for s in everything_types(self._inner, None) if s.type == "Encounter"]
        if encounter_types:
            encounters, missing = await gather_everything(
                self._inner, self._source.zone, patient, encounter_types, None, None
            )
            if missing:
                raise UpstreamError("; ".join(missing))
            found += [self._encounter_reference(e) for e in encounters[1:] if e.get("status") in HAPPENED]
        return found

    def _vendor_part(self, query: SearchQuery) -> SearchQuery | None:
        """The query for the vendor's own documents (its parameters only), or None when the
        vendor has none or the query cannot be put to it (only generated ids named)."""
        support = self._inner.resources.get("DocumentReference")
        if support is None or Interaction.SEARCH not in support.interactions:
            return None
        declared = {p.name for p in support.search_params}
        params = tuple(p for p in query.params if p.name in declared)
        wanted = queried_ids(query)
        if wanted is not None and all(ids.is_generated(i) for i in wanted):
            return None
        names = {p.name for p in params}
        if any(not (group & names) for group in support.required):
            return None
        return dataclasses.replace(query, params=params)
