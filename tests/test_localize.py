"""Dates, times and notices as writers of each co-official language write them."""

from datetime import date, datetime, time

import pytest

from worker.calendar import localize, notices
from worker.calendar.localize import (
    base_language, basque_day, basque_locative, basque_year, check_language,
    format_date, format_datetime, format_time, time_phrase,
)

FRIDAY = date(2027, 4, 9)  # 9 April 2027 is a Friday


@pytest.mark.parametrize("lang, expected", [
    ("es", "viernes, 9 de abril de 2027"),
    ("es-MX", "viernes, 9 de abril de 2027"),
    ("ca", "divendres, 9 d’abril del 2027"),
    ("ca-valencia", "divendres, 9 d’abril del 2027"),
    ("eu", "2027ko apirilaren 9a, ostirala"),
    ("gl", "venres, 9 de abril de 2027"),
    ("en", "Friday, 9 April 2027"),
    ("en-US", "Friday, April 9, 2027"),
])
def test_the_full_style_writes_weekday_day_month_and_year_in_each_language(lang, expected):
    assert format_date(FRIDAY, lang, "full") == expected


@pytest.mark.parametrize("lang, long, day_month, weekday", [
    ("es", "9 de abril de 2027", "9 de abril", "viernes"),
    ("ca", "9 d’abril del 2027", "9 d’abril", "divendres"),
    ("eu", "2027ko apirilaren 9a", "apirilaren 9a", "ostirala"),
    ("gl", "9 de abril de 2027", "9 de abril", "venres"),
    ("en", "9 April 2027", "9 April", "Friday"),
])
def test_long_day_month_and_weekday_styles_drop_what_they_should(lang, long, day_month, weekday):
    assert format_date(FRIDAY, lang, "long") == long
    assert format_date(FRIDAY, lang, "day_month") == day_month
    assert format_date(FRIDAY, lang, "weekday") == weekday


def test_short_and_iso_styles_are_available():
    assert format_date(FRIDAY, "es", "short") == "9/4/27"
    assert format_date(FRIDAY, "gl", "iso") == "2027-04-09"
    assert format_date(FRIDAY, "eu", "short") == "2027/04/09"


def test_an_unknown_style_is_a_value_error():
    with pytest.raises(ValueError):
        format_date(FRIDAY, "es", "fancy")


def test_the_weekday_always_matches_the_date_over_a_whole_year():
    names = {
        "es": ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
        "eu": ["astelehena", "asteartea", "asteazkena", "osteguna", "ostirala", "larunbata", "igandea"],
    }
    day = date(2027, 1, 1)
    while day.year == 2027:
        for lang, week in names.items():
            assert format_date(day, lang, "weekday") == week[day.weekday()]
        day = date.fromordinal(day.toordinal() + 1)


@pytest.mark.parametrize("year, expected", [
    (1900, "1900eko"), (1945, "1945eko"), (1952, "1952ko"), (1995, "1995eko"),
    (2000, "2000ko"), (2001, "2001eko"), (2008, "2008ko"), (2010, "2010eko"),
    (2011, "2011ko"), (2015, "2015eko"), (2016, "2016ko"), (2020, "2020ko"),
    (2021, "2021eko"), (2022, "2022ko"), (2023, "2023ko"), (2024, "2024ko"),
    (2025, "2025eko"), (2026, "2026ko"), (2027, "2027ko"), (2028, "2028ko"),
    (2029, "2029ko"), (2030, "2030eko"), (2031, "2031ko"), (2035, "2035eko"),
    (2040, "2040ko"), (2050, "2050eko"), (2100, "2100eko"),
])
def test_basque_years_take_eko_after_consonant_sounds_and_ko_after_vowel_sounds(year, expected):
    assert basque_year(year) == expected


def test_basque_days_take_the_article_except_after_hamaika():
    expected = {d: f"{d}a" for d in range(1, 32)}
    expected[11] = "11"
    expected[31] = "31"
    assert {d: basque_day(d) for d in range(1, 32)} == expected


def test_basque_locative_days_follow_the_euskaltzaindia_list():
    # Euskaltzaindia norm 37, as listed by the academy: 1ean, 2an ... 11n ... 31n.
    listed = ("1ean 2an 3an 4an 5ean 6an 7an 8an 9an 10ean 11n 12an 13an 14an 15ean 16an "
              "17an 18an 19an 20an 21ean 22an 23an 24an 25ean 26an 27an 28an 29an 30ean 31n")
    assert " ".join(basque_locative(d) for d in range(1, 32)) == listed


@pytest.mark.parametrize("day, expected", [
    (date(2021, 5, 1), "2021eko maiatzaren 1a, larunbata"),
    (date(2030, 10, 31), "2030eko urriaren 31, osteguna"),
    (date(2025, 12, 11), "2025eko abenduaren 11, osteguna"),
    (date(2040, 3, 20), "2040ko martxoaren 20a, asteartea"),
])
def test_basque_full_dates_never_show_cldr_placeholders(day, expected):
    text = format_date(day, "eu", "full")
    assert "(" not in text
    assert text == expected


def test_times_are_24_hour_in_every_language_even_where_cldr_prefers_12():
    assert format_time(time(10, 0), "es") == "10:00"
    assert format_time(time(13, 5), "es-MX") == "13:05"
    assert format_time(time(9, 30), "en") == "09:30"
    assert format_time(datetime(2027, 4, 9, 18, 45), "eu") == "18:45"


@pytest.mark.parametrize("lang, ten, one", [
    ("es", "a las 10:00", "a la 1:00"),
    ("ca", "a les 10:00", "a la 1:00"),
    ("gl", "ás 10:00", "á 01:00"),
    ("eu", "10:00etan", "01:00ean"),
    ("en", "at 10:00", "at 01:00"),
])
def test_time_phrases_agree_with_the_hour(lang, ten, one):
    assert time_phrase(time(10, 0), lang) == ten
    assert time_phrase(time(1, 0), lang) == one


def test_basque_minutes_decide_the_locative_ending():
    assert time_phrase(time(15, 3), "eu") == "15:03an"
    assert time_phrase(time(15, 30), "eu") == "15:30ean"
    assert time_phrase(time(15, 11), "eu") == "15:11n"
    assert time_phrase(time(13, 0), "eu") == "13:00etan"


@pytest.mark.parametrize("lang, expected", [
    ("es", "viernes, 9 de abril de 2027, a las 10:00"),
    ("ca", "divendres, 9 d’abril del 2027, a les 10:00"),
    ("eu", "2027ko apirilaren 9a, ostirala, 10:00etan"),
    ("gl", "venres, 9 de abril de 2027, ás 10:00"),
    ("en", "Friday, 9 April 2027 at 10:00"),
])
def test_datetimes_join_date_and_time_with_each_language_connector(lang, expected):
    assert format_datetime(datetime(2027, 4, 9, 10, 0), lang) == expected


def test_one_oclock_is_singular_in_romance_languages():
    assert format_datetime(datetime(2027, 4, 9, 1, 0), "es", "long") == "9 de abril de 2027, a la 1:00"


def test_language_tags_are_checked_with_a_suggestion():
    check_language("es-MX")
    check_language("ca-valencia")
    check_language("ES_mx")
    with pytest.raises(ValueError, match="did you mean 'es-MX'"):
        check_language("es-MXX")
    with pytest.raises(ValueError):
        format_date(FRIDAY, "fr", "full")


def test_base_language_drops_region_and_variant():
    assert base_language("es-MX") == "es"
    assert base_language("ca-valencia") == "ca"
    assert base_language("eu") == "eu"
    assert localize.SUPPORTED_LANGUAGES["ca-valencia"] == "ca_ES_VALENCIA"
    assert localize.SUPPORTED_LANGUAGES["en"] == "en_GB"


# --- notices (citizen-facing corrections and retractions) -----------------------------


@pytest.mark.parametrize("lang, expected", [
    ("es", "CORRECCIÓN sobre el plazo: donde decía «20 de agosto», debe decir «27 de agosto»."),
    ("ca", "CORRECCIÓ sobre el plazo: on deia «20 de agosto», ha de dir «27 de agosto»."),
    ("gl", "CORRECCIÓN sobre el plazo: onde dicía «20 de agosto», debe dicir «27 de agosto»."),
    ("eu", "ZUZENKETA (el plazo): «20 de agosto» zioen lekuan, «27 de agosto» esan behar du."),
    ("en", "CORRECTION: el plazo is 27 de agosto, not 20 de agosto."),
])
def test_correction_texts_exist_in_every_language(lang, expected):
    assert notices.correction_text(lang, "el plazo", "20 de agosto", "27 de agosto") == expected


def test_corrections_without_label_and_notes_mention_old_and_new():
    for lang in ("es", "es-MX", "ca", "ca-valencia", "eu", "gl", "en"):
        for text in (notices.correction_text(lang, None, "OLD", "NEW"),
                     notices.correction_note(lang, "OLD", "NEW")):
            assert "OLD" in text and "NEW" in text and "{" not in text


def test_retractions_and_cancellations_exist_in_every_language_and_end_with_one_full_stop():
    for lang in ("es", "ca", "ca-valencia", "eu", "gl", "en"):
        for text in (notices.retraction_text(lang), notices.retraction_text(lang, "error en la fecha."),
                     notices.cancellation_text(lang), notices.cancellation_text(lang, "X", "lluvia")):
            assert text.endswith(".") and not text.endswith("..")
    assert notices.retraction_text("es", "error") == (
        "ANULADO: esta publicación queda sin efecto. Motivo: error.")
    assert notices.cancellation_text("gl", "o concerto") == "AVISO: suspéndese o concerto."
    assert notices.cancellation_text("ca-valencia", "el concert") == "AVÍS: se suspén el concert."


def test_notice_overrides_are_used_by_language_and_base_language():
    overrides = {"es": "Fe de erratas: {new} (no {old})."}
    assert notices.correction_text("es-MX", None, "a", "b", overrides) == "Fe de erratas: b (no a)."
    assert notices.correction_text("ca", None, "a", "b", overrides).startswith("CORRECCIÓ")


@pytest.mark.parametrize("template", [
    "{old.__class__}", "{old[0]}", "{old!r}", "{old:>99999999}", "{secret}", "{", "{0}", "{}",
])
def test_notice_overrides_cannot_reach_attributes_indexes_or_formats(template):
    with pytest.raises(notices.NoticeTemplateError):
        notices.correction_text("es", None, "a", "b", {"es": template})


def test_values_inserted_in_notices_are_never_reinterpreted():
    text = notices.correction_text("es", None, "{new.__class__}", "{old}")
    assert "«{new.__class__}»" in text and "«{old}»" in text
