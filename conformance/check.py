"""The one entry point: every layer, applied to a resource and, in a Bundle, to each entry.

The layers are pure functions of the resource, and the profile layer (medplum, in a Node
process) takes milliseconds a resource: a test suite reading the same resources again (the
same patient through several vendor readings, page after page) would check each of them many
times. So the problems of a resource are remembered by the SHA-256 of its canonical JSON, with
its path left as a placeholder; and a Bundle goes to medplum with each entry's resource reduced
to what the Bundle's own rules read (its type, id and meta: bdl-7 compares fullUrls and
versionIds, bdl-11/12 the first entry's type), since every entry is checked on its own.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from conformance.data import US_CORE_BASE, us_core_profile
from conformance.models import parse_problems
from conformance.profiles import validator
from conformance.schema import is_resource_type, schema_problems
from conformance.snapshot import snapshot_problems

JSON = dict[str, Any]

_ENTRY_RESOURCE = re.compile(r"^Bundle\.entry\[\d+\]\.resource(?:[.\[]|$)")


_ROOT = "\x00root\x00"  # where a remembered problem names its resource's path
_checked: dict[bytes, tuple[str, ...]] = {}  # canonical JSON's SHA-256 -> problems at `_ROOT`


def check_resource(resource: JSON, path: str | None = None) -> list[str]:
    """All problems found in ``resource``; ``[]`` means conformant.

    Layers: the R4 JSON schema, a ``fhir.resources`` (R4B) parse, and the US Core 6.1.0
    profiles named in ``meta.profile`` (or the base R4 definition when none is named).
    A Bundle's entry resources are each checked the same way. Each problem reads
    ``<layer> <JSON path>: <what is wrong>``.
    """
    if not isinstance(resource, dict):
        return [f"{path or 'resource'}: not a JSON object"]
    root = path or str(resource.get("resourceType"))
    canonical = json.dumps(resource, sort_keys=True, separators=(",", ":"))
    if "\\u0000root" in canonical:  # the placeholder in the resource itself: checked as it is
        return _problems(resource, root)
    key = hashlib.sha256(canonical.encode()).digest()
    if key not in _checked:
        _checked[key] = tuple(_problems(resource, _ROOT))
    return [problem.replace(_ROOT, root) for problem in _checked[key]]


def _problems(resource: JSON, root: str) -> list[str]:
    resource_type = resource.get("resourceType")
    if not is_resource_type(resource_type):
        return [f"{root}: unknown resourceType {resource_type!r}"]
    problems = schema_problems(resource, root)
    problems += parse_problems(resource, root)
    problems += _profile_problems(resource, root)
    if resource_type == "Bundle":
        for index, entry in enumerate(resource.get("entry") or []):
            if isinstance(entry, dict) and "resource" in entry:
                problems += check_resource(entry["resource"], f"{root}.entry[{index}].resource")
    return problems


def assert_conformant(resource: JSON) -> None:
    """Raise AssertionError listing every problem ``check_resource`` finds."""
    problems = check_resource(resource)
    if problems:
        raise AssertionError(_report(resource, problems))


def check_capability_statement(cs: JSON) -> list[str]:
    """``check_resource`` plus what the gateway promises of its CapabilityStatement."""
    if not isinstance(cs, dict) or cs.get("resourceType") != "CapabilityStatement":
        kind = cs.get("resourceType") if isinstance(cs, dict) else type(cs).__name__
        return [f"capability: expected a CapabilityStatement, got {kind!r}"]
    problems = check_resource(cs)
    if cs.get("fhirVersion") != "4.0.1":
        problems.append(f"capability CapabilityStatement.fhirVersion: {cs.get('fhirVersion')!r}, not '4.0.1'")
    formats = cs.get("format")
    if not isinstance(formats, list) or not any("json" in str(f) for f in formats):
        problems.append(f"capability CapabilityStatement.format: {formats!r} has no json format")
    if cs.get("kind") != "instance":
        problems.append(f"capability CapabilityStatement.kind: {cs.get('kind')!r}, not 'instance'")
    for r, rest in enumerate(_objects(cs.get("rest"))):
        for i, declared in enumerate(_objects(rest.get("resource"))):
            for s, param in enumerate(_objects(declared.get("searchParam"))):
                for key in ("name", "type"):
                    if not param.get(key):
                        where = f"CapabilityStatement.rest[{r}].resource[{i}].searchParam[{s}]"
                        problems.append(f"capability {where}: no {key} ({declared.get('type')})")
    return problems


def _profile_problems(resource: JSON, root: str) -> list[str]:
    resource_type = str(resource.get("resourceType"))
    meta = resource.get("meta")
    declared = meta.get("profile") if isinstance(meta, dict) else None
    us_core = [
        url
        for url in (declared if isinstance(declared, list) else [])
        if isinstance(url, str) and url.startswith(US_CORE_BASE)
    ]
    if not us_core:
        if resource_type == "Bundle":  # entries are checked on their own, with their profiles
            issues = validator().issues(_with_entries_reduced(resource))
            issues = [i for i in issues if not _ENTRY_RESOURCE.match(i["expression"])]
        else:
            issues = validator().issues(resource)
        return _medplum_problems(issues, "R4", resource_type, root)
    problems: list[str] = []
    for url in us_core:
        label = f"profile {url.rsplit('/', 1)[-1]}"
        sd = us_core_profile(url)
        if sd is not None and sd.get("type") != resource_type:
            problems.append(f"{label} {root}: profile is for {sd.get('type')}, not {resource_type}")
            continue
        unusable = validator().unusable(url)
        if unusable is not None:
            problems.append(f"{label} {root}: cannot check {url}: {unusable}")
            continue
        problems += _medplum_problems(validator().issues(resource, url), label, resource_type, root)
        problems += snapshot_problems(resource, url, root)
    return problems


def _with_entries_reduced(bundle: JSON) -> JSON:
    """`bundle` with each entry's resource reduced to the elements Bundle's rules read."""
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        return bundle
    reduced = []
    for entry in entries:
        # One without a resourceType stays whole: reduced to `{}`, it would read as no resource (bdl-5)
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict) and "resourceType" in entry["resource"]:
            kept = {k: v for k, v in entry["resource"].items() if k in ("resourceType", "id", "meta")}
            entry = {**entry, "resource": kept}
        reduced.append(entry)
    return {**bundle, "entry": reduced}


def _medplum_problems(issues: list[JSON], label: str, resource_type: str, root: str) -> list[str]:
    problems = []
    for issue in issues:
        if issue["severity"] not in ("error", "fatal"):
            continue  # medplum's warnings misread absolute references and the like
        expression = str(issue["expression"])
        if expression.startswith(resource_type):
            expression = root + expression[len(resource_type) :]
        problems.append(f"{label} {expression or root}: {issue['message']}")
    return problems


def _objects(value: Any) -> list[JSON]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _report(resource: JSON, problems: list[str]) -> str:
    name = f"{resource.get('resourceType')}/{resource.get('id', '<no id>')}"
    listed = "\n".join(f"  - {problem}" for problem in problems)
    return f"{name} is not conformant ({len(problems)} problems):\n{listed}"
