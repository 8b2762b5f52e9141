"""A list's items as JSON:API resource objects (``Shapes.jsonapi_resources``).

JSON:API (jsonapi.org, "Resource Objects") writes each record as ``{"type", "id", "attributes":
{...}}``: the record's identifier is the object's ``id`` (a string), the other fields its
``attributes``. A Rails team's jsonapi-serializer (``set_id :patient_id``, ``attributes
:chart_number, ...``), Laravel JSON:API and NestJS's JSON:API modules serve lists so. The docs'
models are plain objects (``"patientId": 0, ...``), which such a team reads as the attributes.
"""

from __future__ import annotations

from typing import Any

import orjson

from sandboxes.nextech.readings import Shapes

__all__ = ["resource_object"]


def resource_object(item: bytes, rel: str, shapes: Shapes) -> bytes:
    """One list item (as the variant wrote it) as a JSON:API resource object: a patient
    (``rel="patientList"``) identified by its ``patientId`` (no longer among its attributes), an
    encounter by its summary's ``encounterId`` (the summary kept whole, as an attribute), a CCD
    category by its name (a name alone becoming ``{"name": ...}``)."""
    doc: Any = orjson.loads(item)
    if rel == "patientList":
        kind, ident = "patients", doc.pop(shapes.key("patientId"), None)
    elif rel == "encounterList":
        summary = doc.get(shapes.key("summary")) or {}
        kind, ident = "encounters", summary.get(shapes.key("encounterId"))
    else:
        kind = "categories"
        if not isinstance(doc, dict):
            doc = {"name": doc}
        ident = next((value for value in doc.values() if isinstance(value, (str, int))), None)
    return orjson.dumps({"type": kind, "id": str(ident), "attributes": doc})
