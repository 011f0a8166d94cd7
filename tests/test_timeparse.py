"""What editors type for dates, times and zones, and the messages they get back."""

from __future__ import annotations

import datetime as dt

import pytest

from worker.calendar.timeparse import (
    AmbiguousLocalTime,
    NonexistentLocalTime,
    TimeValueError,
    check_timezone,
    localize,
    parse_date,
    parse_local_datetime,
    parse_time,
    to_utc_iso,
)


# --- parse_date -------------------------------------------------------------------------

def test_an_iso_date_is_parsed():
    assert parse_date("2027-04-09") == dt.date(2027, 4, 9)


def test_surrounding_spaces_are_ignored():
    assert parse_date(" 2027-04-09 ") == dt.date(2027, 4, 9)


def test_february_30_says_how_many_days_february_has():
    with pytest.raises(TimeValueError) as err:
        parse_date("2027-02-30")
    assert err.value.message == "2027-02-30 is not a date: February 2027 has 28 days"
    assert "YYYY-MM-DD" in err.value.hint and "2027-02-28" in err.value.hint


def test_february_29_in_a_common_year_says_it_is_not_a_leap_year():
    with pytest.raises(TimeValueError) as err:
        parse_date("2027-02-29")
    assert "2027 is not a leap year" in err.value.message


def test_february_29_in_a_leap_year_is_accepted():
    assert parse_date("2028-02-29") == dt.date(2028, 2, 29)


def test_month_13_is_named_as_the_problem():
    with pytest.raises(TimeValueError) as err:
        parse_date("2027-13-01")
    assert "there is no month 13" in err.value.message
    assert "month comes second" in err.value.hint


def test_day_31_in_april_says_april_has_30_days():
    with pytest.raises(TimeValueError) as err:
        parse_date("2027-04-31")
    assert "April 2027 has 30 days" in err.value.message
    assert "2027-04-30" in err.value.hint


def test_day_zero_is_rejected():
    with pytest.raises(TimeValueError) as err:
        parse_date("2027-04-00")
    assert "there is no day 0" in err.value.message


def test_a_day_first_slash_date_is_rejected_with_the_day_first_reading_as_a_suggestion():
    with pytest.raises(TimeValueError) as err:
        parse_date("9/4/2027")
    assert "YYYY-MM-DD" in err.value.message
    assert err.value.hint == "if you meant 9 April 2027, write 2027-04-09"


def test_single_digit_month_and_day_are_rejected_with_the_padded_form():
    with pytest.raises(TimeValueError) as err:
        parse_date("2027-4-9")
    assert "two digits" in err.value.message
    assert err.value.hint == "write 2027-04-09"


def test_free_text_is_rejected_with_the_format():
    with pytest.raises(TimeValueError) as err:
        parse_date("next friday")
    assert "YYYY-MM-DD" in err.value.hint


def test_a_yaml_date_object_is_rejected_because_only_text_is_accepted():
    with pytest.raises(TimeValueError) as err:
        parse_date(dt.date(2027, 4, 9))  # type: ignore[arg-type]
    assert "as text" in err.value.message and "quote" in err.value.hint


def test_time_value_error_is_a_value_error_with_message_and_hint():
    err = TimeValueError("what", "how")
    assert isinstance(err, ValueError)
    assert (err.message, err.hint) == ("what", "how")


# --- parse_time -------------------------------------------------------------------------

def test_hours_and_minutes_are_parsed():
    assert parse_time("09:30") == dt.time(9, 30)


def test_seconds_are_optional():
    assert parse_time("18:00:15") == dt.time(18, 0, 15)


def test_hour_25_is_rejected_with_the_valid_range():
    with pytest.raises(TimeValueError) as err:
        parse_time("25:00")
    assert "hours go from 00 to 23" in err.value.message


def test_hour_24_hints_at_midnight_of_the_next_day():
    with pytest.raises(TimeValueError) as err:
        parse_time("24:00")
    assert "00:00 of the next day" in err.value.hint


def test_minute_60_is_rejected_with_the_valid_range():
    with pytest.raises(TimeValueError) as err:
        parse_time("10:60")
    assert "minutes go from 00 to 59" in err.value.message


def test_second_60_is_rejected():
    with pytest.raises(TimeValueError) as err:
        parse_time("10:00:60")
    assert "seconds go from 00 to 59" in err.value.message


def test_a_single_digit_hour_is_rejected_with_the_padded_form():
    with pytest.raises(TimeValueError) as err:
        parse_time("9:30")
    assert err.value.hint == "write 09:30"


def test_a_twelve_hour_time_is_rejected_with_a_24_hour_hint():
    with pytest.raises(TimeValueError) as err:
        parse_time("6pm")
    assert "12-hour" in err.value.message and "18:00" in err.value.hint


def test_an_integer_time_is_rejected_because_only_text_is_accepted():
    # YAML 1.1 reads an unquoted 9:30 as the sexagesimal integer 570.
    with pytest.raises(TimeValueError) as err:
        parse_time(570)  # type: ignore[arg-type]
    assert "int" in err.value.message


# --- parse_local_datetime ---------------------------------------------------------------

def test_a_space_separated_local_datetime_is_parsed_naive():
    assert parse_local_datetime("2027-04-09 09:30") == dt.datetime(2027, 4, 9, 9, 30)


def test_a_t_separated_local_datetime_with_seconds_is_parsed():
    assert parse_local_datetime("2027-04-09T09:30:05") == dt.datetime(2027, 4, 9, 9, 30, 5)


def test_a_bad_date_inside_a_datetime_reports_the_date_problem():
    with pytest.raises(TimeValueError) as err:
        parse_local_datetime("2027-02-29 10:00")
    assert "not a leap year" in err.value.message


def test_a_bad_time_inside_a_datetime_reports_the_time_problem():
    with pytest.raises(TimeValueError) as err:
        parse_local_datetime("2027-04-09 10:60")
    assert "minutes go from 00 to 59" in err.value.message


def test_a_date_without_time_is_rejected_with_the_format():
    with pytest.raises(TimeValueError) as err:
        parse_local_datetime("2027-04-09")
    assert "YYYY-MM-DD HH:MM" in err.value.hint


@pytest.mark.parametrize("text", ["2027-04-09T09:30:00+02:00", "2027-04-09 09:30Z"])
def test_an_offset_is_rejected_because_the_calendar_zone_decides_it(text):
    with pytest.raises(TimeValueError) as err:
        parse_local_datetime(text)
    assert "offset" in err.value.message and "timezone" in err.value.hint


# --- localize and DST -------------------------------------------------------------------

def test_a_normal_madrid_time_becomes_an_aware_summer_time_instant():
    aware = localize(dt.datetime(2027, 4, 9, 10, 0), "Europe/Madrid")
    assert aware.utcoffset() == dt.timedelta(hours=2)
    assert to_utc_iso(aware) == "2027-04-09T08:00:00.000000+00:00"


def test_half_past_two_on_the_madrid_spring_forward_day_does_not_exist():
    with pytest.raises(NonexistentLocalTime) as err:
        localize(dt.datetime(2027, 3, 28, 2, 30), "Europe/Madrid")
    assert "does not exist" in err.value.message
    assert "02:00 to 03:00" in err.value.message
    assert "03:00" in err.value.hint and "01:59" in err.value.hint


def test_half_past_two_on_the_madrid_fall_back_day_is_ambiguous():
    with pytest.raises(AmbiguousLocalTime) as err:
        localize(dt.datetime(2027, 10, 31, 2, 30), "Europe/Madrid")
    assert "happens twice" in err.value.message
    assert "03:00" in err.value.hint and "01:59" in err.value.hint


def test_the_canaries_jump_an_hour_earlier_in_local_time_than_madrid():
    with pytest.raises(NonexistentLocalTime) as err:
        localize(dt.datetime(2027, 3, 28, 1, 30), "Atlantic/Canary")
    assert "01:00 to 02:00" in err.value.message
    assert "02:00" in err.value.hint and "00:59" in err.value.hint
    # 02:30 is a Madrid gap but a perfectly normal Canary time (WEST, UTC+1).
    assert localize(dt.datetime(2027, 3, 28, 2, 30), "Atlantic/Canary").utcoffset() == dt.timedelta(hours=1)


def test_half_past_one_on_the_canary_fall_back_day_is_ambiguous():
    with pytest.raises(AmbiguousLocalTime):
        localize(dt.datetime(2027, 10, 31, 1, 30), "Atlantic/Canary")


def test_ambiguous_and_nonexistent_times_are_time_value_errors():
    assert issubclass(NonexistentLocalTime, TimeValueError)
    assert issubclass(AmbiguousLocalTime, TimeValueError)


def test_mexico_city_has_no_dst_since_2022_so_the_old_spring_forward_time_is_fine():
    aware = localize(dt.datetime(2027, 4, 4, 2, 30), "America/Mexico_City")
    assert aware.utcoffset() == dt.timedelta(hours=-6)
    assert to_utc_iso(aware) == "2027-04-04T08:30:00.000000+00:00"


def test_localize_rejects_an_already_aware_datetime():
    with pytest.raises(TimeValueError):
        localize(dt.datetime(2027, 4, 9, 10, tzinfo=dt.timezone.utc), "Europe/Madrid")


def test_localize_rejects_an_unknown_zone():
    with pytest.raises(TimeValueError) as err:
        localize(dt.datetime(2027, 4, 9, 10), "Europe/Madird")
    assert "Europe/Madrid" in err.value.hint


# --- check_timezone ---------------------------------------------------------------------

def test_a_known_zone_passes():
    check_timezone("Europe/Madrid")


def test_a_misspelt_zone_suggests_the_closest_one():
    with pytest.raises(TimeValueError) as err:
        check_timezone("Europe/Madird")
    assert "unknown time zone" in err.value.message
    assert err.value.hint == "did you mean 'Europe/Madrid'?"


def test_a_wrongly_cased_zone_suggests_the_right_case():
    with pytest.raises(TimeValueError) as err:
        check_timezone("europe/madrid")
    assert "case-sensitive" in err.value.message
    assert err.value.hint == "did you mean 'Europe/Madrid'?"


def test_a_zone_nothing_like_any_other_gets_examples():
    with pytest.raises(TimeValueError) as err:
        check_timezone("Mars/Olympus_Mons")
    assert "Europe/Madrid" in err.value.hint


# --- to_utc_iso -------------------------------------------------------------------------

def test_utc_iso_has_microseconds_and_a_zero_offset():
    moment = dt.datetime(2027, 1, 15, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert to_utc_iso(moment) == "2027-01-15T08:00:00.000000+00:00"


def test_utc_iso_refuses_a_naive_datetime():
    with pytest.raises(TimeValueError) as err:
        to_utc_iso(dt.datetime(2027, 1, 15, 9, 0))
    assert "localize" in err.value.hint
