"""Conditional requests: `If-Match`, `If-Unmodified-Since` and `If-None-Match` on PUT and DELETE
(and the first two on a read), evaluated against the record as the vendor holds it now, in the
order of RFC 9110 section 13.2.2.

FHIR versions are weak ETags (http://hl7.org/fhir/R4/http.html#concurrency: `If-Match: W/"3"`),
so a tag is compared by its version, weak or strong. A date is compared to the second, as
`Last-Modified` gives it (RFC 9110 section 13.1.4).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import Headers

from gateway.errors import InvalidRequest, PreconditionFailed
from gateway.http_dates import one_http_date
from gateway.search.dates import last_updated_moment, parse_fhir_date

ANY = "*"


@dataclass(frozen=True)
class Preconditions:
    if_match: tuple[str, ...] | None = None  # versions, or (ANY,)
    if_none_match: tuple[str, ...] | None = None
    if_unmodified_since: datetime | None = None

    @property
    def given(self) -> bool:
        return self.if_match is not None or self.if_none_match is not None or self.if_unmodified_since is not None

    @property
    def one_version(self) -> str | None:
        """The version of an `If-Match` naming exactly one and nothing else: the adapter can then
        hold the update to it with no read here first (gateway.rest.write)."""
        if self.if_none_match is None and self.if_match is not None and len(self.if_match) == 1:
            version = self.if_match[0]
            return None if version == ANY else version
        return None


def preconditions(headers: Headers) -> Preconditions:
    """The write's preconditions (400 for an `If-Match` or `If-None-Match` that is not a list of
    entity tags, an empty one included). A field sent on several lines is one list (RFC 9110
    section 5.3)."""
    if_match, if_none_match = field_value(headers, "if-match"), field_value(headers, "if-none-match")
    since = one_http_date(field_value(headers, "if-unmodified-since"))
    return Preconditions(
        _tags(if_match, "If-Match") if if_match is not None else None,
        _tags(if_none_match, "If-None-Match") if if_none_match is not None else None,
        # Only without If-Match (RFC 9110 section 13.2.2, step 2).
        since if if_match is None else None,
    )


def check_absent(conditions: Preconditions) -> None:
    """412 for an `If-Match` when there is no current record (RFC 9110 section 13.1.1: it holds
    only for a current representation, `*` included)."""
    if conditions.if_match is not None:
        raise PreconditionFailed("If-Match: there is no current version of this record")


def check(conditions: Preconditions, current: Mapping[str, Any]) -> None:
    """412 unless every precondition holds for the record as it is now."""
    meta = current.get("meta")
    meta = meta if isinstance(meta, Mapping) else {}
    version = meta.get("versionId")
    if conditions.if_match is not None and not _listed(conditions.if_match, version):
        raise PreconditionFailed(f"If-Match: the current version is {_shown(version)}; read it again before writing")
    since = conditions.if_unmodified_since
    modified = last_updated_moment(meta.get("lastUpdated"))  # compared to the second, as HTTP-dates are
    if modified is not None and _dated_ahead(meta["lastUpdated"]):
        # Dated ahead of this clock (a vendor's clock ahead of ours): Last-Modified gave the
        # moment of the answer instead (RFC 9110 section 8.8.2.1), which moves on with every
        # answer, so the record has no modification date to hold a condition to, and
        # If-Unmodified-Since is ignored (section 13.1.4): compared with the moment of this
        # request, what a client was given a second before would fail as if the record had changed.
        modified = None
    if since is not None and modified is not None and modified.replace(microsecond=0) > since:
        raise PreconditionFailed("If-Unmodified-Since: the record has been modified since")
    if conditions.if_none_match is not None and _listed(conditions.if_none_match, version):
        raise PreconditionFailed(f"If-None-Match: the current version is {_shown(version)}")


def _dated_ahead(last_updated: str) -> bool:
    """Whether the period a `meta.lastUpdated` names begins after now. Its start, not its last
    microsecond (`last_updated_moment`): a record written at 12:00:00 by a vendor keeping the
    second is not ahead at 12:00:00.4, and read as 12:00:00.999999 it was, so a failing
    If-Unmodified-Since was dropped and the write made (RFC 9110 section 13.1.4: when false,
    the server MUST NOT perform the method)."""
    return parse_fhir_date(last_updated).start > datetime.now(UTC)


def _listed(tags: tuple[str, ...], version: Any) -> bool:
    # A record that exists matches `*`; a tag matches only a record that has a version.
    return tags == (ANY,) or (isinstance(version, str) and version in tags)


def field_value(headers: Headers, name: str) -> str | None:
    """A field's value, its lines joined as one list (RFC 9110 section 5.3)."""
    lines = headers.getlist(name)
    return ", ".join(lines) if lines else None


def _tags(value: str, header: str) -> tuple[str, ...]:
    text = value.strip()
    if text == ANY:
        return (ANY,)
    versions = []
    # Empty list elements are skipped (RFC 9110 section 5.6.1.2); a field with no tag is a 400.
    for tag in filter(None, (part.strip() for part in text.split(","))):
        opaque = tag[2:] if tag.startswith("W/") else tag
        if len(opaque) < 2 or not (opaque.startswith('"') and opaque.endswith('"')) or '"' in opaque[1:-1]:
            raise InvalidRequest(f'{header} must be * or ETags such as W/"3"', expression=header)
        versions.append(opaque[1:-1])
    if not versions:
        raise InvalidRequest(f'{header} must be * or ETags such as W/"3"', expression=header)
    return tuple(versions)


def _shown(version: Any) -> str:
    return f'W/"{version}"' if isinstance(version, str) else "unknown"
