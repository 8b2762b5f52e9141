"""Patient create, update and delete on the Dental PMS (`POST /patients`, `PATCH
/patients/{id}`, `POST /patients/{id}/archive`): how each reads the vendor. Each write is a
module of its own, `patient_create.py` (its look-ups `patient_lookup.py`), `patient_update.py`
and `patient_delete.py`; what they share is `write_base.py`; `PatientWrites` is them all.

Create sends an `Idempotency-Key` made for the client's request, a new one each time, and
every attempt the gateway makes of that request carries the same one (gateway.upstream retries
a write with a key on a connection error, a timeout or a 5xx): a create whose answer was lost
after the patient was stored is not made twice. The key is not derived from the resource: FHIR
create (http.html#create) makes a new resource for each request, so two requests of one body
(twins, say, whom nothing the client sends tells apart) are two patients, and a client that
wants its own repeat to find the first uses `If-None-Exist`. A hash of the body, as before,
answered the second request 201 with the first request's patient. The key is a version 4
UUID: the reference does not say what form a key takes, and a service may take only a UUID (a
FastAPI header declared `UUID`/`UUID4`, Spring's `@RequestHeader UUID`, Laravel's `uuid` rule).

The reference's 409 is "Idempotency conflict (duplicate Idempotency-Key) or duplicate chart
number", and implementations differ on a repeated key: one replays the first answer (201, the
same patient, which is then this request's), another refuses it (409). As no other request
carries this request's key, a 409 to a later attempt (gateway.upstream says which attempt an
answer is to) that says it is about the key is a retry of this request refused: the patient it
made (the newest live one with the same names and birth date, compared exactly after NFC, and
the chart number sent: found among the newest patients, never by a `search` the vendor may
refuse as too short, so that a patient this request made is never answered as a chart number in
use; unless the vendor's clock says it was made before the request) is the created one, and
when the newest patients do not show it yet the answer is a 502 that says it was made (never
"nothing was created": the client would send it again). A 409 to a first attempt is the vendor
refusing the patient, never one it made. Any other 409 (a duplicate guard's, without a chart
number) is about the chart number or the patient: its holder is looked up — by chart number (one too short for the
vendor's `search` among the patients born that day, or named as the request names them) — and
when it is the patient the request describes the create is `AlreadyExists` with it (a
conditional create answers 200 with it), unless the 409 answers a retry and the vendor's own
clock (its `Date`) says the patient was made once this request's first attempt had reached it:
then it is the patient this request made, whose answer was lost (a service that does not read
the key, or checks the chart number first; `_made_during`), when it is a deleted patient
the 409 names it, otherwise it is a `Conflict` naming the chart number (without its holder when
nothing narrows the lists to it: a walk of every list, as long as the practice, is no price for
one create).

A retry answered 2xx may have made a second patient: a service that does not read the key makes
one of each attempt. The same patient made before the retry's during this request (by the
vendor's clock) is named in the answer as made twice (`_made_twice`), never archived: nothing
but names and time ties it to this request, and another request's patient archived would be a
record lost, where a duplicate named is one the practice merges.

A create answered without the patient (201 with its URL in `Location` alone, though the
reference says "Returns 201 with the created patient", or a repeated key's `303 See Other` to
an origin not followed) is the patient the `Location` names
(shown as sent, with a warning, when the vendor does not serve it yet: never a 404 to a
create), else the newest one the request describes made while it was sent (`_created`: two
such are a 502 saying the patient may have been made); before, it was a 502 once the patient
was stored, and the client's retry made a second one.

A create still answered 5xx once its retries are spent (a service failing after its patient is
stored, whose key replays that failure to every retry, as Stripe's keys replay any first answer)
is the patient the request describes made while it was sent, by the vendor's clock, when there is
exactly one (`_made_despite`), a warning saying the vendor failed; else the failure. Before, it
was the failure, and the client's resend made the patient twice.

A write refused (422, or 400) naming a phone field whose number is national (`(555) 123-4567`)
is sent once more with its phones in international form (`+15551234567`, phones.py: a service
may validate a phone without a default region and take no other), under a key of its own for a
create; taken so, every write's phones are written so from then on, and an update compares them
with the patient's in that form. Before, every create or update carrying one was a 422.

A create's lifecycle (`active: false`, a death) is the body's `status`; a service that makes
every new patient active (`status` read-only in its create body, moved by `transition-status`
alone) has it moved after the create by the transitions an update takes. `active` and
`deceased[x]` are modifiers: one the vendor refuses to reach has the patient just made archived
and the create refused, as an update is (below); should the archive fail, the answer is the
patient as kept, the element named as not stored.

Every `base_version` is sent in the form the vendor writes its versions (`_based`): a number as
documented, or text (`"3"`) to a service that writes them so and reads them back only so (Go's
`,string` field option: a number is a 400 naming no field); before, every update, status move
and versioned archive at such a vendor was refused.

Update is a PATCH with `base_version`: the version the client's `If-Match` names, else the
current record's `version` (read first), carrying only the fields the record read does not hold
as the resource sets them (patient_write.changes: a patient's own chart number sent again may be
refused as another's), none at all when every field is held already (a PATCH of `base_version`
alone may be refused: `_patch`), then, when the resource's `active` or deceased
differs from the vendor's `status`, one `POST /patients/{id}/transition-status` per step
(patient_write.status_path), each with the version the previous answer showed. An `active`
or `deceased[x]` sent that no documented transition of the patient's status reaches (a
deceased patient's death taken back, `active: true` beside a death) is a 422 before the PATCH
(patient_write.refuse_unheld_status): nothing is written. An answer
that shows no version newer than the one its write was based on is the entity as a JPA
service maps it before the ORM flushes the write (`@Version` is bumped at flush): the
patient is read again for its real version. So is one without a field `PatientOut` requires
(only what the write saved, as TypeORM's `repository.save({ id, ...dto })` returns it): before,
its absent status read as active and moved an inactive patient "to inactive", refused.
The PATCH goes first: it may carry what a transition needs (a service may take a patient to
deceased only once its `date_time_deceased` is recorded), and unlike a status the reference lets
a PATCH set every field back, which makes it the write to undo. A transition the reference
allows that the vendor refuses (422, a 409
of another writer, or a vendor without the endpoint) leaves the status as it was (a step
already taken on the way, inactive -> active before deceased, is taken back when the reference
allows it), and the PATCH is taken back: its fields PATCHed to what the record read before
held, based on the version the vendor answered this update's last write with, not the version
read after the refusal (so another writer's change since is never overwritten: that PATCH is
then refused). All set back, the
update is refused whole and says so: a 422 naming the element (`not-supported`: the modifier
cannot be stored), a 409 for a version conflict; nothing was written. Where the record cannot
be set back whole (the status step not undone, the PATCH back refused, a null the vendor
ignores), the answer is the patient as it is, the status element and each element set back
named as not stored. Before, the fields stayed new, the status old, and the answer a 200.
A vendor 409
"Version conflict" (or 412) on the PATCH is a 412 when the client sent `If-Match`; without it the
record is read again and the PATCH retried once, then it is a 409. A 409 that does not say why
is told apart by that one read: a record still at the version the PATCH was based on had no
version conflict, so the refusal was of the chart number the PATCH changes (the reference's
other 409, "duplicate chart number"), a 409 naming `Patient.identifier`, with no look-up of its
holder (a walk of every list, when the chart number is too short for the vendor's `search`). A
field sent as null to clear it (patient_write.py) that the patient still holds after the PATCH
was kept by the vendor (it read the null as "not provided", or refused it: the PATCH is then
sent again without the fields whose null a 422 or 400 names): its element is reported as not
stored (`Written.not_stored`), and the answer shows the value kept. So is a chart number a
create or PATCH sent that the patient after it does not hold (`_chart_not_kept`: a vendor whose
chart numbers the practice assigns drops one sent without a word). A create whose
`If-None-Exist` selects by that chart number (gateway.contract.conditions) is refused 422 instead
(`_unkept_condition`): its patient archived, or, once the vendor has shown it drops chart
numbers, before anything is written; before, each repeat of the request made another patient.
Delete archives the patient (the reference documents no body for it, yet a service may ask for `base_version` as its
definitions' archive endpoints do: it is sent); a patient that is absent or archived already is a
success (FHIR: deleting what is not there is not an error), as is the vendor's 404 or 422
"already archived" of a concurrent delete. A vendor 422 names the fields it refused (`loc`),
never their values; a 400 is read as that 422 (the status most frameworks give a failed
validation).
"""

from __future__ import annotations

from mappings.dentalpms.patient_create import PatientCreate
from mappings.dentalpms.patient_delete import PatientDelete
from mappings.dentalpms.patient_update import PatientUpdate

__all__ = ["PatientWrites"]


class PatientWrites(PatientCreate, PatientUpdate, PatientDelete):
    """Patient create, update and delete at one tenant's Dental PMS (module docstring): one object,
    so that what a write learns of the vendor (write_base.py) serves every later one."""
