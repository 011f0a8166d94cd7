"""Deadlines counted as Ley 39/2015 art. 30 counts them, checked against hand-computed dates.

2027 facts used below: 1 January is a Friday; Easter Sunday is 28 March, so Jueves Santo
is 25 March, Viernes Santo 26 March (national) and Lunes de Pascua 29 March.
"""

from __future__ import annotations

import calendar
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.calendar.deadlines import DeadlineResult, add_period, business_days_between
from worker.calendar.holiday_calendar import HolidayCalendar, check_region, holiday_calendar
from worker.calendar.timeparse import TimeValueError

D = dt.date
ES = holiday_calendar("ES", (), [2027])
VC = holiday_calendar("ES-VC", (), [2027])
PV = holiday_calendar("ES-PV", (), [2027])
MX = holiday_calendar("MX", (), [2027])


# --- the holiday calendar ---------------------------------------------------------------

def test_easter_monday_2027_is_a_valencian_holiday_with_its_spanish_name():
    assert VC.holiday_name(D(2027, 3, 29)) == "Lunes de Pascua"
    assert not VC.is_business_day(D(2027, 3, 29))


def test_san_jose_is_a_valencian_holiday_but_not_a_national_one():
    assert VC.holiday_name(D(2027, 3, 19)) == "San José"
    assert ES.is_business_day(D(2027, 3, 19))


def test_the_basque_country_keeps_maundy_thursday_and_easter_monday_in_2027():
    assert PV.holiday_name(D(2027, 3, 25)) == "Jueves Santo"
    assert PV.holiday_name(D(2027, 3, 29)) == "Lunes de Pascua"
    assert VC.is_business_day(D(2027, 3, 25))


def test_good_friday_is_a_national_holiday():
    assert ES.holiday_name(D(2027, 3, 26)) == "Viernes Santo"


def test_weekends_are_not_business_days_even_without_a_holiday():
    assert not ES.is_business_day(D(2027, 4, 3))  # Saturday
    assert not ES.is_business_day(D(2027, 4, 4))  # Sunday
    assert ES.holiday_name(D(2027, 4, 3)) is None


def test_the_next_business_day_after_easter_in_valencia_is_tuesday():
    assert VC.next_business_day(D(2027, 3, 26)) == D(2027, 3, 30)
    assert VC.next_business_day(D(2027, 3, 30)) == D(2027, 3, 30)


def test_a_local_holiday_is_not_a_business_day_and_is_named():
    cal = holiday_calendar("ES-VC", [(D(2027, 5, 14), "Fiesta local")], [2027])
    assert cal.holiday_name(D(2027, 5, 14)) == "Fiesta local"
    assert not cal.is_business_day(D(2027, 5, 14))


def test_a_local_holiday_on_a_regional_one_lists_both_names():
    cal = holiday_calendar("ES-VC", [(D(2027, 3, 19), "Fallas")], [2027])
    assert cal.holiday_name(D(2027, 3, 19)) == "San José; Fallas"


def test_calendars_with_the_same_content_are_equal_and_hashable():
    a = holiday_calendar("ES-VC", [(D(2027, 5, 14), "Fiesta local")], [2027])
    b = holiday_calendar("ES-VC", [(D(2027, 5, 14), "Fiesta local")], [])
    assert a == b and hash(a) == hash(b)
    assert isinstance(a, HolidayCalendar)


def test_holidays_of_years_not_preloaded_are_still_known():
    assert ES.holiday_name(D(2028, 1, 6)) == "Epifanía del Señor"


def test_a_misspelt_region_suggests_the_iso_code():
    with pytest.raises(TimeValueError) as err:
        check_region("ES-vc")
    assert err.value.hint == "did you mean 'ES-VC'?"


def test_a_region_written_as_its_name_suggests_the_iso_code():
    with pytest.raises(TimeValueError) as err:
        check_region("ES-Valenciana")
    assert "ES-VC" in err.value.hint


def test_an_unknown_country_is_rejected():
    with pytest.raises(TimeValueError) as err:
        holiday_calendar("XX", (), [2027])
    assert "unknown country" in err.value.message


def test_a_subdivision_the_package_does_not_know_is_refused_rather_than_silently_national():
    with pytest.raises(TimeValueError) as err:
        check_region("MX-CMX")
    assert "knows no regions of MX" in err.value.message
    assert "local holidays" in err.value.hint


def test_a_local_holiday_that_is_not_a_date_is_rejected():
    with pytest.raises(TimeValueError):
        holiday_calendar("ES", [("2027-05-14", "Fiesta local")], [2027])  # type: ignore[list-item]


# --- business days (art. 30.2) ----------------------------------------------------------

def test_a_twenty_business_day_period_skips_easter_in_valencia():
    # Counted from Mon 15 Mar: 15-18 (4), 19 San José, 22-25 (8), 26 V. Santo, 29 L. Pascua,
    # 30-31 and 1-2 Apr (12), 5-9 Apr (17), 12-14 Apr (20).
    result = add_period(D(2027, 3, 12), business_days=20, holidays=VC)
    assert result.last_day == D(2027, 4, 14)
    assert result.nominal_last_day == result.last_day and result.moved_because is None
    assert result.skipped_holidays == (
        (D(2027, 3, 19), "San José"),
        (D(2027, 3, 26), "Viernes Santo"),
        (D(2027, 3, 29), "Lunes de Pascua"),
    )
    assert result.explanation == (
        "20 business days from the day after 2027-03-12: ends 2027-04-14 "
        "(skips 2027-03-19 San José, 2027-03-26 Viernes Santo, 2027-03-29 Lunes de Pascua)"
    )


def test_a_twenty_business_day_period_with_national_holidays_only_ends_on_april_12():
    # Only Viernes Santo is skipped: 15-19 (5), 22-25 (9), 29 Mar-2 Apr (14), 5-9 (19), 12 (20).
    assert add_period(D(2027, 3, 12), business_days=20, holidays=ES).last_day == D(2027, 4, 12)


@pytest.mark.parametrize("cal, expected", [
    (ES, D(2027, 4, 5)),  # 22-25 (4), 29 Mar-2 Apr (9), 5 Apr (10)
    (VC, D(2027, 4, 6)),  # 22-25 (4), 30 Mar-2 Apr (8), 5-6 Apr (10)
    (PV, D(2027, 4, 7)),  # 22-24 (3), 30 Mar-2 Apr (7), 5-7 Apr (10)
])
def test_ten_business_days_across_easter_depend_on_the_region(cal, expected):
    assert add_period(D(2027, 3, 19), business_days=10, holidays=cal).last_day == expected


def test_a_local_holiday_adds_a_day_to_a_business_day_period():
    cal = holiday_calendar("ES-VC", [(D(2027, 5, 14), "Fiesta local")], [2027])
    # From Mon 10 May: 11, 12, 13 (3), Fri 14 local holiday, 17, 18 (5).
    result = add_period(D(2027, 5, 10), business_days=5, holidays=cal)
    assert result.last_day == D(2027, 5, 18)
    assert result.skipped_holidays == ((D(2027, 5, 14), "Fiesta local"),)
    assert add_period(D(2027, 5, 10), business_days=5, holidays=VC).last_day == D(2027, 5, 17)


def test_a_business_day_period_crosses_into_the_next_year_and_skips_epiphany():
    # From Wed 29 Dec 2027: 30, 31 (2), Mon 3 Jan 2028 (3), 4, 5 (5), Thu 6 Epiphany, 7 (6).
    assert add_period(D(2027, 12, 29), business_days=5, holidays=ES).last_day == D(2028, 1, 5)
    assert add_period(D(2027, 12, 29), business_days=6, holidays=ES).last_day == D(2028, 1, 7)


def test_a_notification_on_a_saturday_counts_from_monday():
    assert add_period(D(2027, 4, 3), business_days=1, holidays=ES).last_day == D(2027, 4, 5)


def test_mexican_constitution_day_on_the_first_monday_of_february_is_skipped():
    assert MX.holiday_name(D(2027, 2, 1)) == "Día de la Constitución"
    assert add_period(D(2027, 1, 29), business_days=1, holidays=MX).last_day == D(2027, 2, 2)


def test_benito_juarez_day_on_the_third_monday_of_march_is_skipped_in_mexico():
    assert add_period(D(2027, 3, 12), business_days=1, holidays=MX).last_day == D(2027, 3, 16)


def test_mexico_has_no_federal_holiday_on_good_friday():
    assert MX.is_business_day(D(2027, 3, 26))


# --- calendar days and weeks (art. 30.5) ------------------------------------------------

def test_calendar_days_landing_on_a_sunday_move_to_monday():
    result = add_period(D(2027, 4, 1), calendar_days=10, holidays=ES)
    assert result.nominal_last_day == D(2027, 4, 11)
    assert result.last_day == D(2027, 4, 12)
    assert result.moved_because == "2027-04-11 is a Sunday"
    assert "art. 30.5" in result.explanation


def test_calendar_days_ending_on_easter_sunday_move_past_easter_monday_in_valencia():
    result = add_period(D(2027, 3, 18), calendar_days=10, holidays=VC)
    assert result.nominal_last_day == D(2027, 3, 28)
    assert result.last_day == D(2027, 3, 30)
    assert result.skipped_holidays == ((D(2027, 3, 29), "Lunes de Pascua"),)
    assert add_period(D(2027, 3, 18), calendar_days=10, holidays=ES).last_day == D(2027, 3, 29)


def test_calendar_days_count_holidays_inside_the_period():
    # 15 Mar + 15 days = Tue 30 Mar, a business day, despite three holidays on the way.
    result = add_period(D(2027, 3, 15), calendar_days=15, holidays=VC)
    assert result.last_day == result.nominal_last_day == D(2027, 3, 30)
    assert result.moved_because is None and result.skipped_holidays == ()


def test_a_week_ending_on_easter_monday_moves_to_tuesday_in_valencia():
    result = add_period(D(2027, 3, 22), weeks=1, holidays=VC)
    assert result.nominal_last_day == D(2027, 3, 29)
    assert result.last_day == D(2027, 3, 30)
    assert result.moved_because == "2027-03-29 is a holiday: Lunes de Pascua"


# --- months and years (art. 30.4) -------------------------------------------------------

def test_january_31_plus_one_month_clamps_to_february_28_then_moves_off_the_sunday():
    result = add_period(D(2027, 1, 31), months=1, holidays=ES)
    assert result.nominal_last_day == D(2027, 2, 28)
    assert result.last_day == D(2027, 3, 1)
    assert result.moved_because == "2027-02-28 is a Sunday"
    assert "February 2027 has no day 31" in result.explanation


def test_a_month_ends_on_the_same_day_of_month():
    assert add_period(D(2027, 4, 9), months=1, holidays=ES).last_day == D(2027, 5, 10)
    # Sun 9 May moves to Mon 10 May; 9 June is a Wednesday and stays.
    assert add_period(D(2027, 5, 9), months=1, holidays=ES).last_day == D(2027, 6, 9)


def test_a_month_ending_on_san_jose_moves_in_valencia_but_not_nationally():
    result = add_period(D(2027, 2, 19), months=1, holidays=VC)
    assert result.last_day == D(2027, 3, 22)
    assert result.moved_because == "2027-03-19 is a holiday: San José"
    assert add_period(D(2027, 2, 19), months=1, holidays=ES).last_day == D(2027, 3, 19)


def test_three_months_cross_the_year_end():
    # 30 Nov 2027 + 3 months: February 2028 has 29 days, so Tue 29 Feb 2028.
    assert add_period(D(2027, 11, 30), months=3, holidays=ES).last_day == D(2028, 2, 29)


def test_a_year_from_february_29_ends_on_february_28():
    result = add_period(D(2028, 2, 29), years=1, holidays=ES)
    assert result.last_day == result.nominal_last_day == D(2029, 2, 28)  # a Wednesday


def test_a_year_ending_on_a_saturday_moves_to_monday():
    # 1 May 2027 is a Saturday and Labour Day; 3 May is a Monday.
    result = add_period(D(2026, 5, 1), years=1, holidays=ES)
    assert result.nominal_last_day == D(2027, 5, 1)
    assert result.last_day == D(2027, 5, 3)
    assert result.moved_because == "2027-05-01 is a Saturday and a holiday: Fiesta del Trabajo"


# --- validation -------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [{}, {"business_days": 1, "months": 1}])
def test_a_period_needs_exactly_one_unit(kwargs):
    with pytest.raises(TimeValueError) as err:
        add_period(D(2027, 1, 1), holidays=ES, **kwargs)
    assert "exactly one unit" in err.value.message


@pytest.mark.parametrize("kwargs", [{"business_days": -3}, {"months": True}, {"weeks": 1.5}])
def test_a_period_length_must_be_a_positive_whole_number(kwargs):
    with pytest.raises(TimeValueError):
        add_period(D(2027, 1, 1), holidays=ES, **kwargs)


def test_business_days_between_counts_the_half_open_interval():
    assert business_days_between(D(2027, 3, 12), D(2027, 4, 14), VC) == 20
    assert business_days_between(D(2027, 3, 12), D(2027, 3, 12), VC) == 0
    assert business_days_between(D(2027, 3, 15), D(2027, 3, 12), VC) == 0


# --- properties -------------------------------------------------------------------------

calendars = st.sampled_from([ES, VC, PV, MX])
starts = st.dates(min_value=D(2025, 1, 1), max_value=D(2030, 12, 31))


@settings(max_examples=200, deadline=None)
@given(start=starts, n=st.integers(min_value=1, max_value=60), cal=calendars)
def test_a_business_day_period_ends_on_the_nth_business_day_after_start(start, n, cal):
    result = add_period(start, business_days=n, holidays=cal)
    assert isinstance(result, DeadlineResult)
    assert cal.is_business_day(result.last_day)
    assert result.last_day > start
    assert business_days_between(start, result.last_day, cal) == n


@settings(max_examples=200, deadline=None)
@given(start=starts, n=st.integers(min_value=1, max_value=36), cal=calendars)
def test_a_month_period_ends_on_a_business_day_no_earlier_than_nominal(start, n, cal):
    result = add_period(start, months=n, holidays=cal)
    assert cal.is_business_day(result.last_day)
    assert result.last_day >= result.nominal_last_day > start
    nominal = result.nominal_last_day
    days_in_month = calendar.monthrange(nominal.year, nominal.month)[1]
    assert nominal.day == min(start.day, days_in_month)
    assert (nominal.year * 12 + nominal.month) - (start.year * 12 + start.month) == n
    assert (result.moved_because is None) == (result.last_day == result.nominal_last_day)


@settings(max_examples=200, deadline=None)
@given(start=starts, n=st.integers(min_value=1, max_value=90), cal=calendars)
def test_a_calendar_day_period_ends_on_the_first_business_day_from_day_n(start, n, cal):
    result = add_period(start, calendar_days=n, holidays=cal)
    assert result.nominal_last_day == start + dt.timedelta(days=n)
    assert cal.is_business_day(result.last_day)
    assert business_days_between(result.nominal_last_day - dt.timedelta(days=1),
                                 result.last_day - dt.timedelta(days=1), cal) == 0
