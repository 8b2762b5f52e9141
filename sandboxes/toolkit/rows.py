"""``Row``: one record as a simulator holds it, its JSON document in the vendor's shape.

A simulator keeps each record (usually a patient) as the JSON object its API returns,
mutates that document on writes and re-derives what it needs for search and sorting. The
vendor's row class extends ``Row`` with those derived fields. Rows compare by identity
(``eq=False``): a store holds each row once, and a duplicate check skips ``row`` itself
with ``other is row``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandboxes.toolkit.aliases import JsonObject

__all__ = ["Row"]


@dataclass(eq=False)
class Row:
    """A record held as its vendor JSON document `doc`."""

    doc: JsonObject

    @property
    def deleted(self) -> bool:
        """Soft-deleted: the document's ``deleted_at`` is set (absent counts as live).

        Soft deletion by a ``deleted_at`` timestamp is how both the Dental PMS (archived
        patients) and Nextvisit (Laravel ``SoftDeletes``) keep deleted records.
        """
        return self.doc.get("deleted_at") is not None
