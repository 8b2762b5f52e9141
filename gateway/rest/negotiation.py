"""Response format negotiation: JSON only, chosen from `_format` or `Accept`.

FHIR lets a server support a subset of formats; this one speaks JSON. A client that can only
take XML (or anything else we cannot produce) gets a 406 OperationOutcome, rendered in JSON.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from gateway.errors import NotAcceptable

FHIR_JSON = "application/fhir+json"
PLAIN_JSON = "application/json"
_R4 = re.compile(r"4\.0(\.\d+)?")  # what a fhirVersion media-type parameter names this server's by
_FORMAT_ALIASES = {"json": FHIR_JSON, FHIR_JSON: FHIR_JSON, PLAIN_JSON: PLAIN_JSON, "text/json": PLAIN_JSON}


@dataclass(frozen=True)
class Format:
    media_type: str
    pretty: bool

    @property
    def content_type(self) -> str:
        return f"{self.media_type}; charset=utf-8"


def _format_kind(format_param: str) -> str:
    """The media type `_format` names. Its "+" is often sent unescaped and arrives as a space
    (`_format=application/fhir+json` in a URL typed by hand): no media type holds a space."""
    kind, q = _media_range(format_param)
    if q == 0:
        raise NotAcceptable(f"_format '{format_param}' names another version of FHIR; this server is R4 (4.0)")
    return kind.replace(" ", "+")


def other_version(content_type: str) -> str | None:
    """The FHIR version a body's Content-Type names when it is not this server's (R4
    versioning.html#mt-version: `application/fhir+json; fhirVersion=3.0`), else None."""
    for param in content_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        version = value.strip().strip('"')
        if name.strip().lower() == "fhirversion" and not _R4.fullmatch(version):
            return version
    return None


@lru_cache(maxsize=256)  # a client sends the same few Accept headers again and again
def _ranges(accept: str) -> tuple[tuple[str, float], ...]:
    """The media ranges of an `Accept` value, in order, each with its quality."""
    return tuple(_media_range(part) for part in accept.split(","))


def _media_range(text: str) -> tuple[str, float]:
    """(media type, quality) of one media range: a range naming another FHIR version than this
    server's (http://hl7.org/fhir/R4/versioning.html#mt-version) is not acceptable (0)."""
    media, *params = (x.strip() for x in text.split(";"))
    q = 1.0
    for param in params:
        name, _, value = (x.strip() for x in param.partition("="))
        if name.lower() == "q":
            q = _quality(value)
        elif name.lower() == "fhirversion" and not _R4.fullmatch(value.strip('"')):
            return media.lower(), 0.0
    return media.lower(), q


# A representation: the media type it is served as, then other names it answers to.
Representation = tuple[str, ...]


def _standing(names: Representation, ranges: tuple[tuple[str, float], ...]) -> tuple[int, float, int, int]:
    """How well `ranges` accept a representation (RFC 9110 section 12.5.1): the most specific
    range matching it (its type, then `type/*`, then `*/*`) gives its quality. Ordered: acceptable
    (q > 0) before not named at all (a server may disregard Accept) before ruled out (q = 0);
    then by quality, by how specifically it was named, and by how early."""
    kind = names[0].split("/")[0]
    best: tuple[int, float, int] | None = None  # (specificity, quality, -position)
    for position, (media, q) in enumerate(ranges):
        rank = 3 if media in names else 2 if media == f"{kind}/*" else 1 if media == "*/*" else 0
        if rank and (best is None or (rank, q) > best[:2]):
            best = (rank, q, -position)
    if best is None:
        return (1, 0.0, 0, 0)
    rank, q, position = best
    return (2 if q > 0 else 0, q, rank, position)


def preferred(offered: tuple[Representation, ...], accept: str | None) -> int:
    """The index in `offered` of the representation `accept` prefers; a tie goes to the one
    offered first (the server's preference)."""
    ranges = _ranges(accept or "*/*")
    standings = [_standing(names, ranges) for names in offered]
    return max(range(len(offered)), key=lambda i: (standings[i], -i))


def acceptable(names: Representation, accept: str | None) -> bool:
    """Whether `accept` names a range taking this representation with a quality above 0."""
    return _standing(names, _ranges(accept or "*/*"))[0] == 2


_JSON_TYPES: tuple[Representation, ...] = ((FHIR_JSON,), (PLAIN_JSON,))


@lru_cache(maxsize=256)  # a client sends the same few Accept headers again and again
def negotiate(format_param: str | None, accept: str | None, pretty_param: str | None) -> Format:
    pretty = pretty_param == "true"
    if format_param is not None:
        chosen = _FORMAT_ALIASES.get(_format_kind(format_param))
        if chosen is None:
            raise NotAcceptable(f"_format '{format_param}' is not supported; this server returns JSON")
        return Format(chosen, pretty)
    if not accept:
        return Format(FHIR_JSON, pretty)
    best = _JSON_TYPES[preferred(_JSON_TYPES, accept)]
    if not acceptable(best, accept):
        raise NotAcceptable(f"None of the accepted types ({accept}) can be produced; this server returns JSON")
    return Format(best[0], pretty)


def wants_binary_resource(
    format_param: str | None, accept: str | None, content: tuple[Representation, ...] | None = None
) -> bool:
    """For Binary reads: the Binary resource (FHIR JSON) or the content itself?

    FHIR serves a Binary's own content unless the client asks for a FHIR format
    (http://hl7.org/fhir/R4/binary.html#rest): the resource when FHIR JSON is accepted and
    preferred to the content, a tie going to the content. `content`: the forms the content can
    be served in, when known (a CDA document: its XML or its page); unknown, any range other
    than FHIR's may name it.
    """
    if format_param is not None:
        return _format_kind(format_param) in _FORMAT_ALIASES
    if not accept:
        return False
    ranges = _ranges(accept)
    resource = max(_standing(names, ranges) for names in _JSON_TYPES)
    if resource[0] != 2:
        return False
    if content is not None:
        best = max(_standing(names, ranges) for names in content)
        return best[0] != 2 or resource[1:3] > best[1:3]
    others = max(
        (
            (q, 1 if media == "*/*" else 2 if media.endswith("/*") else 3)
            for media, q in ranges
            if media not in _FHIR_TYPES
        ),
        default=(0.0, 0),
    )
    return resource[1:3] > others


HTML = "text/html"
_XML_TYPES = ("application/xml", "text/xml", "application/cda+xml")
CDA_REPRESENTATIONS: tuple[Representation, ...] = (_XML_TYPES, (HTML,))  # a CDA document, its page


def wants_html(format_param: str | None, accept: str | None) -> bool:
    """For documents: the readable HTML page rather than the document's XML?

    `_format=html` asks for it outright; otherwise `Accept` decides (`preferred`: by quality,
    then how specifically each is named, then the earlier listed; a browser's
    `text/html,...,application/xml;q=0.9` gets HTML, `text/*` too).
    """
    if format_param is not None:
        return _format_kind(format_param) in ("html", HTML)
    return bool(accept) and preferred(CDA_REPRESENTATIONS, accept) == 1


FHIR_XML = ("xml", "application/fhir+xml", "application/xml+fhir")
_FHIR_TYPES = frozenset((FHIR_JSON, PLAIN_JSON, *FHIR_XML))
CDA_FORMATS = frozenset(("html", HTML, *_XML_TYPES))  # a CDA document: its page, or itself


def file_formats(content_type: str) -> frozenset[str]:
    """The `_format` values that ask for a file of `content_type` as it is (no page is made of it)."""
    kind = content_type.split(";")[0].strip().lower()
    return frozenset((kind, "html")) if kind == HTML else frozenset((kind,))


def check_document_format(format_param: str | None, accept: str | None, served: frozenset[str] = CDA_FORMATS) -> None:
    """A document is served as the Binary resource (FHIR JSON) or in one of the formats
    `served` names (a CDA document: itself, as XML, or its HTML page): a `_format` naming
    anything else, or an `Accept` of FHIR formats alone none of which is produced here (FHIR
    XML, another version's JSON), is a 406. Any other `Accept` gets the document itself
    (RFC 9110 section 12.5.1 lets a server disregard it)."""
    if format_param is not None:
        kind = _format_kind(format_param)
        if kind in FHIR_XML:
            raise NotAcceptable("FHIR XML is not produced here; the document itself is XML without _format")
        if kind not in _FORMAT_ALIASES and kind not in served:
            raise NotAcceptable(
                f"_format '{format_param}' is not a format of this document: json (the Binary resource), "
                f"{' or '.join(sorted(served))}, or none (the document as it is)"
            )
        return
    # Only FHIR asked for, and none of it this server's (FHIR XML, or another version's JSON):
    # the document itself is not what the client can read.
    json = (FHIR_JSON, PLAIN_JSON)
    asked = [(media, q) for media, q in _ranges(accept or "") if q > 0 or media in json]  # a version's JSON: q 0
    only_fhir = bool(asked) and all(media in _FHIR_TYPES for media, _ in asked)
    if only_fhir and not any(q > 0 and media in json for media, q in asked):
        raise NotAcceptable(
            "Only FHIR formats this server does not produce are accepted: accept application/fhir+json "
            "(FHIR R4) for the Binary resource, or the document's own type"
        )
    # An Accept that does not name what is served may be disregarded; one that rules it out
    # (q=0, RFC 9110 section 12.4.2) may not.
    if served is CDA_FORMATS:
        names = CDA_REPRESENTATIONS[1] if wants_html(None, accept) else CDA_REPRESENTATIONS[0]
    else:
        names = tuple(f for f in sorted(served) if "/" in f)
    if accept and names and _standing(names, _ranges(accept))[0] == 0:
        raise NotAcceptable(f"This document is {names[0]}, which the Accept header rules out (q=0)")


def _quality(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0
