"""NexHealth's boolean query parameters, sent `true` or not at all: never `false`.

The docs type none of them (`location_strict`, `new_patient`, `inactive`, `non_patient`,
`cancelled`); they only show them sent, as `false` (the getting-started request's
`location_strict=false&new_patient=false&include_upcoming_appts=false`). An implementation
reading the query as text, as Express's `if (req.query.location_strict)` and Flask's
`if request.args.get("location_strict")` do, takes the text "false" as true: a tenant not
`location_strict` that sent `location_strict=false` listed one location's patients instead
of the institution's, and `cancelled=false` asked for the cancelled visits. Left out, a
parameter is false under that reading and under every parsing one (Rails' `ActiveModel`
cast, FastAPI's `bool = False`); so false is said by leaving the parameter out. The callers
send a flag left out only where its absence means false: `location_strict` and `cancelled`
always, the patient flags where NexHealth is known to filter by them as false when unsent.
"""

from __future__ import annotations

__all__ = ["flag", "strictness"]


def flag(name: str, value: bool) -> dict[str, str]:
    """The query parameter `name` saying `value`: `name=true`, or nothing for false."""
    return {name: "true"} if value else {}


def strictness(strict: bool) -> dict[str, str]:
    """`location_strict` as a list asks it: only the location's patients (`true`), or the
    institution's (left out: the docs' `false`)."""
    return flag("location_strict", strict)
