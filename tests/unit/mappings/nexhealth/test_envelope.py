"""NexHealth's envelope is unwrapped in one place, and HTTP 200 does not mean success."""

import pytest

from gateway.errors import InvalidRequest, NotFound, UpstreamError
from gateway.upstream.http import UpstreamResponse
from mappings.nexhealth.client import Duplicate, Envelope, _unwrap


def _answer(status: int, body: bytes) -> UpstreamResponse:
    return UpstreamResponse(status, {}, body)


def test_success_unwraps_data_and_count() -> None:
    envelope = _unwrap(_answer(200, b'{"code":true,"description":[],"error":[],"data":{"patients":[]},"count":7}'))
    assert envelope.data == {"patients": []} and envelope.count == 7 and envelope.warnings == []


@pytest.mark.parametrize(
    "body",
    [
        b'{"code":false,"description":null,"error":["Something failed"],"data":null}',
        b'{"code":true,"description":null,"error":["Something failed"],"data":null}',
        b'{"code":false,"description":null,"error":[],"data":null}',
    ],
)
def test_an_error_under_http_200_is_an_error(body: bytes) -> None:
    with pytest.raises(UpstreamError):
        _unwrap(_answer(200, body))


def test_code_false_over_data_and_no_error_is_the_docs_success_shape() -> None:
    # nexhealth-patients.txt, "Patients Response": `"code": false` above a list of patients.
    body = b'{"code":false,"description":"Description","error":[],"data":{"patients":[{"id":415}]},"count":1}'
    envelope = _unwrap(_answer(200, body))
    assert envelope.data == {"patients": [{"id": 415}]} and envelope.count == 1


def test_ignored_parameters_come_back_as_warnings_not_success() -> None:
    envelope = _unwrap(
        _answer(
            200,
            b'{"code":true,"description":["Ignored unknown parameter: gender"],"error":[],'
            b'"data":{"patients":[]},"count":3}',
        )
    )
    assert envelope.warnings == ["Ignored unknown parameter: gender"]


def test_statuses_and_duplicates() -> None:
    with pytest.raises(NotFound):
        _unwrap(_answer(404, b'{"code":false,"description":null,"data":null,"error":["Not found"]}'))
    with pytest.raises(InvalidRequest):
        _unwrap(_answer(400, b'{"code":false,"description":null,"data":null,"error":["location_id is missing"]}'))
    with pytest.raises(Duplicate):
        _unwrap(
            _answer(
                400,
                b'{"code":false,"description":null,"data":null,'
                b'"error":["A patient with that information already exists."]}',
            )
        )
    with pytest.raises(UpstreamError):
        _unwrap(_answer(500, b"<html>oops</html>"))


@pytest.mark.parametrize(
    "body",
    [
        b'{"code":false,"description":null,"error":"A patient with that information already exists.","data":null}',
        b'{"code":false,"description":"A patient with that information already exists.","error":null,"data":null}',
        b'{"code":"false","description":"A patient with that information already exists.","data":null}',
    ],
)
def test_error_messages_as_a_string_or_only_in_the_description(body: bytes) -> None:
    with pytest.raises(Duplicate):
        _unwrap(_answer(400, body))


def test_a_description_only_error_keeps_its_message() -> None:
    with pytest.raises(InvalidRequest) as caught:
        _unwrap(_answer(400, b'{"code":false,"description":"end must not be before start","data":null}'))
    assert "end must not be before start" in caught.value.diagnostics


@pytest.mark.parametrize(("count", "expected"), [(b'"12"', 12), (b"12", 12), (b"null", None), (b'"many"', None)])
def test_count_as_a_number_or_a_string(count: bytes, expected: int | None) -> None:
    body = b'{"code":true,"description":[],"error":[],"data":[],"count":' + count + b"}"
    assert _unwrap(_answer(200, body)).count == expected
    assert _unwrap(_answer(200, b'{"code":true,"description":[],"error":[],"data":[]}')).count is None


@pytest.mark.parametrize(
    "body",
    [
        b'{"code":false,"error":{"patient":["A patient with that information already exists."]},"data":null}',
        b'{"code":false,"error":{"message":"A patient with that information already exists."},"data":null}',
    ],
)
def test_error_messages_in_an_object_are_read(body: bytes) -> None:
    with pytest.raises(Duplicate):
        _unwrap(_answer(400, body))


def test_an_object_error_keeps_its_fields_in_the_message() -> None:
    with pytest.raises(InvalidRequest) as caught:
        _unwrap(_answer(400, b'{"code":false,"error":{"email":["is invalid"]},"data":null}'))
    assert "email is invalid" in caught.value.diagnostics


def test_a_409_is_a_duplicate_whatever_its_words() -> None:
    # NexHealth keeps no versions: a 409 cannot be a version conflict (no 412 for a create).
    with pytest.raises(Duplicate):
        _unwrap(_answer(409, b'{"code":false,"error":["Duplicate patient"],"data":null}'))


@pytest.mark.parametrize("error", [b'{"message":null}', b'{"email":false}', b'{"base":[]}'])
def test_an_error_object_saying_nothing_leaves_a_successful_answer_read(error: bytes) -> None:
    # `{"message": null}` was the message "None": a 200 carrying it was a 502.
    body = b'{"code":true,"description":null,"error":' + error + b',"data":{"patients":[]},"count":0}'
    assert _unwrap(_answer(200, body)).count == 0


def test_a_get_answered_200_without_its_envelope_is_no_answer() -> None:
    # Read as "no data", a list answered 200 with an empty body (or `null`) was served as a
    # searchset of no one: the records it should have held went missing without a word.
    for body in (b"", b"null"):
        with pytest.raises(UpstreamError):
            _unwrap(_answer(200, body), "GET")
        assert _unwrap(_answer(200, body), "PATCH").data is None  # a write done, read again after
    assert _unwrap(_answer(204, b""), "GET").data is None  # the server says there is nothing


def test_a_write_answered_in_words_rather_than_json_is_done_with_nothing_to_read() -> None:
    # Express's `res.sendStatus(201)` and `res.sendStatus(200)`: the status's words as text/plain.
    for status, words in ((201, b"Created"), (200, b"OK")):
        for method in ("POST", "PATCH"):
            assert _unwrap(_answer(status, words), method) == Envelope(None, None)
        with pytest.raises(UpstreamError):
            _unwrap(_answer(status, words), "GET")  # a read answered so is no answer


def test_a_404_without_the_envelope_is_the_servers_not_the_apis() -> None:
    from mappings.nexhealth.client import NoRoute

    with pytest.raises(NoRoute):
        _unwrap(_answer(404, b"<!DOCTYPE html><html><body><pre>Cannot GET /patients</pre></body></html>"))
    with pytest.raises(NotFound) as enveloped:
        _unwrap(_answer(404, b'{"code":false,"description":null,"data":null,"error":["Not found"]}'))
    assert not isinstance(enveloped.value, NoRoute)


@pytest.mark.parametrize(
    "body",
    [
        b'{"detail":"A patient with that information already exists."}',  # FastAPI, DRF
        b'{"message":"A patient with that information already exists."}',  # Express
        b'{"message":"The given data was invalid.",'
        b'"errors":{"email":["A patient with that information already exists."]}}',
    ],
)
def test_an_error_without_the_envelope_keeps_its_words(body: bytes) -> None:
    # The docs show no error body: FastAPI's `raise HTTPException(400, ...)` answers
    # `{"detail": ...}`. Unread, a duplicate was a 400, not a 409, and a refused per_page was
    # not asked again smaller.
    with pytest.raises(Duplicate):
        _unwrap(_answer(400, body))
    with pytest.raises(InvalidRequest) as caught:
        _unwrap(_answer(400, b'{"detail":"per_page must be less than or equal to 50"}'))
    assert "per_page must be less than or equal to 50" in caught.value.diagnostics


@pytest.mark.parametrize(
    "body",
    [
        b'{"code":false,"error":{"email":["has already been taken"]},"data":null}',
        b'{"errors":{"email":["has already been taken"]}}',  # Rails' own body, no envelope
    ],
)
def test_a_rails_uniqueness_refusal_is_a_duplicate(body: bytes) -> None:
    # A Rails implementation of the duplicate guard: `validates :email, uniqueness: true`, 422.
    with pytest.raises(Duplicate):
        _unwrap(_answer(422, body))


def test_drf_field_errors_are_read_by_field() -> None:
    # A DRF serializer's ValidationError has no envelope: `{"<field>": [...]}`. Unread, every
    # refusal reached the client without its reason, and a duplicate was a 400, not a 409.
    with pytest.raises(InvalidRequest) as caught:
        _unwrap(_answer(400, b'{"date_of_birth":["This field is required."],"email":["Enter a valid email."]}'))
    assert caught.value.diagnostics.endswith(": date_of_birth: This field is required.; email: Enter a valid email.")
    with pytest.raises(InvalidRequest) as nested:
        _unwrap(_answer(400, b'{"patient":{"bio":{"date_of_birth":["This field is required."]}}}'))
    assert nested.value.diagnostics.endswith(": patient.bio.date_of_birth: This field is required.")
    with pytest.raises(Duplicate):
        _unwrap(_answer(400, b'{"non_field_errors":["A patient with that information already exists."]}'))
    # A `ValidationError("...")` raised in a DRF view: a bare list of messages.
    with pytest.raises(Duplicate):
        _unwrap(_answer(400, b'["A patient with that information already exists."]'))


def test_fastapis_validation_errors_are_read_by_field_without_the_values_refused() -> None:
    # FastAPI answers a body its Pydantic model refuses with 422 `{"detail": [{"type", "loc",
    # "msg", "input"}]}`: read as any object, each item became "type ...; loc body; loc
    # patient; ...; input <the value>": the field's path lost, and the refused birth date or the
    # whole patient copied into the message the client is shown.
    body = (
        b'{"detail":[{"type":"extra_forbidden","loc":["body","patient","bio"],"msg":"Extra inputs are not permitted",'
        b'"input":{"date_of_birth":"1961-07-04","phone_number":"3125550199"}},'
        b'{"type":"enum","loc":["body","gender"],"msg":"Input should be \'M\', \'F\' or \'O\'","input":"Female",'
        b"\"ctx\":{\"expected\":\"'M', 'F' or 'O'\"}}]}"
    )
    with pytest.raises(InvalidRequest) as caught:
        _unwrap(_answer(422, body), "POST")
    said = caught.value.diagnostics
    assert "patient.bio: Extra inputs are not permitted; gender: Input should be 'M', 'F' or 'O'" in said
    assert "1961" not in said and "3125550199" not in said and "Female" not in said


def test_an_error_answered_as_bare_text_keeps_its_words_and_a_page_does_not() -> None:
    # Express's `res.status(400).send(message)` (text/html), ASP.NET Core's `BadRequest("...")`
    # (text/plain): the docs' duplicate message as the whole body. Unread, a duplicate was a
    # 400, not a 409, and a refused per_page was not asked again smaller.
    html = {"Content-Type": "text/html; charset=utf-8"}
    with pytest.raises(Duplicate):
        _unwrap(UpstreamResponse(400, html, b"A patient with that information already exists."))
    plain = {"content-type": "text/plain; charset=iso-8859-1"}
    with pytest.raises(InvalidRequest) as caught:
        _unwrap(UpstreamResponse(400, plain, b"per_page must be less\n than or equal to 50 \xe9"), "GET")
    assert caught.value.diagnostics.endswith("per_page must be less than or equal to 50 é")
    # A page (Express's, with its stack trace in development) is not read: its status alone is.
    page = b"<!DOCTYPE html><html><body><pre>SyntaxError: Unexpected token<br> at parse (/app/x.js:1)</pre>"
    with pytest.raises(InvalidRequest) as paged:
        _unwrap(UpstreamResponse(400, html, page), "POST")
    assert paged.value.diagnostics == "The vendor rejected the request"


@pytest.mark.parametrize(
    ("body", "server_page"),
    [
        (b"Patient not found", False),  # Express's `res.status(404).send(...)`: the API's own words
        (b"Not found", False),
        (b"Cannot GET /appointments", True),  # Express's finalhandler, as text
        (b"404 page not found\n", True),  # Go's http.NotFound
        (b"", True),
        (b"<!DOCTYPE html><html><body><pre>Cannot GET /patients</pre></body></html>", True),
    ],
)
def test_a_404_in_bare_text_is_the_apis_unless_a_server_says_it_has_no_route(body: bytes, server_page: bool) -> None:
    # Read as the web server's page for a route it lacks, every search of no one of an
    # implementation answering its errors as bare text was a 502.
    from mappings.nexhealth.client import NoRoute

    with pytest.raises(NotFound) as caught:
        _unwrap(UpstreamResponse(404, {"Content-Type": "text/html; charset=utf-8"}, body))
    assert isinstance(caught.value, NoRoute) is server_page
