"""Cursors of ``/patients/cursor``: base64url (unpadded) JSON ``[sort value, patient id]``.

The sort value is the row's ``sort_by`` field as rendered. A cursor is checked against the
requested ``sort_by`` (its value must be of that field's kind) and turns into the
``sort_key`` the next page starts after; anything malformed decodes to None (a 422).
"""

from __future__ import annotations

import binascii
import json
from uuid import UUID

import orjson

from sandboxes.dentalpms.rows import PatientRow
from sandboxes.dentalpms.sorting import SortKey, sort_key
from sandboxes.toolkit.base64url import b64url_decode, b64url_encode

__all__ = ["decode_cursor", "encode_cursor"]


def encode_cursor(row: PatientRow, sort_by: str) -> str:
    """The cursor pointing at `row` in a list sorted by `sort_by`."""
    return b64url_encode(orjson.dumps([row.doc[sort_by], row.id]))


def decode_cursor(cursor: str, sort_by: str) -> SortKey | None:
    """The sort key `cursor` points at, or None when it is not a cursor for `sort_by`."""
    try:
        keyset = json.loads(b64url_decode(cursor))
        if not isinstance(keyset, list) or len(keyset) != 2:
            return None
        value, row_id = keyset
        if not (value is None or isinstance(value, str)) or not isinstance(row_id, str):
            return None
        return sort_key(sort_by, value, str(UUID(row_id)))
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        return None
