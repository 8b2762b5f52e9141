"""Access tokens: a bearer JWT verified against its issuer's keys (RFC 7519, RFC 8725).

Checked: the algorithm is on the allow-list (asymmetric only: `none` and HMAC are refused, so
a public key can never be used as an HMAC secret) and is one the key the header's `kid` names
signs with (an RSA key RS*/PS*, an EC key the ES algorithm of its curve); the signature;
`iss`; `aud` (the tenant's FHIR base URL); `exp` and `nbf`, with a small clock skew, and they
and `iat` are numbers; every claim is Unicode text. What a refusal says never includes the
token or its claims.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from gateway.auth.decision import Caller
from gateway.auth.keys import RSA_MIN_BITS, KeySource, fits, too_short
from gateway.auth.scopes import parse_scopes
from gateway.search.parse import is_fhir_id
from gateway.text import is_text

_ALG_NAME = re.compile(r"[A-Za-z0-9+_-]{1,16}")
ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")


class InvalidToken(Exception):
    """The bearer token is not acceptable; the message is safe to show the client."""


@dataclass(frozen=True)
class Trust:
    """An issuer this tenant accepts tokens from."""

    issuer: str
    audience: str  # the tenant's FHIR base URL
    keys: KeySource
    algorithms: tuple[str, ...] = ASYMMETRIC
    leeway: float = 30.0  # seconds of clock skew tolerated on exp/nbf/iat


async def verify(token: str, trust: Trust) -> dict[str, Any]:
    """The claims of `token`, or InvalidToken saying what is wrong with it."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError:
        raise InvalidToken("the access token is not a JWT") from None
    algorithm = header.get("alg")
    if algorithm not in trust.algorithms or algorithm not in ASYMMETRIC:
        # Named only when it looks like an algorithm's name: the header is the sender's text.
        shown = f"'{algorithm}'" if isinstance(algorithm, str) and _ALG_NAME.fullmatch(algorithm) else "this alg"
        raise InvalidToken(f"tokens signed with {shown} are not accepted")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise InvalidToken("the token's 'kid' is not a string")
    key = await trust.keys.key(kid)
    if key is None:
        raise InvalidToken("the token is signed with a key the issuer does not publish")
    if not fits(key, algorithm):
        raise InvalidToken(f"the token's algorithm '{algorithm}' is not one its key signs with")
    if too_short(key):
        raise InvalidToken(f"the token is signed with an RSA key shorter than {RSA_MIN_BITS} bits")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=[algorithm],
            audience=trust.audience,
            issuer=trust.issuer,
            leeway=trust.leeway,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("the access token has expired") from None
    except jwt.ImmatureSignatureError:
        raise InvalidToken("the access token is not valid yet") from None
    except jwt.InvalidAudienceError:
        raise InvalidToken("the access token is not for this server (aud)") from None
    except jwt.InvalidIssuerError:
        raise InvalidToken("the access token's issuer is not trusted here (iss)") from None
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidToken(f"the access token has no '{exc.claim}' claim") from None
    except jwt.InvalidSignatureError:
        raise InvalidToken("the access token's signature does not verify") from None
    except (jwt.PyJWTError, TypeError, ValueError):
        # TypeError, ValueError: what a key the library cannot use raises, should one get past
        # `fits`; an unacceptable token all the same, never a 500.
        raise InvalidToken("the access token is malformed") from None
    check_text(claims)
    named = not_numeric_date(claims)
    if named is not None:
        raise InvalidToken(f"the access token's '{named}' is not a NumericDate (a JSON number)")
    return claims


def not_numeric_date(claims: Mapping[str, Any]) -> str | None:
    """The first of `exp`, `nbf`, `iat` present but not a NumericDate, or None. RFC 7519
    section 2: a NumericDate is a JSON number of seconds; "1765000000", true or NaN are not
    (the JWT library reads them with int(), so a string would pass its checks)."""
    for name in ("exp", "nbf", "iat"):
        if name not in claims:
            continue
        value = claims[name]
        number = isinstance(value, int) and not isinstance(value, bool)
        if not (number or (isinstance(value, float) and math.isfinite(value))):
            return name
    return None


def check_text(claims: Mapping[str, Any]) -> None:
    """InvalidToken unless every claim is Unicode text: one holding a lone surrogate (a JSON
    escape UTF-8 cannot carry) is no client id or subject the gateway could record or answer."""
    if not is_text(claims):
        raise InvalidToken("the access token's claims are not valid Unicode text (a lone surrogate)")


def caller_from(claims: Mapping[str, Any], tenants: frozenset[str], patient_claim: str = "patient") -> Caller:
    """Who the token speaks for. `scope` is a space-separated string (RFC 9068 §2.2.3); some
    issuers send a list as `scp`. The client is `client_id` (RFC 9068), else `azp`, else `sub`."""
    raw_scope = claims.get("scope", claims.get("scp", ""))
    scope = " ".join(str(s) for s in raw_scope) if isinstance(raw_scope, list) else str(raw_scope)
    client = claims.get("client_id") or claims.get("azp") or claims.get("sub") or "unknown"
    subject = claims.get("fhirUser") or claims.get("sub")
    return Caller(
        client_id=str(client),
        subject=str(subject) if subject is not None else None,
        scopes=parse_scopes(scope),
        patient=launch_patient(claims.get(patient_claim)),
        tenants=tenants,
        issuer=str(claims.get("iss") or ""),
    )


def launch_patient(claim: Any) -> str | None:
    """The launch-context patient id, or None when the claim is not one FHIR id (an empty
    string, a list, `p1,p2` or `*` must narrow `patient/` scopes to nothing, never widen them)."""
    if not isinstance(claim, str):
        return None
    identifier = claim.removeprefix("Patient/")
    return identifier if is_fhir_id(identifier) else None
