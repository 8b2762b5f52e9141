import pytest

from gateway.contract import Interaction, Pushdown, ResourceSupport, SearchParamSupport
from gateway.errors import InvalidRequest, NotSupported
from gateway.search.model import DatePrefix, DateValue, ReferenceValue, StringValue, TokenValue
from gateway.search.parse import TotalMode, parse_search

PATIENT = ResourceSupport(
    "Patient",
    frozenset({Interaction.READ, Interaction.SEARCH}),
    (
        SearchParamSupport("family", Pushdown.NARROWS, frozenset({"exact"})),
        SearchParamSupport("identifier", Pushdown.NARROWS),
        SearchParamSupport("birthdate", Pushdown.EXACT, prefixes=frozenset({DatePrefix.GE, DatePrefix.EQ})),
    ),
    sorts=("family",),
)
ALLERGY = ResourceSupport(
    "AllergyIntolerance",
    frozenset({Interaction.SEARCH}),
    (SearchParamSupport("patient", Pushdown.EXACT),),
    required=(frozenset({"patient"}),),
)


def parse(items: list[tuple[str, str]], support: ResourceSupport = PATIENT, strict: bool = False):  # type: ignore[no-untyped-def]
    return parse_search(support, items, strict=strict, default_count=20, max_count=100)


def test_values_are_typed_and_ored_within_one_parameter() -> None:
    parsed = parse([("family", "smith,jones"), ("identifier", "urn:x|C001"), ("birthdate", "ge1985")])
    family, identifier, birthdate = parsed.query.params
    assert family.values == (StringValue("smith"), StringValue("jones"))
    assert identifier.values == (TokenValue("urn:x", "C001"),)
    value = birthdate.values[0]
    assert isinstance(value, DateValue) and value.prefix is DatePrefix.GE


def test_escaped_commas_are_part_of_the_value() -> None:
    (family,) = parse([("family", r"a\,b")]).query.params
    assert family.values == (StringValue("a,b"),)


def test_unknown_parameter_is_ignored_leniently_and_left_out_of_links() -> None:
    parsed = parse([("family", "smith"), ("shoe-size", "42")])
    assert parsed.link_params == (("family", "smith"),)


def test_unknown_parameter_is_refused_when_strict() -> None:
    with pytest.raises(NotSupported):
        parse([("shoe-size", "42")], strict=True)


@pytest.mark.parametrize("strict", [False, True])
def test_an_unsupported_modifier_is_refused_whatever_the_handling(strict: bool) -> None:
    # Left out, the condition would select other records: R4 search.html, a server SHALL reject it.
    with pytest.raises(NotSupported, match=":contains"):
        parse([("family:contains", "mi")], strict=strict)


@pytest.mark.parametrize(
    "items",
    [
        [("birthdate", "1985-13-01")],
        [("birthdate", "xx1985")],
        [("_count", "-1")],
        [("_count", "ten")],
        [("_total", "maybe")],
        [("_summary", "banana")],
    ],
)
def test_malformed_values_are_400_even_when_lenient(items: list[tuple[str, str]]) -> None:
    with pytest.raises(InvalidRequest):
        parse(items)


def test_the_approximate_prefix_is_named_as_not_supported() -> None:
    # `ap` is an R4 prefix (search.html#prefix): not applied here, which is not a malformed value.
    with pytest.raises(NotSupported, match="'ap' is not supported"):
        parse([("birthdate", "ap1985-03-01")])


def test_count_is_capped_and_defaults() -> None:
    assert parse([]).count == 20
    assert parse([("_count", "5000")]).count == 100


def test_sort_and_total() -> None:
    parsed = parse([("_sort", "-family"), ("_total", "accurate")])
    assert [(k.name, k.descending) for k in parsed.query.sort] == [("family", True)]
    assert parsed.total is TotalMode.ACCURATE
    assert ("_sort", "-family") in parsed.link_params
    with pytest.raises(NotSupported):
        parse([("_sort", "gender")], strict=True)
    assert parse([("_sort", "gender")]).query.sort == ()


def test_required_parameter_is_enforced() -> None:
    with pytest.raises(InvalidRequest, match="requires the parameter patient"):
        parse([], support=ALLERGY)


@pytest.mark.parametrize(
    ("value", "base"), [("Patient/abc", None), ("abc", None), ("http://x.org/fhir/Patient/abc", "http://x.org/fhir")]
)
def test_reference_forms(value: str, base: str | None) -> None:
    # An absolute URL keeps its server's base: the search compares it with its own.
    (patient,) = parse([("patient", value)], support=ALLERGY).query.params
    assert patient.values == (ReferenceValue("Patient", "abc", base),)


def test_reference_to_wrong_type_or_bad_id_is_400() -> None:
    with pytest.raises(InvalidRequest):
        parse([("patient", "Group/abc")], support=ALLERGY)
    with pytest.raises(InvalidRequest):
        parse([("patient", "not valid!")], support=ALLERGY)


@pytest.mark.parametrize("value", ["Patient/", "http://x.org/fhir/Patient/", "Patient/abc/"])
def test_a_reference_ending_in_a_slash_is_400(value: str) -> None:
    # `Patient/` was the patient with the id "Patient": a search finding no one, for a malformed value.
    with pytest.raises(InvalidRequest, match="names no id"):
        parse([("patient", value)], support=ALLERGY)


@pytest.mark.parametrize("value", ["maybe", "TRUE", "1", "http://x|true", "true,maybe"])
def test_a_boolean_takes_true_or_false_only(value: str) -> None:
    # A value no resource can hold is a malformed value (400), not a search that finds nothing.
    support = ResourceSupport(
        "Patient", frozenset({Interaction.SEARCH}), (SearchParamSupport("active", Pushdown.NARROWS),)
    )
    with pytest.raises(InvalidRequest, match="false or true"):
        parse([("active", value)], support=support)
    (active,) = parse([("active", "true,|false")], support=support).query.params
    assert active.values == (TokenValue(None, "true"), TokenValue("", "false"))


def test_an_escaped_backslash_does_not_escape_the_comma_after_it() -> None:
    # search.html#escaping: `\\,` is a comma within a value; `\\\\` is a backslash, and the
    # comma after it separates two values.
    (family,) = parse([("family", "zz\\\\,smith")]).query.params
    assert family.values == (StringValue("zz\\"), StringValue("smith"))
    (one,) = parse([("family", "a\\,b")]).query.params
    assert one.values == (StringValue("a,b"),)
