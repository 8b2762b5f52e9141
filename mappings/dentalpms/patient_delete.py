"""Patient delete on the Dental PMS (`POST /patients/{id}/archive`), as writes.py says: the
version read sent, a stale one read again once, an absent or archived patient a success."""

from __future__ import annotations

from gateway.errors import (
    Conflict,
    Gone,
    NotFound,
)
from mappings.dentalpms.client import REFUSED, message_of
from mappings.dentalpms.write_base import CONFLICTS, PatientWriteBase, _json


class PatientDelete(PatientWriteBase):
    """Patient delete (module docstring)."""

    async def delete(self, resource_id: str) -> None:
        try:
            current = self._seen(await self._record(resource_id))
        except (NotFound, Gone):
            return
        if current.get("deleted_at"):
            return
        # The version read, which the reference does not ask of a patient's archive but does of
        # its definitions' (`base_version` required): a service may share one model among them,
        # and one that takes no body does not read it. Stale (another write landed since), the
        # patient is read again and the archive sent once more.
        response = await self._archive(resource_id, current)
        if response.status in CONFLICTS:
            current = await self._record(resource_id)
            if current.get("deleted_at"):
                return
            response = await self._archive(resource_id, current)
        if 200 <= response.status < 300:
            return
        if response.status in (404, 410, *REFUSED) and await self._archived(resource_id):
            return  # a concurrent delete got there first
        if response.status in REFUSED:  # e.g. "Patient is guarantor for active dependents"
            raise Conflict(f"The Dental PMS refused to archive Patient/{resource_id}: {message_of(_json(response))}")
        raise self._error(response)

    async def _archived(self, resource_id: str) -> bool:
        try:
            return bool((await self._record(resource_id)).get("deleted_at"))
        except NotFound:
            return True
