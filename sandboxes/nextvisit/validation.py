"""A Laravel validator: rules checked in call order, messages collected per field.

Messages use Laravel 10+ wording (``The first name field is required.``), the field name
with ``_`` shown as a space, dotted names for nested input (``filter.date_of_birth``). A
field that fails ``required`` gets no further messages. ``check`` raises the 422: ``{"message":
"<first message> (and N more error[s])", "errors": {field: [messages]}}``, fields in rule
order.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sandboxes.toolkit.aliases import JsonObject
from sandboxes.toolkit.errors import ApiError

__all__ = ["INTEGER", "Rules", "parse_date"]

#: An integer as Laravel's ``integer`` rule reads one (PHP ``FILTER_VALIDATE_INT``): optional sign, no leading zeros.
INTEGER = re.compile(r"[+-]?(0|[1-9][0-9]*)")
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


def parse_date(value: Any) -> date | None:
    """The date in `value` (ISO 8601 date or date-time), or None."""
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value).date()
    except ValueError:
        return None


class Rules:
    """A Laravel validator: rules checked in call order, messages collected per field."""

    def __init__(self, data: JsonObject) -> None:
        self.data = data
        self.errors: dict[str, list[str]] = {}

    @staticmethod
    def label(name: str) -> str:
        return name.replace("_", " ")

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message.replace(":attribute", self.label(name)))

    def get(self, name: str) -> tuple[bool, Any]:
        node: Any = self.data
        for part in name.split("."):
            if not isinstance(node, dict) or part not in node:
                return False, None
            node = node[part]
        return True, node

    def field(self, name: str, *, required: bool = False, sometimes: bool = False) -> tuple[bool, Any]:
        """(validate further?, value): handles presence, ``required`` and ``nullable``."""
        present, value = self.get(name)
        if sometimes and not present:
            return False, None
        if required:
            if value is None or value == [] or value == {}:
                self.fail(name, "The :attribute field is required.")
                return False, None
            return True, value
        return value is not None, value  # nullable

    def string(self, name: str, value: Any, max_len: int | None = None) -> bool:
        if not isinstance(value, str):
            self.fail(name, "The :attribute field must be a string.")
            return False
        if max_len is not None and len(value) > max_len:
            self.fail(name, f"The :attribute field must not be greater than {max_len} characters.")
        return True

    def integer(self, name: str, value: Any, lo: int, hi: int) -> int | None:
        text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None
        ok = text is not None and INTEGER.fullmatch(text) is not None
        if not ok:
            self.fail(name, "The :attribute field must be an integer.")
        if isinstance(value, str) and _NUMBER.fullmatch(value):
            size: float = float(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            size = value
        elif isinstance(value, list | dict):
            size = len(value)
        else:
            size = len(str(value)) if value is not None else 0
        if size < lo:
            self.fail(name, f"The :attribute field must be at least {lo}.")
        if size > hi:
            self.fail(name, f"The :attribute field must not be greater than {hi}.")
        return int(text) if ok and text is not None else None

    def one_of(self, name: str, value: Any, allowed: tuple[str, ...]) -> str | None:
        if isinstance(value, str) and value in allowed:
            return value
        self.fail(name, "The selected :attribute is invalid.")
        return None

    def date(self, name: str, value: Any) -> date | None:
        parsed = parse_date(value)
        if parsed is None:
            self.fail(name, "The :attribute field must be a valid date.")
        return parsed

    def check(self) -> None:
        if not self.errors:
            return
        messages = [message for field_messages in self.errors.values() for message in field_messages]
        summary = messages[0]
        if len(messages) > 1:
            more = len(messages) - 1
            summary += f" (and {more} more {'error' if more == 1 else 'errors'})"
        raise ApiError(422, {"message": summary, "errors": self.errors})
