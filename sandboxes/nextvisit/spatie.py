"""Spatie query builder's allow-lists for ``filter[...]`` and ``include``.

An unknown filter is 400 ``Requested filter(s) `x` are not allowed. Allowed filter(s) are
`first_name, last_name, date_of_birth, trashed`.``; an unknown include the same with
``include(s)`` and the allowed includes. Filters are checked before includes. The
``*Count``/``*Exists`` include variants Spatie would also allow are not offered.
"""

from __future__ import annotations

from sandboxes.toolkit.aliases import JsonObject
from sandboxes.toolkit.errors import ApiError

__all__ = ["FILTERS", "INCLUDES", "check_filters", "includes"]

FILTERS = ("first_name", "last_name", "date_of_birth", "trashed")
INCLUDES = ("user", "team", "encounters", "demographics")


def _not_allowed(kind: str, unknown: list[str], allowed: tuple[str, ...]) -> ApiError:
    return ApiError(
        400,
        {"message": f"Requested {kind}(s) `{', '.join(unknown)}` are not allowed. "
                    f"Allowed {kind}(s) are `{', '.join(allowed)}`."},
    )  # fmt: skip


def check_filters(query: JsonObject) -> None:
    """400 when ``filter`` names a filter that is not allowed."""
    filters = query.get("filter")
    if isinstance(filters, dict):
        unknown = [name for name in filters if name not in FILTERS]
        if unknown:
            raise _not_allowed("filter", unknown, FILTERS)


def includes(query: JsonObject, allowed: tuple[str, ...] = INCLUDES) -> set[str]:
    """Spatie's ``include`` (comma list or array), checked against the `allowed` includes."""
    raw = query.get("include")
    if isinstance(raw, dict):
        names = [str(name) for name in raw.values() if name]
    elif isinstance(raw, str):
        names = [name for name in raw.split(",") if name]
    else:
        names = []
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise _not_allowed("include", unknown, allowed)
    return set(names)
