"""Query and path parameters, validated the FastAPI way: every error collected, one 422.

The API reference gives defaults only; the sandbox bounds them: ``page`` >= 1,
``page_size``/``first`` in 1..200 (or 1..``page_size_max``, a switch: a service declaring
``Query(50, le=50)`` takes the documented default as its bound), ``/patients/search``
``limit`` in 1..100. A boolean (``is_active``) is read as pydantic reads one, or with
``query_booleans="digits"`` only as ``1``/``0`` (Laravel's ``boolean`` rule), or with
``query_booleans="truthy"`` as JavaScript's ``Boolean(text)`` (NestJS converting its query with
class-transformer's ``@Type(() => Boolean)``): every text but the empty one is true, ``false``
included. Parameters
the reference types as dates are validated as dates, path ids as uuids; out of range or
malformed is a 422 listing all problems in pydantic v2's wording.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Annotated, Literal, NoReturn, TypeVar
from uuid import UUID

from pydantic import BeforeValidator, Field, TypeAdapter, ValidationError
from starlette.requests import Request

from sandboxes.dentalpms.errors import validation_errors
from sandboxes.dentalpms.query_enums import ENUM_VALUES, QueryEnums, read_named, refusal
from sandboxes.toolkit.aliases import JsonObject
from sandboxes.toolkit.errors import ApiError

__all__ = [
    "BOOL",
    "BOOL_DIGITS",
    "BOOL_TRUTHY",
    "CURSOR_SORT",
    "DATE",
    "LIMIT",
    "LIST_SORT",
    "PAGE",
    "PAGE_SIZE_MAX",
    "SORT_DIR",
    "STR",
    "Params",
    "QueryBooleans",
    "page_size_upto",
]

T = TypeVar("T")
D = TypeVar("D")

PAGE_SIZE_MAX = 200
_SEARCH_LIMIT_MAX = 100

PAGE = TypeAdapter(Annotated[int, Field(ge=1)])
LIMIT = TypeAdapter(Annotated[int, Field(ge=1, le=_SEARCH_LIMIT_MAX)])
DATE = TypeAdapter(date)
BOOL = TypeAdapter(bool)
# Laravel's `boolean` rule: true, false, 1, 0, "1", "0"; a query string's "true" is text, refused.
BOOL_DIGITS = TypeAdapter(Annotated[bool, BeforeValidator(lambda v: v if v in ("0", "1") else _refuse())])
# NestJS's query under `transform: true` and class-transformer's `@Type(() => Boolean)`:
# `Boolean(text)`, true for any text but the empty one, "false" and "0" included.
BOOL_TRUTHY = TypeAdapter(Annotated[bool, BeforeValidator(bool)])
QueryBooleans = Literal["any", "digits", "truthy"]
STR = TypeAdapter(str)
SORT_DIR = TypeAdapter(Literal["asc", "desc"])
LIST_SORT = TypeAdapter(Literal["chart_number", "created_at", "date_of_birth", "first_name", "last_name", "status"])
CURSOR_SORT = TypeAdapter(
    Literal[
        "chart_number", "created_at", "date_of_birth", "first_name", "last_name", "status",
        "updated_at",
    ]
)  # fmt: skip
_UUID = TypeAdapter(UUID)


def _refuse() -> NoReturn:
    raise ValueError("The field must be true or false.")


@cache
def page_size_upto(maximum: int) -> TypeAdapter[int]:
    """``page_size``/``first``: 1..`maximum`."""
    return TypeAdapter(Annotated[int, Field(ge=1, le=maximum)])


class Params:
    """FastAPI-style validation of query and path parameters, errors collected. With
    `query_enums="names"`, an enum-valued parameter is taken only as a constant's name
    (``sandboxes.dentalpms.query_enums``), and any other spelling is a 400."""

    def __init__(self, request: Request, query_enums: QueryEnums = "documented") -> None:
        self._query = request.query_params
        self._path = request.path_params
        self._names = query_enums == "names"
        self.errors: list[JsonObject] = []
        self._unconverted: list[str] = []  # enum parameters not spelled as a constant's name

    def _check(self, where: str, name: str, raw: str, adapter: TypeAdapter[T]) -> T | None:
        try:
            return adapter.validate_python(raw)
        except ValidationError as exc:
            self.errors.extend(validation_errors(exc, (where, name)))
            return None

    def query(self, name: str, adapter: TypeAdapter[T], default: D) -> T | D:
        """Query parameter `name` validated by `adapter`; `default` when absent or invalid."""
        raw = self._query.get(name)
        if raw is None:
            return default
        if self._names and name in ENUM_VALUES:
            named = read_named(name, raw)
            if named is None:
                self._unconverted.append(name)
                return default
            raw = named
        value = self._check("query", name, raw, adapter)
        return default if value is None else value

    def path_uuid(self, name: str) -> str:
        """A uuid path parameter, normalised to its canonical string form."""
        value = self._check("path", name, self._path[name], _UUID)
        return "" if value is None else str(value)

    def done(self) -> None:
        """Raise the 400 of a value the enum binding could not convert (the framework's, before any
        validation), else the 422 when any parameter so far was invalid."""
        if self._unconverted:
            raise ApiError(400, refusal(self._unconverted[0]))
        if self.errors:
            raise ApiError(422, self.errors)
