"""`fhir-gateway check-config` and start-up: a configuration the vendors cannot take is refused
before anything starts, with a message naming the tenant and the key."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from gateway import cli
from gateway.app import create_app
from gateway.cli import main
from gateway.settings import ConfigError, Settings
from mappings.registry import VENDORS
from sandboxes.registry import SANDBOXES

GOOD = """
[tenants.smile]
vendor = "dentalpms"
base_url = "https://pms.example.com/api/v1"
options = { org_id = "org-1" }
credentials = { api_token = "env:SMILE_TOKEN" }
"""


def _check(tmp_path: Path, text: str, *argv: str) -> int:
    """The exit status of the CLI on `text` saved as a file (FILE in `argv` names it)."""
    path = tmp_path / "gateway.toml"
    path.write_text(text)
    return main([a.replace("FILE", str(path)) for a in argv] or ["check-config", str(path)])


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMILE_TOKEN", "t0ken")


@pytest.mark.parametrize(
    "argv",
    [("check-config", "FILE"), ("check-config", "--config", "FILE"), ("--config", "FILE", "check-config")],
)
def test_every_documented_form_checks_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    code = _check(tmp_path, GOOD, *argv)
    assert code == 0
    assert "tenant smile: vendor dentalpms" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('vendor = "dentalpms"', 'vendor = "dentalpmz"'), "tenant 'smile': vendor: unknown vendor 'dentalpmz'"),
        (('{ org_id = "org-1" }', "{}"), "tenant 'smile': options.org_id: required by vendor 'dentalpms'"),
        (('{ org_id = "org-1" }', '{ org_id = "o", region = "eu" }'), "options.region: not an option of vendor"),
        (('{ api_token = "env:SMILE_TOKEN" }', "{}"), "tenant 'smile': credentials.api_token: required"),
        (('"env:SMILE_TOKEN"', '"env:NOT_SET_ANYWHERE"'), "credentials.api_token: environment variable NOT_SET"),
        (
            ('{ api_token = "env:SMILE_TOKEN" }', '{ api_token = "env:SMILE_TOKEN", key = "env:SMILE_TOKEN" }'),
            "credentials.key: not a credential of vendor 'dentalpms'",
        ),
        (('base_url = "https://pms.example.com/api/v1"', ""), "tenant 'smile': base_url: required"),
    ],
)
def test_a_bad_tenant_is_refused_naming_tenant_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: tuple[str, str], expected: str
) -> None:
    code = _check(tmp_path, GOOD.replace(*change))
    assert code == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "t0ken" not in err  # a secret's value never appears in a message


def test_a_mistyped_option_names_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (
        GOOD.replace('vendor = "dentalpms"', 'vendor = "nexhealth"')
        .replace('{ org_id = "org-1" }', '{ subdomain = "s", location_id = "main" }')
        .replace("api_token", "api_key")
    )
    code = _check(tmp_path, text)
    assert code == 2
    assert "tenant 'smile': options.location_id:" in capsys.readouterr().err


def test_sandbox_tenants_need_the_simulators_installed() -> None:
    settings = Settings.model_validate({"tenants": {"demo": {"vendor": "dentalpms", "sandbox": True}}})
    with pytest.raises(ConfigError, match="tenant 'demo': sandbox: no simulator for vendor 'dentalpms'"):
        create_app(settings, VENDORS)  # no simulators handed over: as in the production image


def test_start_up_refuses_what_check_config_refuses() -> None:
    settings = Settings.model_validate(
        {"tenants": {"x": {"vendor": "dentalpms", "base_url": "http://127.0.0.1:9", "options": {"org_id": 1}}}}
    )
    with pytest.raises(ConfigError) as refused:
        create_app(settings, VENDORS)
    assert "tenant 'x': options.org_id:" in str(refused.value)
    assert "tenant 'x': credentials.api_token: required" in str(refused.value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("options = {", "optoins = {"), "tenant 'smile': optoins: not a setting this gateway knows"),
        (('"env:SMILE_TOKEN"', '"s3cr3t-literal"'), "tenant 'smile': credentials: credential 'api_token' must be"),
        (("[tenants.smile]", '[server]\nport = "eighty"\n[tenants.smile]'), "server.port: "),
        (("[tenants.smile]", '[server]\npaging_secret = "s3cr3t-paging"\n[tenants.smile]'), "server.paging_secret: "),
        (
            ("[tenants.smile]", '[server]\ntoken_store_keys = ["s3cr3tFernetKey="]\n[tenants.smile]'),
            "server.token_store_keys: ",
        ),
        (
            ("https://pms.example.com/api/v1", "https://admin:s3cr3t@pms.example.com/api/v1"),
            "tenant 'smile': base_url: may not hold credentials",
        ),
        (("[tenants.smile]", '[server]\npublic_base_url = "fhir.example.org"\n[tenants.smile]'), "public_base_url"),
    ],
)
def test_settings_errors_name_the_key_and_never_echo_a_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: tuple[str, str], expected: str
) -> None:
    assert _check(tmp_path, GOOD.replace(*change)) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "s3cr3t" not in err and "input_value" not in err


def test_check_config_says_when_an_oauth_tenant_still_needs_connecting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EYE_SECRET", "s")
    monkeypatch.setenv("EYE_TOKEN_KEY", Fernet.generate_key().decode())
    text = f"""
[server]
token_store = "{tmp_path / "tokens"}"
token_store_keys = ["env:EYE_TOKEN_KEY"]

[tenants.eye]
vendor = "nextech"
base_url = "https://api.example.com"
options = {{ oauth_base_url = "https://login.example.com", client_id = "c", practice_id = "p" }}
credentials = {{ client_secret = "env:EYE_SECRET" }}
"""
    assert _check(tmp_path, text) == 0
    assert "tenant eye: not connected to the vendor yet: run `fhir-gateway connect eye`" in capsys.readouterr().out


def test_sandbox_tenant_options_are_type_checked_too() -> None:
    settings = Settings.model_validate(
        {"tenants": {"demo": {"vendor": "nexhealth", "sandbox": True, "options": {"location_id": "main"}}}}
    )
    with pytest.raises(ConfigError, match=r"tenant 'demo': options\.location_id: "):
        create_app(settings, VENDORS, SANDBOXES)


def test_an_unresolvable_paging_secret_is_refused_up_front(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = '[server]\npaging_secret = "env:NOT_SET_ANYWHERE"\n' + GOOD
    assert _check(tmp_path, text) == 2
    assert "server.paging_secret: environment variable NOT_SET_ANYWHERE is not set" in capsys.readouterr().err


def test_a_paging_secret_too_short_to_hold_up_is_refused_by_check_config_and_serve(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Paging links are sealed with a key derived from this secret: three characters are
    # guessed offline from one link, and then links forged.
    monkeypatch.setenv("SHORT_PAGING", "abc")
    text = '[server]\npaging_secret = "env:SHORT_PAGING"\n' + GOOD
    assert _check(tmp_path, text) == 2
    err = capsys.readouterr().err
    assert "server.paging_secret: the secret has fewer than 32 characters" in err and "abc" not in err
    demo = {"vendor": "nexhealth", "sandbox": True}
    settings = Settings.model_validate({"server": {"paging_secret": "env:SHORT_PAGING"}, "tenants": {"demo": demo}})
    with pytest.raises(ConfigError, match="fewer than 32 characters"):
        create_app(settings, VENDORS, SANDBOXES)
    monkeypatch.setenv("SHORT_PAGING", "x" * 32)
    assert _check(tmp_path, text) == 0


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        ('trusted_proxies = ["10.0.0.1", "proxy.internal"]', "server.trusted_proxies: 'proxy.internal' is not"),
        ('trusted_proxies = ["10.0.0.0/33"]', "server.trusted_proxies: '10.0.0.0/33' is not"),
        # uvicorn parses networks strictly: with host bits set it matched no peer.
        ('trusted_proxies = ["10.1.0.1/16"]', "server.trusted_proxies: '10.1.0.1/16' is not"),
        # uvicorn trusts every peer only for "*" alone: beside others it matched no one.
        ('trusted_proxies = ["10.0.0.1", "*"]', "server.trusted_proxies: '*' (trust every peer) stands alone"),
    ],
)
def test_a_trusted_proxy_that_could_match_no_peer_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: str, expected: str
) -> None:
    # uvicorn compares the peer's address with each entry: a host name never matches, so the
    # proxy's X-Forwarded-For would be ignored without a word and every client recorded as the proxy.
    assert _check(tmp_path, f"[server]\n{server}\n" + GOOD) == 2
    assert expected in capsys.readouterr().err


def test_trusted_proxies_take_addresses_networks_and_the_wildcard(tmp_path: Path) -> None:
    server = 'trusted_proxies = ["10.0.0.1", "10.1.0.0/16", "::1", "fd00::/8"]'
    assert _check(tmp_path, f"[server]\n{server}\n" + GOOD) == 0
    assert _check(tmp_path, '[server]\ntrusted_proxies = ["*"]\n' + GOOD) == 0


@pytest.mark.parametrize("endpoint", ["otel-collector:4318", "grpc://otel:4317", "http://otel collector:4318"])
def test_an_otlp_endpoint_that_is_not_an_http_url_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], endpoint: str
) -> None:
    # Spans go over OTLP/HTTP: anything else failed at the first export, in the background.
    assert _check(tmp_path, f'[observability]\notlp_endpoint = "{endpoint}"\n' + GOOD) == 2
    assert "observability.otlp_endpoint: must be an absolute http(s) URL" in capsys.readouterr().err


def test_an_unreadable_grant_is_reported_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EYE_SECRET", "s")
    monkeypatch.setenv("EYE_TOKEN_KEY", Fernet.generate_key().decode())
    tokens = tmp_path / "tokens"
    tokens.mkdir(mode=0o700)
    (tokens / "eye.json").write_text("not json")
    (tokens / "eye.json").chmod(0o600)
    text = f"""
[server]
token_store = "{tokens}"
token_store_keys = ["env:EYE_TOKEN_KEY"]

[tenants.eye]
vendor = "nextech"
base_url = "https://api.example.com"
options = {{ oauth_base_url = "https://login.example.com", client_id = "c", practice_id = "p" }}
credentials = {{ client_secret = "env:EYE_SECRET" }}
"""
    assert _check(tmp_path, text) == 0
    assert "tenant eye: its stored grant cannot be read: reconnect" in capsys.readouterr().out


EYE = """
[tenants.eye]
vendor = "nextech"
base_url = "https://api.example.com"
options = { oauth_base_url = "https://login.example.com", client_id = "c", practice_id = "p" }
credentials = { client_secret = "env:EYE_SECRET" }
"""


def test_an_oauth_tenant_needs_a_key_for_its_stored_grants(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EYE_SECRET", "s")
    text = EYE
    assert _check(tmp_path, text) == 2
    assert "tenant 'eye': nextech grants are refresh tokens kept on disk, encrypted" in capsys.readouterr().err
    monkeypatch.setenv("EYE_TOKEN_KEY", "not-a-fernet-key")
    assert _check(tmp_path, '[server]\ntoken_store_keys = ["env:EYE_TOKEN_KEY"]\n' + text) == 2
    assert "server.token_store_keys: a key is not a Fernet key" in capsys.readouterr().err


def test_a_workers_count_the_config_cannot_serve_is_refused_in_plain_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[tenants.dental]\nvendor = "dentalpms"\nsandbox = true\n')
    assert cli.main(["serve", "--config", str(config), "--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert "--workers: workers > 1 needs" in err and "Value error" not in err  # pydantic's prefix


def test_every_option_and_argument_of_every_command_is_described() -> None:
    parser_of = {"fhir-gateway": cli.build_parser()}
    for action in parser_of["fhir-gateway"]._actions:
        if isinstance(action, argparse._SubParsersAction):
            parser_of.update(action.choices)
    for name, parser in parser_of.items():
        for action in parser._actions:
            if not isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
                assert action.help, f"{name} {'/'.join(action.option_strings) or action.dest} has no --help text"


@pytest.mark.parametrize(
    ("argv0", "printed"),
    [
        (".venv/bin/fhir-gateway", ".venv/bin/fhir-gateway"),  # as the README runs it: not on PATH
        ("/opt/my tools/fhir-gateway", "'/opt/my tools/fhir-gateway'"),
        ("fhir-gateway", "fhir-gateway"),
        ("/srv/gateway/cli.py", "fhir-gateway"),  # python -m gateway.cli: name the installed command
    ],
)
def test_a_printed_command_line_runs_as_the_gateway_was_run(
    monkeypatch: pytest.MonkeyPatch, argv0: str, printed: str
) -> None:
    monkeypatch.setattr("sys.argv", [argv0, "serve", "--smart-demo"])
    assert cli._program() == printed


# -- what `serve` refuses, check-config refuses ----------------------------------------------


def test_check_config_refuses_an_unauthorized_gateway_off_loopback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = '[server]\nhost = "0.0.0.0"\nallowed_hosts = ["fhir.example.org"]\n' + GOOD
    assert _check(tmp_path, text) == 2
    assert 'configuration error: server.auth is "none" and the gateway would listen on 0.0.0.0' in (
        capsys.readouterr().err
    )


def test_check_config_refuses_links_built_from_the_host_header_off_loopback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = '[server]\nhost = "0.0.0.0"\nauth = "smart"\n' + GOOD
    text += '[tenants.smile.auth]\nissuer = "https://idp.example"\njwks_uri = "https://idp.example/jwks"\n'
    text += 'token_endpoint = "https://idp.example/token"\naudience = "https://fhir.example.org/fhir/smile"\n'
    assert _check(tmp_path, text) == 2
    assert "server.public_base_url" in capsys.readouterr().err


@pytest.mark.parametrize("verb", ["check-config", "serve"])
def test_an_audit_path_under_a_file_is_a_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], verb: str
) -> None:
    (tmp_path / "file-not-dir").write_text("")
    audit = tmp_path / "file-not-dir" / "audit.jsonl"
    text = f'[audit]\nsink = "file"\npath = "{audit}"\n' + GOOD
    assert _check(tmp_path, text, verb, "--config", "FILE") == 2
    err = capsys.readouterr().err
    assert f"configuration error: audit.path: {tmp_path / 'file-not-dir'} is not a directory" in err
    assert "Traceback" not in err and not audit.parent.is_dir()


@pytest.mark.parametrize("verb", ["check-config", "serve"])
def test_an_audit_path_that_is_a_directory_is_a_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], verb: str
) -> None:
    # Met only at the first write, it made every request a 503 (or served unaudited with fail_open).
    (tmp_path / "audit").mkdir()
    text = f'[audit]\nsink = "file"\npath = "{tmp_path / "audit"}"\n' + GOOD
    assert _check(tmp_path, text, verb, "--config", "FILE") == 2
    err = capsys.readouterr().err
    assert f"configuration error: audit.path: {tmp_path / 'audit'} is a directory; name the file" in err


def test_start_up_refuses_an_audit_path_it_cannot_create(tmp_path: Path) -> None:
    (tmp_path / "file-not-dir").write_text("")
    settings = Settings.model_validate(
        {
            "audit": {"sink": "file", "path": str(tmp_path / "file-not-dir" / "audit.jsonl")},
            "tenants": {"demo": {"vendor": "dentalpms", "sandbox": True}},
        }
    )
    with pytest.raises(ConfigError, match=r"audit\.path: "):
        create_app(settings, VENDORS, SANDBOXES)


@pytest.mark.parametrize(
    "url", ["pms.example.com", "ftp://pms.example.com", "https://", "http://pms:port/", "http://pms example.com/api"]
)
def test_a_base_url_must_be_an_absolute_http_url(tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str) -> None:
    assert _check(tmp_path, GOOD.replace("https://pms.example.com/api/v1", url)) == 2
    assert "tenant 'smile': base_url: must be an absolute http:// or https:// URL" in capsys.readouterr().err


def test_a_setting_of_the_wrong_type_is_refused_not_converted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _check(tmp_path, '[server]\nport = "18080"\n' + GOOD) == 2
    assert "server.port: Input should be a valid integer" in capsys.readouterr().err


def test_a_rule_over_several_vendor_options_is_said_plainly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EYE_SECRET", "s")
    text = EYE.replace('oauth_base_url = "https://login.example.com", ', "")
    assert _check(tmp_path, text) == 2
    err = capsys.readouterr().err
    assert "tenant 'eye': options: set oauth_base_url, or both authorize_url and token_url\n" in err, err


@pytest.mark.parametrize("port", ["99999", "-5", "eighty"])
def test_a_port_no_socket_can_have_is_refused_naming_the_option(capsys: pytest.CaptureFixture[str], port: str) -> None:
    # Before: 99999 started the simulators, listened nowhere and said nothing.
    with pytest.raises(SystemExit) as exited:  # at parsing: nothing starts
        cli.build_parser().parse_args(["serve", "--port", port])
    assert exited.value.code == 2
    assert "--port" in capsys.readouterr().err


def test_a_certificate_that_cannot_be_loaded_is_refused_by_check_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: check-config passed, and serve died with a FileNotFoundError traceback.
    missing = tmp_path / "missing.pem"
    tls = f'[server]\ntls_certfile = "{missing}"\ntls_keyfile = "{missing}"\n'
    assert _check(tmp_path, tls + GOOD) == 2
    err = capsys.readouterr().err
    assert "server.tls_certfile/tls_keyfile: cannot load" in err and "Traceback" not in err


@pytest.mark.parametrize("name", ["ténant", "t\\u0663", "two\\nlines"])
def test_a_tenant_name_is_ascii_and_said_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    assert _check(tmp_path, GOOD.replace("[tenants.smile]", f'[tenants."{name}"]')) == 2
    err = capsys.readouterr().err
    assert "must be lower-case letters a-z, digits and '-'" in err
    assert not any(line.startswith(("lines", "two")) for line in err.splitlines())  # one line, not split


def test_a_default_page_size_over_the_maximum_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _check(tmp_path, "[paging]\ndefault_count = 500\nmax_count = 100\n" + GOOD) == 2
    assert "default_count may not exceed max_count" in capsys.readouterr().err


def test_a_sandbox_tenant_given_a_vendor_url_or_credentials_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Its simulator's own are used: set, they were ignored without a word.
    sandboxed = GOOD.replace('vendor = "dentalpms"', 'vendor = "dentalpms"\nsandbox = true')
    assert _check(tmp_path, sandboxed) == 2
    err = capsys.readouterr().err
    assert "tenant 'smile': base_url: not used by a sandbox tenant" in err
    assert "tenant 'smile': credentials: not used by a sandbox tenant" in err
