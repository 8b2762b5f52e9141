"""Access-log paths: ids hidden, and no input can forge a log line."""

from __future__ import annotations

from gateway.logs import redact


def test_ids_are_hidden_and_the_route_kept() -> None:
    assert redact("/fhir/dentalpms/Patient/C00042/_history/3") == "/fhir/dentalpms/Patient/{id}/_history/{id}"
    assert redact("/fhir/dentalpms/Patient/$everything") == "/fhir/dentalpms/Patient/$everything"


def test_control_characters_cannot_end_the_line() -> None:
    logged = redact("/fhir/dentalpms/Patient\r\nX-Injected: 1\x00")
    assert "\n" not in logged and "\r" not in logged and "\x00" not in logged
    assert logged == "/fhir/dentalpms/Patient\\x0d\\x0aX-Injected: 1\\x00"
