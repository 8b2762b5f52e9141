"""Vendor drift: response fields and shapes a vendor's reader did not expect, logged and counted.

A vendor's implementation may add fields, or send a record its reader cannot make sense of,
without notice. The reader copes (unknown fields are kept, not fatal; an unreadable record is
reported and skipped); the operator still needs to learn that the vendor moved. Each tenant's
adapter gets one `Drift`; readers declare their models on `VendorModel`, which keeps unknown
fields (`model_extra`), and hand what they read to `Drift.fields`, and what they could not read
to `Drift.unreadable`.

What is recorded is the shape name and the field *path* (names only, list positions folded to
`[]`), never a value: vendor answers carry PHI. A key that does not look like a field name (a
vendor keying a map by something else) is recorded as `<key>`. The first sighting of each path
is logged at WARNING; every sighting is counted.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

_LOG = logging.getLogger("fhir_gateway.drift")
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{0,63}")


class VendorModel(BaseModel):
    """Base of a vendor reader's models: unknown fields are kept (`model_extra`) for `Drift`,
    fields may be filled by name or alias."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


@dataclass(frozen=True, order=True)
class DriftKey:
    shape: str  # the reader's name for what it read, e.g. "patient"
    kind: str  # "unexpected field" | "unreadable"
    path: str  # field path, e.g. "bio.insurance" or "appointments[].location"


class Drift:
    """One tenant's drift record (thread-safe; the counts live as long as the process)."""

    def __init__(self, tenant: str = "", vendor: str = "") -> None:
        self.tenant = tenant
        self.vendor = vendor
        self._counts: Counter[DriftKey] = Counter()
        self._lock = threading.Lock()

    def fields(self, shape: str, read: BaseModel | Iterable[BaseModel] | None) -> None:
        """Record the fields of `read` (a model, or several) that its models do not declare."""
        if read is None:
            return
        models = [read] if isinstance(read, BaseModel) else list(read)
        for model in models:
            for path in unexpected_paths(model):
                self._note(DriftKey(shape, "unexpected field", path))

    def unreadable(self, shape: str, error: ValidationError | Sequence[str]) -> None:
        """Record where a record of `shape` could not be read (the error's locations, or paths)."""
        paths = [_loc_path(e["loc"]) for e in error.errors()] if isinstance(error, ValidationError) else list(error)
        for path in paths or ["(record)"]:
            self._note(DriftKey(shape, "unreadable", path))

    def counts(self) -> Mapping[DriftKey, int]:
        with self._lock:
            return dict(self._counts)

    def _note(self, key: DriftKey) -> None:
        with self._lock:
            first = key not in self._counts
            self._counts[key] += 1
        if first:
            _LOG.warning(
                "vendor drift: tenant=%s vendor=%s shape=%s %s=%s (first sighting; further ones are counted)",
                self.tenant,
                self.vendor,
                key.shape,
                key.kind.replace(" ", "_"),
                key.path,
            )


def unexpected_paths(model: BaseModel, prefix: str = "") -> Iterator[str]:
    """Paths of the fields in `model` (and the models inside it) that no model declares."""
    for key in model.model_extra or {}:
        yield _join(prefix, _safe(key))
    for name in type(model).model_fields:
        yield from _inside(getattr(model, name), _join(prefix, name))


def _inside(value: Any, prefix: str) -> Iterator[str]:
    if isinstance(value, BaseModel):
        yield from unexpected_paths(value, prefix)
    elif isinstance(value, (list, tuple)):
        seen: set[str] = set()
        for item in value:
            for path in _inside(item, prefix + "[]"):
                if path not in seen:  # one sighting per answer, however long the list
                    seen.add(path)
                    yield path
    elif isinstance(value, dict):
        for item in value.values():
            yield from _inside(item, prefix + ".<key>")


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _safe(key: object) -> str:
    text = str(key)
    return text if _FIELD_NAME.fullmatch(text) else "<key>"


def _loc_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path = path + "[]" if isinstance(part, int) else _join(path, _safe(part))
    return path or "(record)"
