"""The ``replica_lag`` reading: a read of one patient served from a replica some seconds behind.

The docs say nothing of when a write can be read. An app whose reads go to a replica serves the
patient as it was before a write for a while after it: Laravel's ``read``/``write`` connections
without ``sticky``, Rails' automatic role switching (which keeps reads on the primary for two
seconds after a write only through the session cookie, which a token client never sends), a
Django router sending reads to a replica. ``Replica`` remembers, per patient, the state before
the first write the replica has yet to see, and when that write was made.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sandboxes.toolkit.aliases import JsonObject
from sandboxes.toolkit.clock import Clock

__all__ = ["Replica"]


@dataclass
class Replica:
    lag: int | None  # seconds; None: reads see every write at once
    clock: Clock
    _before: dict[int, tuple[datetime, JsonObject | None]] = field(default_factory=dict)

    def written(self, patient_id: int, before: JsonObject | None) -> None:
        """A write of `patient_id` now, the patient before it `before` (None: it did not exist)."""
        if self.lag is None:
            return
        held = self._before.get(patient_id)
        if held is None or not self._unseen(held[0]):
            self._before[patient_id] = (self.clock(), copy.deepcopy(before))

    def behind(self, patient_id: int) -> tuple[bool, JsonObject | None]:
        """Whether the replica has yet to see a write of `patient_id`, and the patient it still
        holds (None: none, a patient just created)."""
        held = self._before.get(patient_id)
        if held is None or not self._unseen(held[0]):
            return False, None
        return True, held[1]

    def _unseen(self, when: datetime) -> bool:
        return self.lag is not None and self.clock() < when + timedelta(seconds=self.lag)
