"""What NexHealth's refusal of a patient write says, read from its words (pure).

The docs show no write body, no error body and no value of gender (vendor-docs/
nexhealth-patients.txt lists a create's required fields only), so a refusal is worded by
whatever framework the implementation is built on. Two things in it decide the next write:

- Keys it does not take. An implementation may declare its own body and refuse any other key,
  naming it: Rails' `action_on_unpermitted_parameters = :raise` ("found unpermitted parameters:
  :bio, :gender", keys without their paths), NestJS's `forbidNonWhitelisted` ("property bio
  should not exist", "patient.property bio should not exist" in a nested object), FastAPI's
  `extra="forbid"` ("patient.bio: Extra inputs are not permitted", as the client reads its
  `loc`), Joi ('"bio" is not allowed'), marshmallow and Django REST Framework ("bio: Unknown
  field.", "Unknown field(s): bio"), Zod's `.strict()` ("Unrecognized key(s) in object:
  'bio'"), Go's `DisallowUnknownFields` ('json: unknown field "bio"'), Jackson ('Unrecognized
  field "bio" (class ...)') and System.Text.Json ("The JSON property 'bio' could not be mapped
  to any .NET member").
- The values a field takes, where it lists them: "must be one of F, M, O" (the simulator's, and
  Joi's "must be one of [F, M, O]"), class-validator's "must be one of the following values:
  F, M, O", Pydantic's "Input should be 'F', 'M' or 'O'", marshmallow's "Must be one of: F, M,
  O.", Zod's "Expected 'F' | 'M' | 'O', received 'Female'", Jackson's "not one of the values
  accepted for Enum class: [F, M, O]". Rails' "is not included in the list" lists none.
"""

from __future__ import annotations

import re

__all__ = ["listed_values", "names_unknown_key", "parts", "unknown_keys"]

# The client's prefix to a refusal's messages (gateway.upstream.errors.error_for_status).
_PREFIX = "the vendor rejected the request:"

_KEYS = r"[\w.]+(?:\s*,\s*:?[\w.]+)*"
# Each framework's words for a key it does not take: `path` a key's dotted path, or `keys` a
# comma-separated list of keys without paths, or `parent` and `key`.
_UNKNOWN_KEY_WORDS = (
    re.compile(rf"found unpermitted parameters?:\s*:?(?P<keys>{_KEYS})"),
    re.compile(r"^(?:(?P<parent>[\w.]+)\.)?property (?P<key>\w+) should not exist$"),
    re.compile(r"^(?P<path>[\w.]+): extra inputs are not permitted\.?$"),
    re.compile(r'^"(?P<path>[\w.]+)" is not allowed$'),
    re.compile(r"^(?P<path>[\w. ]+?):? unknown field\.?$"),
    re.compile(rf"^unknown fields?(?:\(s\))?:\s*(?P<keys>{_KEYS})\.?$"),
    re.compile(r'unknown field "(?P<path>[\w.]+)"'),
    re.compile(r'unrecognized field "(?P<path>[\w.]+)"'),
    re.compile(r"json property '(?P<path>[\w.]+)' could not be mapped"),
    re.compile(r"unrecognized keys?(?:\(s\))? in object:\s*(?P<keys>'[\w.]+'(?:\s*,\s*'[\w.]+')*)"),
)

# Where a message starts listing the values a field takes; Jackson's "not one of the values
# accepted for Enum class: [...]" is not the bare "one of" before it.
_LIST_STARTS = re.compile(
    r"(?:one of the following values:|one of:|one of(?! the values)|input should be"
    r"|values accepted for enum class:|\bexpected)\s*(?P<values>.+?)(?:,\s*received\b.*)?$",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"|`([^`]*)`")
_LIST_SEPARATORS = re.compile(r",|\||\bor\b")


def parts(diagnostics: str) -> list[str]:
    """A refusal's messages (the client joins them with "; "), without the client's prefix."""
    found = []
    for part in diagnostics.split(";"):
        text = part.strip()
        if text.lower().startswith(_PREFIX):
            text = text[len(_PREFIX) :].strip()
        if text:
            found.append(text)
    return found


def _unknown_in(part: str) -> list[str]:
    said = part.lower()
    for words in _UNKNOWN_KEY_WORDS:
        named = words.search(said)
        if named is None:
            continue
        groups = named.groupdict()
        if groups.get("keys"):
            return [key.strip(" :'") for key in groups["keys"].split(",") if key.strip(" :'")]
        if groups.get("key"):
            return [f"{groups['parent']}.{groups['key']}" if groups.get("parent") else groups["key"]]
        return [".".join(groups["path"].split())]  # marshmallow's nested fields, as read: "patient bio"
    return []


def unknown_keys(diagnostics: str) -> list[str]:
    """The body keys a refusal names as keys NexHealth does not take: each as the dotted path
    it gives (`patient.bio`), or the bare key where its framework gives no path (Rails, DRF)."""
    return [key for part in parts(diagnostics) for key in _unknown_in(part)]


def names_unknown_key(part: str) -> bool:
    """Whether one of a refusal's messages names a key NexHealth does not take."""
    return bool(_unknown_in(part))


def listed_values(diagnostics: str, field: str) -> list[str] | None:
    """The values a refusal lists as the ones `field` takes (exact case, as listed), from the
    first of its messages naming `field` that lists two or more; None where none does."""
    for part in parts(diagnostics):
        if field not in part.lower():
            continue
        listed = _LIST_STARTS.search(part)
        if listed is None:
            continue
        text = listed["values"]
        quoted = ["".join(groups) for groups in _QUOTED.findall(text)]
        values = quoted or [value.strip(" []().") for value in _LIST_SEPARATORS.split(text)]
        values = [value for value in values if value]
        if len(values) >= 2:
            return values
    return None
