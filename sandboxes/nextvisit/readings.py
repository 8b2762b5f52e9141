"""Readings of the Nextvisit docs that other implementations take: the simulator's switches.

Each switch is a keyword argument of ``create_app`` and defaults to the reading the
simulator has always served (see the ``app`` module docstring):

- ``encounter_shape``: ``"object"`` (default) renders an encounter's ``provider`` and
  ``location`` as objects and its time as ``start_time``; ``"flat"`` renders them as plain
  strings (``"Maria Alvarez, MD"``, ``"Main Clinic"``), the time as ``date_of_service``
  (same instant and format) instead of ``start_time``, and the encounter's ``id`` and
  ``patient_id`` as strings of digits.
- ``include_demographics``: ``True`` (default) honours ``include=demographics`` on
  ``GET /v1/patients/{id}``; ``False`` ignores it there (no ``demographics`` key at all),
  while lists still honour it.
- ``unreadable_encounter``: ``None`` (default), or the id of one clinic encounter rendered
  with a start time that cannot be a date (``YYYY-02-30T…``): a record no reading can use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["EncounterShape", "Readings"]

EncounterShape = Literal["object", "flat"]


@dataclass(frozen=True)
class Readings:
    encounter_shape: EncounterShape = "object"
    include_demographics: bool = True
    unreadable_encounter: int | None = None

    def __post_init__(self) -> None:
        if self.encounter_shape not in ("object", "flat"):
            raise ValueError(f"encounter_shape must be 'object' or 'flat', not {self.encounter_shape!r}")
