"""Sandboxed post texts that refer to calendar facts."""

from datetime import date, datetime, time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.calendar.templates import (
    MAX_TEMPLATE_LENGTH, FactValue, Template, TemplateError, check_template, parse_template, render,
)

VALUES = {
    "plazo_fin": FactValue("date", date(2027, 4, 9)),
    "inicio": FactValue("datetime", datetime(2027, 4, 9, 10, 0)),
    "apertura": FactValue("time", time(9, 30)),
    "importe": FactValue("text", "300 €"),
    "lugar": FactValue("text", {"es": "Plaza Mayor", "eu": "Plaza Nagusia", "ca": "Plaça Major"}),
}
KINDS = {name: value.kind for name, value in VALUES.items()}


def test_a_text_without_placeholders_is_one_literal_part():
    template = parse_template("Hola, vecinos.")
    assert template.parts == ("Hola, vecinos.",)
    assert template.references == ()


def test_references_are_the_fact_names_in_order_without_repeats():
    template = parse_template("{{ plazo_fin }} {{importe}} {{ plazo_fin | day_month }}")
    assert template.references == ("plazo_fin", "importe")


def test_placeholders_allow_any_whitespace_around_name_and_format():
    template = parse_template("{{plazo_fin|long}} {{   plazo_fin   |   iso   }}")
    assert [(p.name, p.format) for p in template.placeholders] == [("plazo_fin", "long"), ("plazo_fin", "iso")]


def test_rendering_writes_each_fact_in_the_language_of_the_post():
    text = "El plazo termina el {{ plazo_fin }}. Solicitudes: {{ plazo_fin | day_month }}, {{ importe }}"
    assert render(parse_template(text), "es", VALUES) == (
        "El plazo termina el viernes, 9 de abril de 2027. Solicitudes: 9 de abril, 300 €")


@pytest.mark.parametrize("text, lang, expected", [
    ("{{ plazo_fin | long }}", "eu", "2027ko apirilaren 9a"),
    ("{{ plazo_fin | weekday }}", "ca", "divendres"),
    ("{{ plazo_fin | iso }}", "gl", "2027-04-09"),
    ("{{ plazo_fin | short }}", "es", "9/4/27"),
    ("{{ inicio }}", "es", "viernes, 9 de abril de 2027, a las 10:00"),
    ("{{ inicio | datetime }}", "en", "Friday, 9 April 2027 at 10:00"),
    ("{{ inicio | time }}", "gl", "10:00"),
    ("{{ inicio | day_month }}", "ca", "9 d’abril"),
    ("{{ apertura }}", "es", "9:30"),
    ("{{ apertura | time }}", "eu", "09:30"),
])
def test_each_format_renders_the_fact_as_that_language_writes_it(text, lang, expected):
    assert render(text, lang, VALUES) == expected


def test_text_facts_are_chosen_per_language_falling_back_to_the_base_language():
    assert render("{{ lugar }}", "eu", VALUES) == "Plaza Nagusia"
    assert render("{{ lugar }}", "es-MX", VALUES) == "Plaza Mayor"
    assert render("{{ lugar }}", "ca-valencia", VALUES) == "Plaça Major"


def test_a_missing_translation_is_a_template_error():
    with pytest.raises(TemplateError, match="no 'gl' version"):
        render("{{ lugar }}", "gl", VALUES)


def test_fact_values_are_inserted_literally_never_parsed_again():
    values = {"x": FactValue("text", "{{ plazo_fin }} {% evil %}")}
    assert render("<{{ x }}>", "es", values) == "<{{ plazo_fin }} {% evil %}>"


def test_an_unknown_fact_suggests_the_closest_name():
    errors = check_template(parse_template("Fin: {{ plazo_fni }}"), KINDS)
    assert [e.message for e in errors] == ["unknown fact 'plazo_fni' (did you mean 'plazo_fin'?)"]
    assert errors[0].offset == 7


def test_rendering_an_unknown_fact_is_a_template_error_too():
    with pytest.raises(TemplateError, match="unknown fact 'plazo_fni'"):
        render("{{ plazo_fni }}", "es", VALUES)


@pytest.mark.parametrize("text", [
    "{{ importe | long }}", "{{ plazo_fin | time }}", "{{ plazo_fin | datetime }}",
    "{{ apertura | full }}", "{{ lugar | weekday }}",
])
def test_a_format_that_does_not_suit_the_fact_kind_is_reported(text):
    errors = check_template(parse_template(text), KINDS)
    assert len(errors) == 1 and "cannot be used on" in errors[0].message
    with pytest.raises(TemplateError):
        render(text, "es", VALUES)


def test_suitable_formats_produce_no_errors():
    text = "{{ plazo_fin }} {{ inicio | time }} {{ inicio | long }} {{ apertura }} {{ importe }}"
    assert check_template(parse_template(text), KINDS) == []


@pytest.mark.parametrize("text, offset, fragment", [
    ("Hola {{ x.__class__ }}", 9, "attribute access"),
    ("{{ range(10) }}", 8, "calls"),
    ("{{ x[0] }}", 4, "indexing"),
    ("a {% for x in y %}", 2, "blocks are not supported"),
    ("a {# comment #}", 2, "blocks are not supported"),
    ("Fin: {{ plazo_fin ", 5, "never closed"),
    ("{{ a {{ b }}", 0, "never closed"),
    ("texto }} suelto", 6, "without a matching"),
    ("{{ }}", 3, "empty placeholder"),
    ("{{ Plazo_Fin }}", 3, "lowercase"),
    ("{{ plazo_fin | lng }}", 15, "unknown format 'lng' (did you mean 'long'?)"),
    ("{{ plazo_fin | long | iso }}", 20, "only one format"),
    ("{{ 1 + 1 }}", 3, "not a fact reference"),
    ("{{ 'texto' }}", 3, "not a fact reference"),
])
def test_anything_but_a_fact_reference_is_a_template_error_with_its_offset(text, offset, fragment):
    with pytest.raises(TemplateError) as raised:
        parse_template(text)
    assert fragment in raised.value.message
    assert raised.value.offset == offset


def test_errors_carry_a_hint_for_the_editor():
    with pytest.raises(TemplateError) as raised:
        parse_template("{{ x.y }}")
    assert "{{ fact_name }}" in raised.value.hint


def test_non_text_input_and_huge_texts_are_template_errors():
    with pytest.raises(TemplateError):
        parse_template(None)  # type: ignore[arg-type]
    with pytest.raises(TemplateError, match="limit"):
        parse_template("a" * (MAX_TEMPLATE_LENGTH + 1))


def test_an_unsupported_language_is_a_template_error():
    with pytest.raises(TemplateError, match="unsupported language"):
        render("{{ plazo_fin }}", "xx", VALUES)


def test_a_fact_holding_the_wrong_type_is_a_template_error():
    with pytest.raises(TemplateError, match="declared as date"):
        render("{{ d }}", "es", {"d": FactValue("date", "mañana")})


@pytest.mark.parametrize("text", [
    "{{" * 9000, "{{ a " * 3000, "}}" * 9000, "{{ " + " " * 19_000 + "x.", "{{ a |" + "|" * 19_000 + " }}",
    "{{ " + "a" * 19_000 + ".", "{" * 19_000 + "%",
])
def test_hostile_templates_fail_with_a_template_error(text):
    # the parser is one linear scan (no backtracking regexes): these return at once
    with pytest.raises(TemplateError):
        parse_template(text)


_TOKENS = list("{}|%#. ()_[]'\"ax1é\n") + ["{{", "}}", "plazo_fin", "long", "lugar"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS)).map("".join) | st.text())
def test_arbitrary_text_either_parses_and_renders_or_raises_a_template_error(text):
    try:
        template = parse_template(text)
    except TemplateError as error:
        assert 0 <= error.offset <= len(text)
        return
    assert isinstance(template, Template)
    values = {name: FactValue("text", "v") for name in template.references}
    try:
        rendered = render(template, "es", values)
    except TemplateError:
        return  # e.g. a date format on a text fact
    assert isinstance(rendered, str)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["Hola ", "{{ plazo_fin }}", "{{ inicio | time }}", "{{ importe }}", "\n", "é"])))
def test_well_formed_templates_round_trip_their_literal_text(pieces):
    text = "".join(pieces)
    rendered = render(parse_template(text), "es", VALUES)
    assert rendered.count("Hola ") == text.count("Hola ")
    assert "{{" not in rendered


def test_parsing_is_cached_for_repeated_texts():
    text = "El plazo termina el {{ plazo_fin }}. Más información: {{ lugar }}."
    assert parse_template(text) is parse_template(text)


def test_the_quick_parser_agrees_with_the_careful_one_wherever_it_answers():
    import random

    from worker.calendar.templates import _parse_carefully, _parse_well_formed

    pieces = ["{{ plazo_fin }}", "{{plazo_fin|long}}", "{{ a | iso }}", "{{ a | bogus }}", "{{",
              "}}", "{", "}", "{%", "{#", " texto ", "ñ", "{{ A }}", "{{ x y }}", "{{ 1x }}",
              "{{{ x }}}", "|", " "]
    rng = random.Random(20261125)
    answered = 0
    for _ in range(20000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        quick = _parse_well_formed(text)
        if quick is None:
            continue  # left to the careful parser, which accepts or explains
        answered += 1
        assert _parse_carefully(text) == quick, repr(text)
    assert answered > 1000
