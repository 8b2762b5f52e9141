"""Conformance checks: every resource the gateway emits, against the real standards.

``check_resource`` applies, to a resource and to each entry of a Bundle:

1. the official FHIR R4 JSON schema, one resource type at a time (``conformance.schema``);
2. a parse with the ``fhir.resources`` R4B models (``conformance.models``);
3. the US Core 6.1.0 profiles named in ``meta.profile``, from the official package's
   snapshots: the ``@medplum/core`` validator running offline in a Node process
   (``conformance.profiles``: cardinality, fixed/pattern values, slice counts, FHIRPath
   invariants, unknown elements, primitive formats), plus a Python snapshot walk for what
   medplum skips (``conformance.snapshot``: slice contents, required bindings that expand
   locally, US Core extension profiles). A resource naming no US Core profile is validated
   by medplum against its base R4 definition.

Not checked: reference targets (resolution and target profiles), bindings to value sets
defined by LOINC/SNOMED filters or external code systems, extensible/preferred bindings,
``profile``/``exists`` slice discriminators, the invariants medplum skips (ele-1, dom-3,
org-1, sdf-19), must-support (a promise about data the vendor has, not a rule on a
resource) and profiles outside US Core named in ``meta.profile`` (ignored).

Data comes from ``conformance_data_dir()`` (``conformance.data``), never from this repo. The Node
validator's packages are pinned in ``conformance/node/package-lock.json`` and installed on
first use (``npm ci --prefix conformance/node --no-audit --no-fund``).
"""

from conformance.check import assert_conformant, check_capability_statement, check_resource
from conformance.data import conformance_data_dir, require_conformance_data

__all__ = [
    "assert_conformant",
    "check_capability_statement",
    "check_resource",
    "conformance_data_dir",
    "require_conformance_data",
]
