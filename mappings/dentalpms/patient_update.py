"""Patient update on the Dental PMS (`PATCH /patients/{id}`, then `transition-status`), as
writes.py says: `base_version` from `If-Match` or the record read, only the fields that change, a
version conflict retried once or a 412, nulls the vendor keeps or refuses reported, and a refused
status taking the PATCH back."""

from __future__ import annotations

from typing import Any

from gateway.contract import Resource, Written
from gateway.errors import (
    Conflict,
    Gone,
    NotFound,
    PreconditionFailed,
    WriteUnconfirmed,
)
from gateway.upstream.http import UpstreamResponse
from mappings.dentalpms.client import REFUSED, fields_of, message_of
from mappings.dentalpms.patient import patient_to_fhir
from mappings.dentalpms.patient_write import (
    changes,
    kept_for_status,
    patient_for_update,
    refuse_unheld_status,
    status_path,
)
from mappings.dentalpms.phones import international_phones, rewritable
from mappings.dentalpms.reader import VendorRecord
from mappings.dentalpms.write_base import (
    _FHIR_PATHS,
    CONFLICTS,
    PatientWriteBase,
    Refusal,
    _chart_in_use,
    _chart_not_kept,
    _fields_named,
    _json,
    _own_version,
    _snake,
    _status_refused,
)


class PatientUpdate(PatientWriteBase):
    """Patient update (module docstring)."""

    async def update(self, resource_id: str, resource: Resource, if_match: str | None) -> Written:
        body = patient_for_update(resource, self._ctx)
        owned = self._phones(body.fields)
        current = self._seen(await self._record(resource_id))
        if current.get("deleted_at"):
            raise Gone(f"Patient/{resource_id} has been deleted")
        if if_match is not None and if_match != str(current.get("version")):
            raise _stale(resource_id, if_match)
        base = current.get("version")
        unsendable: set[str] = set()  # fields whose null the vendor refused (`_refused_nulls`)
        fields = owned
        response: UpstreamResponse | None = None  # None: nothing to PATCH
        confirmed: VendorRecord | None = None  # the patient holding this PATCH, a retry refused (`_own_edit`)
        for attempt in range(2):
            # An `active` or `deceased[x]` no status transition of this patient reaches is refused
            # before the PATCH (a modifier dropped would store a record meaning something else):
            # checked again against the record a retry is based on, whose status may have moved.
            refuse_unheld_status(resource, current.get("status"))
            # A deceased patient's date stays while its status cannot go (kept_for_status). Only
            # what the record read does not hold already (patient_write.changes): its own chart
            # number sent again may be refused as another patient's.
            fields = kept_for_status(owned, resource, current.get("status"))
            sent = {name: value for name, value in changes(fields, current).items() if name not in unsendable}
            response = await self._patch(resource_id, sent, base)
            if response is not None and rewritable(sent, self._phones_named(response)):
                # Refused for a national phone number (phones.py): its phones in international
                # form, measured against the record again (it may hold them so already).
                owned = international_phones(owned)
                fields = kept_for_status(owned, resource, current.get("status"))
                sent = {name: value for name, value in changes(fields, current).items() if name not in unsendable}
                response = await self._patch(resource_id, sent, base)
                self._learn_phones(response)
            while response is not None and response.status in REFUSED and (refused := _refused_nulls(sent, response)):
                # The vendor takes no null for these fields: they are sent no more, and what the
                # patient still holds of them is reported not stored (`_not_cleared`).
                unsendable |= refused
                sent = {name: value for name, value in sent.items() if name not in refused}
                response = await self._patch(resource_id, sent, base)
            if response is None or response.status not in CONFLICTS:
                break
            message = message_of(_json(response)).lower()
            chart = sent.get("chart_number")
            if if_match is not None and response.attempt > 1:
                # Before the chart number: a vendor checking it before the version refuses the
                # resend of a PATCH that set it as "duplicate chart number", held by this very
                # patient. Without If-Match the record read again is simply updated (below): only
                # what it does not hold yet is sent, this edit's own part included or not.
                confirmed = await self._own_edit(resource_id, sent, fields, current, if_match)
                if confirmed is not None:
                    break
            if chart and "chart" in message:
                raise _chart_in_use(chart)
            # A 409 that does not say why (Spring Boot's default error body gives the reason
            # phrase only) may be the chart number, which no retry resolves, as well as the
            # version. The record read again tells them apart in one call (the one a retry
            # needs anyway): a version conflict has moved its version past `base`; still at
            # `base`, the refusal was of something else, the reference's other 409 "duplicate
            # chart number" when the PATCH changes it. A 412 is only ever the version.
            said = "version" in message or response.status == 412
            retrying = if_match is None and attempt == 0  # on the version read again
            now = await self._record(resource_id) if retrying or not said else None
            if not said and now is not None and str(now.get("version")) == str(base):
                if isinstance(chart, str) and chart and chart != now.get("chart_number"):
                    raise _chart_in_use(chart)
                raise Conflict(f"The Dental PMS refused the update of Patient/{resource_id}: {message or 'conflict'}")
            if if_match is not None:
                raise _stale(resource_id, if_match)
            if not retrying or now is None:
                raise Conflict(f"Patient/{resource_id} kept changing at the vendor; try the update again")
            base, current = now.get("version"), now  # what the retry sends is measured against it
        if response is not None and response.status == 404:
            raise NotFound(f"Patient/{resource_id} does not exist")
        if confirmed is not None:
            updated, own = confirmed, confirmed.get("version")
        else:
            updated = current if response is None else await self._record_of(response, resource_id, base)
            own = current.get("version") if response is None else _own_version(response, base, updated)
        updated, refusal, own = await self._transition(resource_id, resource, updated, own)
        taken_back: tuple[str, ...] = ()
        if refusal is not None and updated.get("status") == current.get("status"):
            # The status stays as it was (any step on the way taken back): the PATCH is taken
            # back too, so that a refused update changes nothing (module docstring), based on
            # this update's own last write: never over another writer's change since.
            if sent:
                updated = await self._take_back(resource_id, sent, current, own, refusal)
            taken_back = _taken_back(sent, current, updated)
            if len(taken_back) == len(sent):
                raise _status_refused(resource_id, resource, current.get("status"), refusal)
        not_stored = (
            body.not_stored + _not_cleared(fields, updated) + status_path(resource, updated.get("status")).unmet
        )
        not_stored += tuple(dict.fromkeys(_element(name) for name in taken_back))
        if "chart_number" not in taken_back:
            dropped = _chart_not_kept(resource, sent, updated, self._ctx)
            self._charts_dropped = self._charts_dropped or bool(dropped)
            not_stored += dropped
        return Written(patient_to_fhir(updated, self._ctx), tuple(dict.fromkeys(not_stored)))

    async def _own_edit(
        self, resource_id: str, sent: dict[str, Any], fields: dict[str, Any], before: VendorRecord, if_match: str
    ) -> VendorRecord | None:
        """The patient as this update's PATCH left it, when the conflict refusing it answered a
        retry (`UpstreamResponse.attempt` > 1): an earlier attempt, its answer lost, may have
        been applied, and a vendor replaying keys only for creates then refuses the resend as
        based on a version it moved itself. That is not the client's stale version: R4
        http.html#concurrency has a 412 "instead of updating the resource", and this one may be
        updated. Read again, the patient one version past `before` (the record at the client's
        `If-Match`) holding the whole replacement `fields` as the PATCH would have left it (the
        fields `sent` as sent, every other one as `before` held it) is this edit; still at that
        version, no attempt was applied (versions only grow), and None: the refusal is the
        vendor's answer to this write alone. One version past with a field this PATCH did not
        send changed is not this edit (a PATCH modifies only the fields it provides): the one
        write since was another's, and the client's version stale, a 412. Anything else, or what
        cannot be compared, is a `WriteUnconfirmed` (502 `processing`: "may have been
        applied")."""
        now = await self._record(resource_id)
        base = before.get("version")
        if str(now.get("version")) == str(base):
            return None
        if _one_past(now.get("version"), base):
            if _moved_besides(sent, fields, before, now):
                raise _stale(resource_id, if_match)
            if not changes(sent, now):
                return now
        raise WriteUnconfirmed(
            f"The update of Patient/{resource_id} may have been applied: its answer was lost, and the Dental PMS "
            "refused it when it was sent again; read the patient before sending it again"
        )

    async def _patch(self, resource_id: str, sent: dict[str, Any], base: Any) -> UpstreamResponse | None:
        """The PATCH of the fields `sent` based on version `base`; None, and nothing sent, when
        there are none. A PATCH of `base_version` alone would change nothing, and a service may
        refuse it (a FastAPI handler's `if not update_data: raise HTTPException(400, "No fields to
        update")`): an update changing only the lifecycle, or nothing, would be a 422."""
        if not sent:
            return None
        return await self._client.send("PATCH", f"/patients/{resource_id}", self._based(sent, base))

    async def _take_back(
        self, resource_id: str, sent: dict[str, Any], before: VendorRecord, own: Any, refusal: Refusal
    ) -> VendorRecord:
        """The patient once the fields a PATCH `sent` are set back to their values `before` it,
        by a PATCH based on `own`, the version this update's last write made (None: unknown,
        the version read now): a record another writer has changed since is refused, and left
        as it is, and the update is a 409 (what it wrote may remain under the other change:
        neither a 200 for an update whose status never moved nor "nothing was written" is
        true). Otherwise the patient as it then is."""
        if own is None:
            own = (await self._record(resource_id)).get("version")
        previous = {name: before.get(name) for name in sent}
        response = await self._client.send("PATCH", f"/patients/{resource_id}", self._based(previous, own))
        if response.status in CONFLICTS:
            raise Conflict(
                f"Patient/{resource_id} changed at the Dental PMS while this update was applied: the move to "
                f"status {refusal.status} was refused, and what the update wrote is not set back over the other "
                "change, so part of it may remain: read it and try again"
            )
        if not 200 <= response.status < 300:
            return await self._record(resource_id)
        return await self._record_of(response, resource_id, own)


def _one_past(version: Any, base: Any) -> bool:
    """Whether `version` is the one after `base` (integers, or integers written as text)."""
    try:
        return int(str(version)) == int(str(base)) + 1
    except ValueError:
        return False


def _moved_besides(sent: dict[str, Any], fields: dict[str, Any], before: VendorRecord, now: VendorRecord) -> bool:
    """Whether `now` holds a field of the replacement `fields` that the PATCH did not send (held
    already, or a null the vendor refuses: `_refused_nulls`) otherwise than `before` held it."""
    return any(not _same(now.get(name), before.get(name)) for name in fields if name not in sent)


def _element(field: str) -> str:
    """The FHIR element a vendor field holds, as an update reports it not stored."""
    return ".".join(_FHIR_PATHS.get(field, "Patient").split(".")[:2])


def _taken_back(sent: dict[str, Any], before: VendorRecord, record: VendorRecord) -> tuple[str, ...]:
    """The fields a PATCH `sent` that `record` holds as they were `before` it (a null as an
    empty text: the vendor may write either)."""
    return tuple(name for name in sent if _same(record.get(name), before.get(name)))


def _same(value: Any, other: Any) -> bool:
    return value == other or (value in (None, "") and other in (None, ""))


def _not_cleared(sent: dict[str, Any], record: VendorRecord) -> tuple[str, ...]:
    """The elements of the fields the PATCH sent as null (to clear them) that `record`, the
    patient after it, still holds. The reference's PATCH modifies "only provided fields", and a
    service may read a null as not provided (FastAPI's `exclude_none`); it documents no other
    way to clear a patient field (only the custom field values' upsert says "Send a null value
    to clear a field"; an empty string is not said to clear anything), so none is tried."""
    kept = (name for name, value in sent.items() if value is None and record.get(name) not in (None, ""))
    return tuple(dict.fromkeys(_element(name) for name in kept))


def _refused_nulls(sent: dict[str, Any], response: UpstreamResponse) -> set[str]:
    """The fields `sent` as null (to clear them) that the vendor's refusal names: a service may
    take no null for a field (Django REST Framework's `allow_null=False`, the default where the
    column is not nullable, as Django's text columns are not; a Laravel rule without
    `nullable`), and the reference documents no other way to clear one (`_not_cleared`)."""
    body = _json(response)
    named = {_snake(field.split(".")[0]) for field in fields_of(body) or _fields_named(message_of(body))}
    return {name for name in named if name in sent and sent[name] is None}


def _stale(resource_id: str, version: str) -> PreconditionFailed:
    return PreconditionFailed(f"Patient/{resource_id} has changed since version {version}; read it again first")
