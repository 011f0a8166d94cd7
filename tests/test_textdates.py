"""Dates typed by hand in post texts: found in every language and checked."""

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.calendar.textdates import check_text_dates, find_date_mentions

APRIL_9 = date(2027, 4, 9)  # a Friday


def only(text, lang, default_year=2027):
    mentions = find_date_mentions(text, lang, default_year)
    assert len(mentions) == 1, mentions
    return mentions[0]


@pytest.mark.parametrize("lang, text", [
    ("es", "viernes, 9 de abril de 2027"),
    ("es", "el viernes 9 de abril del 2027"),
    ("es-MX", "viernes 9 de abril de 2027"),
    ("es", "Viernes, día 9 de ABRIL de 2027"),
    ("es", "vie. 9 de abr. de 2027"),
    ("ca", "divendres, 9 d’abril del 2027"),
    ("ca", "divendres 9 d'abril de 2027"),
    ("ca-valencia", "divendres, dia 9 d’abril de 2027"),
    ("eu", "2027ko apirilaren 9a, ostirala"),
    ("eu", "2027ko apirilaren 9an, ostiralean"),
    ("eu", "Ostirala, 2027ko apirilaren 9a"),
    ("gl", "venres, 9 de abril de 2027"),
    ("gl", "o venres 9 de abril do 2027"),
    ("en", "Friday 9 April 2027"),
    ("en", "Friday, April 9, 2027"),
    ("en", "Friday the 9th of April 2027"),
    ("es", "viernes 9/4/2027"),
    ("es", "viernes 09-04-2027"),
    ("es", "2027-04-09"),
    ("eu", "2027/04/09"),
])
def test_correct_dates_are_found_in_every_language_without_problems(lang, text):
    mention = only(f"Abrimos el plazo: {text}. Gracias.", lang)
    assert mention.date == APRIL_9
    assert mention.problem is None
    assert mention.text == text.removeprefix("el ").removeprefix("o ")


def test_mentions_carry_exact_offsets_into_the_text():
    text = "Plazo: lunes 9 de abril de 2027, hasta las 14:00."
    mention = only(text, "es")
    assert text[mention.start:mention.end] == "lunes 9 de abril de 2027"
    assert mention.weekday == 0


@pytest.mark.parametrize("lang, text, local", [
    ("es", "lunes 9 de abril de 2027", "viernes"),
    ("ca", "dilluns 9 d’abril del 2027", "divendres"),
    ("eu", "2027ko apirilaren 9a, astelehena", "ostirala"),
    ("eu", "apirilaren 9an, astelehenean", "ostirala"),
    ("gl", "luns, 9 de abril de 2027", "venres"),
    ("es", "lunes 9/4/2027", "viernes"),
])
def test_a_weekday_that_does_not_match_the_date_is_a_problem(lang, text, local):
    mention = only(text, lang)
    assert mention.problem == f"9 April 2027 is a Friday, not a Monday ({local})"


def test_english_weekday_mismatches_do_not_repeat_the_name():
    assert only("Monday 9 April 2027", "en").problem == "9 April 2027 is a Friday, not a Monday"
    assert only("Monday, April 9", "en").problem == "9 April 2027 is a Friday, not a Monday"


@pytest.mark.parametrize("lang, text, weekday", [
    ("es", "miercoles 14 de abril", 2),
    ("es", "MIÉRCOLES 14 de abril", 2),
    ("es", "sabado 10 de abril", 5),
    ("gl", "mercores 14 de abril", 2),
    ("gl", "mércores 14 de abril", 2),
])
def test_weekday_names_match_with_or_without_accents_in_any_case(lang, text, weekday):
    mention = only(text, lang)
    assert mention.weekday == weekday and mention.problem is None


def test_month_names_match_without_accents_and_with_regional_spellings():
    assert only("12 de xuno", "gl").date == date(2027, 6, 12)
    assert only("12 de setiembre", "es-MX").date == date(2027, 9, 12)
    assert only("1 de març", "ca").date == date(2027, 3, 1)
    assert only("1 de marc", "ca").date == date(2027, 3, 1)


@pytest.mark.parametrize("lang, text, problem", [
    ("es", "31 de abril de 2027", "April has 30 days"),
    ("ca", "31 de setembre", "September has 30 days"),
    ("eu", "ekainaren 31n", "June has 30 days"),
    ("gl", "30 de febreiro de 2028", "February 2028 has 29 days"),
    ("es", "29 de febrero de 2027", "February 2027 has 28 days"),
    ("en", "31 June", "June has 30 days"),
    ("es", "31/04/2027", "April has 30 days"),
    ("es", "12/13/2027", "there is no month 13"),
])
def test_impossible_dates_are_problems(lang, text, problem):
    mention = only(text, lang)
    assert mention.date is None and mention.problem == problem


def test_without_any_year_only_impossible_days_are_judged():
    assert only("lunes 9 de abril", "es", None).date is None
    assert only("lunes 9 de abril", "es", None).problem is None
    assert only("29 de febrero", "es", None).problem is None
    assert only("30 de febrero", "es", None).problem == "February has at most 29 days"


def test_a_missing_year_is_taken_from_the_default_year():
    assert only("viernes 9 de abril", "es", 2027).problem is None
    assert only("viernes 9 de abril", "es", 2026).problem.startswith("9 April 2026 is a Thursday")


def test_numeric_dates_are_day_first_except_in_us_english():
    assert only("9/4/2027", "en").date == APRIL_9
    assert only("4/9/2027", "en-US").date == APRIL_9
    assert only("9.4.2027", "ca").date == APRIL_9


def test_numbers_that_are_not_dates_are_ignored():
    text = "Llama al 010 o al 943 11 22 33; 300 € por 2 personas; versión 1.2.3; 10:30; 50%; 1/2 plaza"
    assert find_date_mentions(text, "es", 2027) == []
    assert find_date_mentions("Hay 9 de cada 10 plazas libres y mayo es bonito.", "es", 2027) == []
    assert find_date_mentions("May 2027 will be busy; we may open 3 more.", "en", 2027) == []


def test_texts_with_templates_and_no_typed_dates_have_no_mentions():
    assert find_date_mentions("Termina el {{ plazo_fin }} a las {{ cierre | time }}.", "es", 2027) == []


def test_several_dates_in_one_text_are_all_found_in_order():
    text = "Del lunes 5 de abril al viernes, 9 de abril de 2027; en euskera: apirilaren 9a."
    mentions = find_date_mentions(text, "es", 2027)
    assert [m.date for m in mentions] == [date(2027, 4, 5), APRIL_9]


FACTS = {"plazo_inicio": date(2027, 8, 2), "plazo_fin": date(2027, 8, 27)}


def test_a_typed_date_that_contradicts_a_nearby_fact_is_reported_with_the_fix():
    problems = check_text_dates("El plazo termina el 20 de agosto.", "es", FACTS, 2027)
    assert [p.kind for p in problems] == ["contradicts-fact"]
    assert problems[0].message == (
        "the text says 20 August 2027 but fact 'plazo_fin' is 27 August 2027; "
        "write {{ plazo_fin }} instead of typing the date")
    assert problems[0].fact == "plazo_fin"
    assert (problems[0].start, problems[0].end) == (20, 32)


@pytest.mark.parametrize("text, fact", [
    ("27 de septiembre de 2027", "plazo_fin"),   # same day, next month
    ("27 de julio", "plazo_fin"),                # same day, previous month
    ("27 de agosto de 2026", "plazo_fin"),       # same day and month, year typo
    ("4 de agosto", "plazo_inicio"),             # closest fact wins
])
def test_lookalike_dates_point_at_the_fact_they_probably_meant(text, fact):
    problems = check_text_dates(text, "es", FACTS, 2027)
    assert [(p.kind, p.fact) for p in problems] == [("contradicts-fact", fact)]


def test_unrelated_dates_are_not_reported():
    assert check_text_dates("Fiestas: 15 de diciembre de 2027.", "es", FACTS, 2027) == []


def test_a_typed_date_equal_to_a_fact_suggests_the_template():
    problems = check_text_dates("Cierra el viernes, 27 de agosto de 2027.", "es", FACTS, 2027)
    assert [(p.kind, p.fact) for p in problems] == [("typed-date", "plazo_fin")]
    assert "{{ plazo_fin }}" in problems[0].hint


def test_weekday_and_fact_problems_are_both_reported():
    problems = check_text_dates("Cierra el lunes 27 de agosto de 2027.", "es", FACTS, 2027)
    assert [p.kind for p in problems] == ["weekday-mismatch", "typed-date"]
    assert problems[0].message == "27 August 2027 is a Friday, not a Monday (viernes)"


def test_impossible_dates_are_reported_once():
    problems = check_text_dates("Cierra el 31 de abril.", "es", FACTS, 2027)
    assert [(p.kind, p.message) for p in problems] == [("impossible-date", "April has 30 days")]


def test_datetime_facts_are_compared_by_their_date():
    facts = {"inicio": datetime(2027, 8, 27, 10, 0)}
    assert [p.kind for p in check_text_dates("2027ko abuztuaren 27an", "eu", facts, 2027)] == ["typed-date"]


@settings(max_examples=300, deadline=None)
@given(st.text(), st.sampled_from(["es", "ca", "eu", "gl", "en", "en-US", "es-MX"]))
def test_arbitrary_text_never_crashes_and_offsets_are_exact(text, lang):
    for mention in find_date_mentions(text, lang, 2027):
        assert text[mention.start:mention.end] == mention.text
    check_text_dates(text, lang, FACTS, 2027)


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31)),
       st.sampled_from(["es", "ca", "eu", "gl", "en"]))
def test_dates_written_by_localize_are_read_back_exactly(day, lang):
    from worker.calendar.localize import format_date

    for style in ("full", "long", "iso"):
        mention = only(format_date(day, lang, style), lang, None)
        assert mention.date == day and mention.problem is None
