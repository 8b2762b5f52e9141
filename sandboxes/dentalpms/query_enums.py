"""A reading of the query parameters the reference gives a closed set of values.

The lists' ``status`` ("e.g. 'active', 'inactive'"; "One of: active, inactive, prospective,
deceased, archived" on the record), the diseases' ``problem_status`` ("One of: active, resolved,
inactive"), ``sort_by`` and ``sort_dir`` are documented in lower case. A service binds them to
its enums, and ``create_app`` takes one keyword for how (the default is the documented
simulator's reading):

- ``query_enums``: ``"documented"`` (the values as the reference spells them: ``active``,
  ``last_name``, ``asc``) or ``"names"`` (each value is an enum constant's name, ``ACTIVE``,
  ``LAST_NAME``, ``ASC``, as Spring binds a ``@RequestParam`` of an enum type:
  ``StringToEnumConverterFactory`` calls ``Enum.valueOf``, which is case-sensitive; the
  documented spelling is then a 400, Spring's ``MethodArgumentTypeMismatchException``. It is
  the spelling such a service's answers are written in too, ``enums="upper"``, as Jackson writes
  an enum by its name).
"""

from __future__ import annotations

from typing import Literal

__all__ = ["ENUM_VALUES", "QueryEnums", "read_named", "refusal"]

QueryEnums = Literal["documented", "names"]

_STATUSES = ("active", "inactive", "prospective", "deceased", "archived")
_SORTS = ("chart_number", "created_at", "date_of_birth", "first_name", "last_name", "status", "updated_at")
# The enum-valued query parameters of the lists the simulator serves, with their documented values.
ENUM_VALUES: dict[str, tuple[str, ...]] = {
    "status": _STATUSES,
    "problem_status": ("active", "resolved", "inactive"),
    "sort_by": _SORTS,
    "sort_dir": ("asc", "desc"),
}


def read_named(name: str, raw: str) -> str | None:
    """The documented spelling of `raw`, the value of the enum query parameter `name` written as
    a constant's name (``LAST_NAME``); None when it names no constant (``last_name`` included)."""
    documented = raw.lower()
    return documented if raw == raw.upper() and documented in ENUM_VALUES[name] else None


def refusal(name: str) -> str:
    """Spring's message for a query value its converter could not bind (no value echoed)."""
    return (
        f"Method parameter '{name}': Failed to convert value of type 'java.lang.String' "
        f"to required type '{name.title().replace('_', '')}'"
    )
