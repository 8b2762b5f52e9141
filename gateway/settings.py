"""Configuration: a TOML file of server settings and tenants; secrets from the environment.

Credentials are never written in the file itself: a credential value is a reference,
`env:NAME` (an environment variable) or `file:/path` (a file's contents, e.g. a mounted
secret). With no file, the embedded demo configuration is used (`gateway/demo.toml`): every
tenant there is backed by its vendor's sandbox, started on loopback with fresh credentials.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gateway.auth.scopes import Context, parse_resource_scope
from gateway.contract.zones import ZoneName

DEMO_CONFIG = Path(__file__).with_name("demo.toml")
CONFIG_ENV = "FHIR_GATEWAY_CONFIG"


class ConfigError(Exception):
    """The configuration cannot be used; the message says what to fix."""


class _Strict(BaseModel):
    # TOML has typed values, so a setting of the wrong type is a mistake in the file: `port =
    # "18080"` is refused, not converted (strict), as an unknown key is (extra="forbid").
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class TimeoutSettings(_Strict):
    connect: float = Field(3.0, gt=0)
    read: float = Field(10.0, gt=0)
    total: float = Field(20.0, gt=0)


class ServerMetadata(_Strict):
    """What an external authorization server supports that its endpoints do not tell: its
    grant types, how clients authenticate, the scopes and client kinds it grants (SMART App
    Launch 2.0 conformance.html names these). Left unset, `.well-known/smart-configuration`
    claims none of it: the gateway cannot know another server's features."""

    grant_types_supported: list[str] | None = Field(None, min_length=1)  # default: authorization_code
    #   with an authorization endpoint, else client_credentials
    token_endpoint_auth_methods_supported: list[str] | None = None
    token_endpoint_auth_signing_alg_values_supported: list[str] | None = None
    scopes_supported: list[str] | None = None
    capabilities: list[str] = Field(default_factory=list)  # added to those this gateway enforces


class TenantAuthSettings(_Strict):
    """An authorization server this tenant trusts (any OIDC provider, or the EHR's): its access
    tokens are JWTs signed with the keys it publishes."""

    issuer: str
    jwks_uri: str | None = None  # JWT access tokens, checked against the issuer's keys...
    jwks_file: str | None = None
    # ...or any access token, checked by asking the issuer (RFC 7662), as this client of it
    introspection_endpoint: str | None = None
    introspection_client_id: str | None = None
    introspection_client_secret: str | None = None  # env:/file: reference
    introspection_cache_seconds: float = Field(30.0, ge=0, le=300)
    # An introspection answer must name this tenant's audience (`aud`): RFC 7662 section 2.2
    # makes `aud` optional, and an answer without it says nothing of which resource server the
    # token is for, so another tenant trusting the same issuer would accept it too (RFC 6750
    # section 5.2). true accepts answers without `aud` (one naming another audience stays
    # refused), giving up that check: only for an issuer no other tenant trusts (Settings
    # refuses it otherwise), whose every token is then good for this tenant.
    introspection_aud_optional: bool = False
    audience: str | None = None  # default: the tenant's FHIR base URL (server.public_base_url)
    token_endpoint: str  # advertised in .well-known/smart-configuration, where clients get tokens
    authorization_endpoint: str | None = None  # for apps that launch with a user (authorization code)
    patient_claim: str = "patient"  # the claim holding the launch-context patient id
    advertise: ServerMetadata = ServerMetadata()  # what discovery says of the server beyond its endpoints

    @model_validator(mode="after")
    def _one_key_source(self) -> TenantAuthSettings:
        if sum(x is not None for x in (self.jwks_uri, self.jwks_file, self.introspection_endpoint)) != 1:
            raise ValueError("give exactly one of jwks_uri, jwks_file and introspection_endpoint")
        if "sso-openid-connect" in self.advertise.capabilities and self.jwks_uri is None:
            # SMART App Launch 2.0 conformance.html: with it, jwks_uri is required in discovery.
            raise ValueError("advertise.capabilities names sso-openid-connect: give the issuer's jwks_uri")
        if self.introspection_endpoint and not (self.introspection_client_id and self.introspection_client_secret):
            raise ValueError("introspection_endpoint needs introspection_client_id and introspection_client_secret")
        if self.introspection_client_secret is not None:
            secret_reference(self.introspection_client_secret, "introspection_client_secret")
        if self.introspection_aud_optional and self.introspection_endpoint is None:
            raise ValueError("introspection_aud_optional applies to introspection_endpoint only (JWTs need aud)")
        return self


class RetrySettings(_Strict):
    """Retries of idempotent vendor calls (gateway.contract.resilience.RetryPolicy)."""

    attempts: int = Field(3, ge=1, le=5)
    base_delay: float = Field(0.05, ge=0)
    max_delay: float = Field(1.0, ge=0)
    budget_ratio: float = Field(0.2, ge=0, le=1)


class BreakerSettings(_Strict):
    """The vendor connection's circuit breaker (gateway.contract.resilience.BreakerPolicy)."""

    window: float = Field(10.0, gt=0)
    min_calls: int = Field(20, ge=1)
    failure_ratio: float = Field(0.5, gt=0, le=1)
    consecutive: int = Field(5, ge=1)
    open_for: float = Field(5.0, gt=0)


class CacheSettings(_Strict):
    """The tenant's vendor response cache (gateway.cache): off unless enabled."""

    enabled: bool = False
    ttl: float = Field(30.0, gt=0, le=86_400)  # seconds an answer is fresh
    max_entries: int = Field(10_000, ge=1)
    stale_for: float = Field(300.0, ge=0)  # seconds past freshness it still answers while the vendor is down


class TenantSettings(_Strict):
    vendor: str
    base_url: str = ""
    sandbox: bool = False  # demo: serve this tenant from its vendor's simulator on loopback
    timezone: ZoneName = "UTC"
    identifier_system: str | None = None
    organization: str | None = None  # the practice's name, as custodian of generated documents
    options: dict[str, Any] = Field(default_factory=dict)
    credentials: dict[str, str] = Field(default_factory=dict)
    timeouts: TimeoutSettings = TimeoutSettings()
    max_connections: int = Field(64, ge=1)
    retry: RetrySettings = RetrySettings()
    cache: CacheSettings = CacheSettings()
    # Answers carry PHI: "no-store" keeps them out of every cache; "private" lets the client's
    # own cache keep them, revalidated on each use (Cache-Control: private, no-cache).
    client_caching: Literal["no-store", "private"] = "no-store"
    breaker: BreakerSettings = BreakerSettings()
    auth: TenantAuthSettings | None = None  # with server.auth = "smart"
    # Origins of browser apps that may call this tenant (CORS), e.g. "https://app.example.org".
    cors_origins: list[str] = Field(default_factory=list)
    # false: this tenant being down shows in /readyz but does not make the gateway unready (a
    # tenant whose outage should not take the other tenants out of a load balancer).
    required_for_readiness: bool = True

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            scheme, sep, rest = origin.partition("://")
            if scheme not in ("http", "https") or not sep or not rest or "/" in rest:
                raise ValueError(f"'{origin}' is not an origin: scheme://host[:port], no path (and no '*')")
        return value

    @field_validator("credentials")
    @classmethod
    def _references_only(cls, value: dict[str, str]) -> dict[str, str]:
        for key, ref in value.items():
            secret_reference(ref, f"credential '{key}'")
        return value


class ServerSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    public_base_url: str | None = None  # set when a proxy changes scheme/host/path
    # Host header values the gateway answers to ("name" any port, "name:port" one); others are a
    # 400 (the probes answer any). Unset: on loopback the loopback names, with public_base_url's
    # host where DNS rebinding could read something (gateway.rest.hosts); off loopback this or
    # public_base_url is required.
    allowed_hosts: list[str] | None = None
    paging_secret: str | None = None  # env:/file: reference; random per process if unset
    # Where OAuth refresh tokens are kept (one 0600 file per tenant); sandbox tenants use a
    # temporary directory of their own.
    token_store: str = "~/.local/state/fhir-gateway/tokens"
    # Fernet keys (env:/file: references) that encrypt the stored refresh tokens; the first
    # encrypts, all decrypt (rotation: put the new key first). Required with OAuth tenants.
    token_store_keys: list[str] = Field(default_factory=list)
    log_level: str = "info"
    # "none": no authorization, accepted only on a loopback address (the demo). "smart": every
    # FHIR endpoint but metadata and .well-known/smart-configuration needs a bearer token.
    auth: Literal["none", "smart"] = "none"
    # Addresses of reverse proxies whose X-Forwarded-For/-Proto are believed (uvicorn's
    # forwarded_allow_ips); from anyone else those headers are ignored.
    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"])
    # Seconds a client has to send a request's headers, and its body: slower ones are dropped.
    header_timeout: float = Field(10.0, gt=0)
    body_timeout: float = Field(30.0, gt=0)
    # Seconds a read, search or operation has in all, however many vendor calls it makes one
    # after another (pages, a renewal and a re-send): past it, a 504. Below the 60 s a reverse
    # proxy commonly waits (nginx's proxy_read_timeout), so the client gets the gateway's
    # OperationOutcome rather than the proxy's page. Writes are not cut short: one cut off
    # after it was sent would leave the client unsure whether it was made.
    request_timeout: float = Field(55.0, gt=0)
    # Serve HTTPS directly (PEM files); behind a TLS-terminating proxy leave them unset.
    tls_certfile: str | None = None
    tls_keyfile: str | None = None
    # Where workers and replicas share vendor tokens, rate limits, breakers, the cache and the
    # audit sequence: unset, this process's memory (one worker); else a Redis URL given as an
    # env:/file: reference (it may carry a password), e.g. env:FHIR_GATEWAY_REDIS_URL holding
    # redis://:password@redis:6379/0. Required for more than one worker.
    shared_state: str | None = None
    # Prefix of the gateway's keys in Redis: two gateways (staging, production) sharing one
    # Redis must each have their own, or they would share their tenants' tokens and limits.
    shared_state_prefix: str = Field("fhir-gateway:", min_length=1, max_length=64)
    workers: int = Field(1, ge=1, le=64)  # processes serving the port (`serve --workers N`)
    # "own": each worker listens on its own socket and the system spreads connections over them;
    # "shared": one socket, whose waiting connections outlive a worker's restart (gateway.worker_sockets)
    worker_sockets: Literal["own", "shared"] = "own"

    @field_validator("allowed_hosts")
    @classmethod
    def _host_names(cls, value: list[str] | None) -> list[str] | None:
        for entry in value or ():
            if not re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?", entry):
                raise ValueError(f"allowed_hosts: '{entry}' is not a host name or name:port (no scheme, no path)")
        return value

    @model_validator(mode="after")
    def _tls_pair(self) -> ServerSettings:
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise ValueError("tls_certfile and tls_keyfile go together")
        return self

    @model_validator(mode="after")
    def _workers_share(self) -> ServerSettings:
        if self.workers > 1 and not self.shared_state:
            raise ValueError(
                "workers > 1 needs server.shared_state (a Redis URL): without it each worker would spend "
                "a vendor's whole rate limit and renew its tokens on its own"
            )
        return self

    @field_validator("paging_secret")
    @classmethod
    def _paging_reference(cls, value: str | None) -> str | None:
        return None if value is None else secret_reference(value, "paging_secret")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, value: list[str]) -> list[str]:
        # What uvicorn's forwarded_allow_ips matches a TCP peer against: addresses and networks
        # (parsed strictly: `10.1.0.1/16` is no network to it), or "*" alone. Anything else it
        # keeps as a literal no peer address equals, so the proxy's X-Forwarded-For was ignored
        # without a word and every client recorded as the proxy.
        if "*" in value and value != ["*"]:
            raise ValueError("'*' (trust every peer) stands alone, or not at all")
        for entry in value:
            if entry != "*":
                try:
                    ipaddress.ip_network(entry)
                except ValueError:
                    raise ValueError(f"'{entry}' is not an address or a network (CIDR, no host bits set)") from None
        return value

    @field_validator("token_store_keys")
    @classmethod
    def _key_references(cls, value: list[str]) -> list[str]:
        return [secret_reference(key, "each of token_store_keys") for key in value]

    @field_validator("public_base_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is not None:
            _check_http_url(value, "public_base_url")
            if urlsplit(value).query or urlsplit(value).fragment:
                raise ValueError("public_base_url is a base: no query or fragment")
        return value


class ClientSettings(_Strict):
    """A backend-services client (SMART Backend Services: an HIE, a system integrator) of the
    gateway's own token endpoint: it proves itself with a JWT signed by a key of its JWKS."""

    client_id: str
    jwks: dict[str, Any] | None = None  # inline JWK Set (public keys)
    jwks_file: str | None = None
    jwks_uri: str | None = None
    scopes: list[str]  # the system/ scopes it may be granted
    tenants: list[str]  # the tenants its tokens open

    @model_validator(mode="after")
    def _one_key_source(self) -> ClientSettings:
        if sum(x is not None for x in (self.jwks, self.jwks_file, self.jwks_uri)) != 1:
            raise ValueError(f"client '{self.client_id}': give exactly one of jwks, jwks_file and jwks_uri")
        for scope in self.scopes:
            parsed = parse_resource_scope(scope)
            if parsed is None or parsed.context is not Context.SYSTEM:
                raise ValueError(f"client '{self.client_id}': '{scope}' is not a system/ resource scope")
        return self


class AuthServerSettings(_Strict):
    """The gateway's own authorization server for backend services (`/auth/token`)."""

    # PEM private keys (env:/file: references), RSA or EC P-384: the first signs access tokens,
    # all are published at /auth/jwks (add the new key first, drop the old one after a token lifetime).
    signing_keys: list[str] = Field(min_length=1)
    token_lifetime: int = Field(300, ge=30, le=3600)  # seconds
    clients: list[ClientSettings] = Field(default_factory=list)


class AuditSettings(_Strict):
    """Where the audit trail goes: one AuditEvent JSON line per FHIR request."""

    sink: Literal["stdout", "file", "off"] = "stdout"
    path: str = "~/.local/state/fhir-gateway/audit.jsonl"  # with sink = "file"
    max_bytes: int = Field(50_000_000, ge=10_000)  # rotated past this size
    backups: int = Field(10, ge=1)  # rotated files kept
    # false (the default): a request that cannot be audited is answered 503. true serves it
    # unaudited (and logs the failure): for a demo, never for patient data.
    fail_open: bool = False


class ObservabilitySettings(_Strict):
    """Metrics, probes, logs and traces (gateway.observability; the README's Operations)."""

    log_format: Literal["json", "text"] = "json"  # json: one object per line; text: for people
    # Who may read /metrics (and the status page's figures): a bearer token (env:/file:
    # reference) and/or client networks; with both, both are needed. [] allows any network.
    metrics_token: str | None = None
    metrics_networks: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])
    # Where spans go (OTLP over HTTP, e.g. "http://otel-collector:4318"); unset, the standard
    # OTEL_EXPORTER_OTLP_ENDPOINT is used, and without either tracing is off.
    otlp_endpoint: str | None = None
    service_name: str = "fhir-gateway"
    # Continue a caller's W3C `traceparent` (never its `tracestate`, which could carry anything
    # into the trace backend). Off by default: a client could otherwise pick trace ids that
    # collide with others in the logs, or mark its requests unsampled to hide them.
    trust_incoming_trace: bool = False
    # /readyz: a tenant is usable if its vendor answered within this many seconds, else it is
    # probed (a connection to the vendor's host), the answer kept as long.
    readiness_window: float = Field(30.0, gt=0)

    @field_validator("otlp_endpoint")
    @classmethod
    def _otlp_url(cls, value: str | None) -> str | None:
        if value is not None:
            _check_http_url(value, "otlp_endpoint")
        return value

    @field_validator("metrics_token")
    @classmethod
    def _token_reference(cls, value: str | None) -> str | None:
        return None if value is None else secret_reference(value, "metrics_token")

    @field_validator("metrics_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"metrics_networks: '{network}' is not an address or network (CIDR)") from None
        return value


class PagingSettings(_Strict):
    default_count: int = Field(20, ge=1)
    max_count: int = Field(100, ge=1)

    @model_validator(mode="after")
    def _default_within_max(self) -> PagingSettings:
        if self.default_count > self.max_count:
            raise ValueError("default_count may not exceed max_count")
        return self


class Settings(_Strict):
    server: ServerSettings = ServerSettings()
    paging: PagingSettings = PagingSettings()
    auth: AuthServerSettings | None = None
    audit: AuditSettings = AuditSettings()
    observability: ObservabilitySettings = ObservabilitySettings()
    tenants: dict[str, TenantSettings]

    @field_validator("tenants")
    @classmethod
    def _tenant_names(cls, value: dict[str, TenantSettings]) -> dict[str, TenantSettings]:
        for name in value:
            # ASCII only: str.isalnum takes 'é' and '٣', and a name is a URL path segment. The
            # name is quoted as Python writes it, so a newline in it cannot split the message.
            if not re.fullmatch(r"[a-z0-9-]+", name):
                raise ValueError(f"tenant name {name!r} must be lower-case letters a-z, digits and '-'")
        return value

    @model_validator(mode="after")
    def _vendor_calls_end_within_the_request(self) -> Settings:
        # A vendor call the request's limit cuts off is cancelled, not counted as the vendor's
        # failure: with a total at or past the limit no call to a hanging vendor would ever fail,
        # its breaker never open, and each request wait out the limit for a 504.
        limit = self.server.request_timeout
        for name, tenant in self.tenants.items():
            if tenant.timeouts.total >= limit:
                raise ValueError(
                    f"tenant '{name}': timeouts.total ({tenant.timeouts.total:g} s) must be under "
                    f"server.request_timeout ({limit:g} s), or a vendor that hangs never opens its breaker"
                )
        return self

    @model_validator(mode="after")
    def _smart_needs_issuers(self) -> Settings:
        if self.auth is not None:
            if self.server.public_base_url is None:
                raise ValueError("[auth] needs server.public_base_url: it names the token endpoint and issuer")
            for client in self.auth.clients:
                unknown = sorted(set(client.tenants) - set(self.tenants))
                if unknown:
                    raise ValueError(f"client '{client.client_id}': no tenant {', '.join(unknown)}")
        if self.server.auth != "smart":
            return self
        for name, tenant in self.tenants.items():
            if tenant.auth is None and self.auth is None:
                raise ValueError(
                    f"tenant '{name}': server.auth is \"smart\", so the tenant needs [tenants.{name}.auth] "
                    "(issuer and jwks_uri or jwks_file of the authorization server whose tokens it accepts), "
                    "or the gateway's own [auth] server"
                )
            if tenant.auth is not None and tenant.auth.audience is None and self.server.public_base_url is None:
                raise ValueError(
                    f"tenant '{name}': set server.public_base_url (tokens are for the tenant's FHIR base URL) "
                    "or the tenant's auth.audience"
                )
        self._aud_optional_only_alone()
        return self

    def _aud_optional_only_alone(self) -> None:
        """A tenant that accepts introspection answers without `aud` must be the only one asking
        that issuer: any token the issuer vouches for would open it, so a token a client got for
        another tenant of the same issuer would too."""
        for name, tenant in self.tenants.items():
            auth = tenant.auth
            if auth is None or not auth.introspection_aud_optional:
                continue
            for other_name, other in self.tenants.items():
                if other_name == name or other.auth is None:
                    continue
                if other.auth.issuer == auth.issuer or other.auth.introspection_endpoint == auth.introspection_endpoint:
                    raise ValueError(
                        f"tenant '{name}': introspection_aud_optional = true, but tenant '{other_name}' trusts the "
                        "same issuer; a token for either would open both. Have the issuer name the audience (aud)"
                    )


def secret_reference(value: str, name: str) -> str:
    """`value`, a reference to a secret (`env:NAME` or `file:/path`); never a literal one in the
    file, and never echoed when refused (what stands there may be the secret)."""
    if not value.startswith(("env:", "file:")):
        raise ValueError(f"{name} must be 'env:NAME' or 'file:/path', not a literal secret")
    return value


def _check_http_url(value: str, name: str) -> None:
    """An absolute http(s) URL with a host, no spaces, and no credentials in it."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise ValueError(f"{name} must be an absolute http(s) URL (scheme://host[:port]/path)")
    if "@" in parts.netloc:
        raise ValueError(f"{name} may not hold credentials (user:password@)")


def resolve_secret(reference: str) -> str:
    kind, _, target = reference.partition(":")
    if kind == "env":
        value = os.environ.get(target)
        if not value:
            raise ConfigError(f"environment variable {target} is not set")
        return value
    if kind == "file":
        try:
            value = Path(target).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"cannot read secret file {target}: {exc.strerror}") from None
        if not value:
            raise ConfigError(f"secret file {target} is empty")
        return value
    # Never the value itself: what was written where a reference belongs may be the secret.
    raise ConfigError("a secret must be given as 'env:NAME' or 'file:/path', not a literal value")


# The paging secret keys AES-GCM and an HMAC through SHA-256: a shorter one could be guessed
# offline from any paging link, and then links forged (RFC 2104 section 3: a key shorter than
# the hash output weakens it).
PAGING_SECRET_MIN_CHARACTERS = 32


def resolve_paging_secret(reference: str) -> str:
    """The paging secret `reference` names, refused when too short to hold up."""
    value = resolve_secret(reference)
    if len(value) < PAGING_SECRET_MIN_CHARACTERS:
        raise ConfigError(
            f"the secret has fewer than {PAGING_SECRET_MIN_CHARACTERS} characters "
            "(make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return value


def load_settings(path: str | Path | None = None) -> Settings:
    """Settings from `path`, else from $FHIR_GATEWAY_CONFIG, else the embedded demo."""
    chosen = Path(path) if path else Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else DEMO_CONFIG
    try:
        raw = tomllib.loads(chosen.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read config {chosen}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {chosen} is not valid TOML: {exc}") from None
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        problems = "\n".join(_problem(error) for error in exc.errors())
        raise ConfigError(f"config {chosen} is invalid:\n{problems}") from None


def _problem(error: Any) -> str:
    """One line per problem, naming the tenant and key; never the value given, which may be a
    secret pasted where a reference belongs."""
    location = [str(part) for part in error["loc"]]
    where = ".".join(location)
    if len(location) >= 2 and location[0] == "tenants":
        where = f"tenant '{location[1]}': " + (".".join(location[2:]) or "(the tenant)")
    # A validator's message may name its key too ("key: ..." or "key must ..."): said once, as
    # the location.
    message = str(error["msg"]).removeprefix("Value error, ")
    if location:
        message = message.removeprefix(f"{location[-1]}: ").removeprefix(f"{location[-1]} ")
    if error["type"] == "extra_forbidden":
        message = "not a setting this gateway knows (check its spelling)"
    elif error["type"] == "missing":
        message = "required"
    return f"{where}: {message}"
