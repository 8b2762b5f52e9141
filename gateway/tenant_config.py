"""Each tenant's configuration checked against its vendor, before anything starts.

`check_tenants` reports every problem of a configuration at once, each naming the tenant and
the key: an unknown vendor, a missing or mistyped option, a missing, unknown or unresolvable
credential, a sandbox tenant whose simulator is not installed. `fhir-gateway check-config`
and start-up both run it; `adapter_config` then builds what a vendor's adapter is made from.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import TypeAdapter, ValidationError

from gateway.contract import AdapterConfig, Drift, SandboxFactory, TenantContext, Vendor
from gateway.contract.resilience import BreakerPolicy, Resilience, RetryPolicy
from gateway.settings import ConfigError, Settings, TenantSettings, resolve_paging_secret, resolve_secret
from gateway.shared.state import SharedState
from gateway.upstream.token_store import TokenStore, TokenStoreError


def check_tenants(
    settings: Settings, vendors: Mapping[str, Vendor[Any]], sandboxes: Mapping[str, SandboxFactory]
) -> None:
    problems: list[str] = []
    if settings.server.paging_secret:
        try:
            resolve_paging_secret(settings.server.paging_secret)
        except ConfigError as exc:
            problems.append(f"server.paging_secret: {exc}")
    keys_problem = _token_key_problem(settings)
    if keys_problem:
        problems.append(f"server.token_store_keys: {keys_problem}")
    if settings.server.shared_state:
        try:
            shared_state_url(settings)
        except ConfigError as exc:
            problems.append(f"server.shared_state: {exc}")
        if not settings.server.token_store_keys:
            problems.append(
                "server.token_store_keys: required with server.shared_state (vendor tokens kept in Redis are "
                "sealed with them)"
            )
    for name, conf in settings.tenants.items():
        problems += [f"tenant '{name}': {p}" for p in _problems(conf, vendors, sandboxes)]
        vendor = vendors.get(conf.vendor)
        if (
            vendor is not None
            and vendor.oauth is not None
            and not conf.sandbox
            and not settings.server.token_store_keys
        ):
            problems.append(
                f"tenant '{name}': {conf.vendor} grants are refresh tokens kept on disk, encrypted: set "
                "server.token_store_keys (a new key: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())', kept in a file or the environment)"
            )
    if problems:
        raise ConfigError("\n".join(problems))


def token_keys(settings: Settings) -> tuple[str, ...]:
    """The resolved keys that encrypt stored refresh tokens (first encrypts)."""
    return tuple(resolve_secret(reference) for reference in settings.server.token_store_keys)


def shared_state_url(settings: Settings) -> str | None:
    """The Redis URL of `server.shared_state` (None: this process's memory). A URL may be given
    literally only without a password; one with a password is an env:/file: reference."""
    reference = settings.server.shared_state
    if not reference:
        return None
    url = resolve_secret(reference) if reference.startswith(("env:", "file:")) else reference
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ConfigError("not a Redis URL (redis://host:port/db, rediss:// for TLS, or unix:///path)")
    if parts.password and url == reference:
        raise ConfigError("a URL with a password must be an env:NAME or file:/path reference, not a literal")
    return url


def _token_key_problem(settings: Settings) -> str | None:
    try:
        keys = token_keys(settings)
    except ConfigError as exc:
        return str(exc)
    try:
        TokenStore(Path("."), keys)
    except TokenStoreError as exc:
        return exc.diagnostics.removeprefix("server.token_store_keys: ")
    return None


def _problems(
    conf: TenantSettings, vendors: Mapping[str, Vendor[Any]], sandboxes: Mapping[str, SandboxFactory]
) -> list[str]:
    vendor = vendors.get(conf.vendor)
    if vendor is None:
        return [f"vendor: unknown vendor '{conf.vendor}' (installed: {', '.join(sorted(vendors)) or 'none'})"]
    if conf.sandbox:
        if conf.vendor not in sandboxes:
            return [
                f"sandbox: no simulator for vendor '{conf.vendor}' is installed "
                "(the demo installs them: pip install -e ./sandboxes)"
            ]
        # The sandbox supplies the rest of the options when it starts; only what is given here is checked.
        unused = [f"{key}: not used by a sandbox tenant (its simulator's own is)" for key in _set_for_a_vendor(conf)]
        return unused + [p for key, value in conf.options.items() for p in _option_value_problems(vendor, key, value)]
    problems: list[str] = []
    if not conf.base_url:
        problems.append("base_url: required unless sandbox = true")
    elif not _absolute_http_url(conf.base_url):
        # Every vendor call is made to this base; a relative one would be read against nothing.
        problems.append("base_url: must be an absolute http:// or https:// URL (e.g. https://pms.example.com/api)")
    elif "@" in urlsplit(conf.base_url).netloc:
        # A password in the URL is a literal secret in the file, printed wherever the URL is.
        problems.append("base_url: may not hold credentials (user:password@); give them in credentials")
    problems += option_problems(vendor, conf.options)
    problems += [f"credentials.{key}: {problem}" for key, problem in _credential_problems(vendor, conf.credentials)]
    return problems


def _set_for_a_vendor(conf: TenantSettings) -> list[str]:
    """The settings a sandbox tenant has that only a real vendor uses: set, they would be
    ignored without a word, and the operator believe the tenant reaches that vendor."""
    return [key for key, value in (("base_url", conf.base_url), ("credentials", conf.credentials)) if value]


def _absolute_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in url)


def option_problems(vendor: Vendor[Any], options: Mapping[str, Any]) -> list[str]:
    try:
        vendor.options.model_validate(dict(options))
    except ValidationError as exc:
        return [_option_error(vendor, error) for error in exc.errors()]
    return []


def _option_value_problems(vendor: Vendor[Any], key: str, value: Any) -> list[str]:
    """One option on its own, as the vendor's model would take it."""
    field = vendor.options.model_fields.get(key)
    if field is None:
        return [f"options.{key}: not an option of vendor '{vendor.name}'"]
    try:
        annotated: Any = Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
        TypeAdapter[Any](annotated).validate_python(value)
    except ValidationError as exc:
        return [f"options.{key}: {exc.errors()[0]['msg']}"]
    return []


def _option_error(vendor: Vendor[Any], error: Any) -> str:
    key = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"options.{key}: not an option of vendor '{vendor.name}'"
    if error["type"] == "missing":
        return f"options.{key}: required by vendor '{vendor.name}'"
    message = str(error["msg"]).removeprefix("Value error, ")  # pydantic's prefix for a validator's own error
    where = f"options.{key}" if key else "options"  # no key: a rule over several options
    return f"{where}: {message}"  # the message names the expected type, never the secret


def _credential_problems(vendor: Vendor[Any], credentials: Mapping[str, str]) -> list[tuple[str, str]]:
    problems = [(key, "required") for key in vendor.credentials if key not in credentials]
    problems += [
        (key, f"not a credential of vendor '{vendor.name}'") for key in credentials if key not in vendor.credentials
    ]
    for key, reference in credentials.items():
        if key in vendor.credentials:
            try:
                resolve_secret(reference)
            except ConfigError as exc:
                problems.append((key, str(exc)))
    return problems


def resolve_credentials(credentials: Mapping[str, str]) -> dict[str, str]:
    return {key: resolve_secret(reference) for key, reference in credentials.items()}


def tenant_context(name: str, conf: TenantSettings) -> TenantContext:
    return TenantContext(
        tenant=name,
        identifier_system=conf.identifier_system or f"urn:fhir-gateway:{name}",
        timezone=conf.timezone,
    )


def adapter_config(
    name: str,
    conf: TenantSettings,
    vendor: Vendor[Any],
    *,
    base_url: str,
    options: Mapping[str, Any],
    secrets: Mapping[str, str],
    token_store: Path,
    token_keys: tuple[str, ...] = (),
    shared: SharedState | None = None,
) -> AdapterConfig[Any]:
    """What the vendor's adapter is built from; options that do not fit the vendor's model are
    a ConfigError naming the tenant and key."""
    problems = option_problems(vendor, options)
    if problems:
        raise ConfigError("\n".join(f"tenant '{name}': {p}" for p in problems))
    return AdapterConfig(
        base_url=base_url,
        context=tenant_context(name, conf),
        options=vendor.options.model_validate(dict(options)),
        secrets=secrets,
        token_store=token_store,
        token_keys=token_keys,
        connect_timeout=conf.timeouts.connect,
        read_timeout=conf.timeouts.read,
        total_timeout=conf.timeouts.total,
        max_connections=conf.max_connections,
        resilience=Resilience(RetryPolicy(**conf.retry.model_dump()), BreakerPolicy(**conf.breaker.model_dump())),
        drift=Drift(name, vendor.name),
        shared=shared,
    )
