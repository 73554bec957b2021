"""Business functions diagrams call by name: real values, and the boundaries the procedures name."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from engine import clock

from tasks import FUNCTIONS, business_function
from tasks.documents import missing_documents
from tasks.periods import days_between, deadline, hours_between, start_of_day_after
from tasks.returns import cancellation_fee


def test_every_business_function_is_registered_under_its_name() -> None:
    assert {"cancellation_fee", "hours_between", "days_between", "missing_documents",
            "start_of_day_after"} <= set(FUNCTIONS)
    assert all(FUNCTIONS[name].__name__ == name for name in FUNCTIONS)


def test_a_second_function_with_a_taken_name_is_refused() -> None:
    def cancellation_fee(price: float, fee_rate: float) -> float:
        return 0.0

    with pytest.raises(ValueError, match="cancellation_fee"):
        business_function(cancellation_fee)
    assert FUNCTIONS["cancellation_fee"](100, 0.1) == 10.0


@pytest.mark.parametrize(("price", "rate", "fee"), [
    (1280, 0.1, 128.0),
    (1005, 0.1, 100.5),
    (99.99, 0.1, 10.0),       # 9.999 rounds half-up to the fen
    (0.05, 0.1, 0.01),        # 0.005 → 0.01, not banker's 0.00
    ("3500", "0.15", 525.0),  # text from a form field
    (1999, 0, 0.0),
    (1999, 1, 1999.0),
])
def test_cancellation_fee_is_price_times_rate_rounded_to_the_fen(price: object, rate: object, fee: float) -> None:
    assert cancellation_fee(price, rate) == fee


@pytest.mark.parametrize(("price", "rate", "message"), [
    (1000, 10, "between 0 and 1"),
    (1000, -0.1, "between 0 and 1"),
    (-5, 0.1, "negative"),
    ("abc", 0.1, "price must be a number"),
    (True, 0.1, "price must be a number"),
    (None, 0.1, "price must be a number"),
    (1000, "nan", "finite"),
])
def test_cancellation_fee_refuses_what_is_not_a_price_or_a_rate(price: object, rate: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cancellation_fee(price, rate)


def test_hours_between_an_order_and_a_request_either_side_of_48_hours() -> None:
    ordered = "2026-01-05 14:30"
    assert hours_between(ordered, "2026-01-07 13:30") == 47.0
    assert hours_between(ordered, "2026-01-07 14:30") == 48.0
    assert hours_between(ordered, "2026-01-07 15:30") == 49.0


def test_hours_between_reads_naive_times_in_the_centre_zone_and_honours_offsets() -> None:
    # 14:30 in Shanghai is 06:30 UTC.
    assert hours_between("2026-01-05 14:30", "2026-01-05T08:30:00+00:00") == 2.0
    assert hours_between(datetime(2026, 1, 5, 6, 30, tzinfo=timezone.utc), "2026-01-05 15:00") == 0.5
    assert hours_between("2026-01-05", "2026-01-05 12:00") == 12.0


def test_hours_between_is_negative_when_the_end_comes_first() -> None:
    assert hours_between("2026-01-07 14:30", "2026-01-05 14:30") == -48.0


def test_days_between_counts_calendar_days_so_day_7_is_in_and_day_8_is_out() -> None:
    bought = "2026-03-01"
    assert days_between(bought, "2026-03-08T21:45:00+08:00") == 7
    assert days_between(bought, "2026-03-09T08:00:00+08:00") == 8
    assert days_between("2026-03-01 23:59", "2026-03-02 00:01") == 1
    assert days_between(date(2026, 2, 27), date(2026, 3, 1)) == 2


def test_days_between_uses_the_local_date_of_a_utc_time() -> None:
    # 2026-03-08 17:00 UTC is already 2026-03-09 01:00 in Shanghai: day 8.
    assert days_between("2026-03-01", "2026-03-08T17:00:00Z") == 8


@pytest.mark.parametrize(("start", "message"), [
    ("", "missing"),
    (None, "missing"),
    ("next tuesday", "not an ISO date"),
    ("2026-13-01", "not an ISO date"),
])
def test_periods_name_the_bad_input(start: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        hours_between(start, "2026-01-05")


def test_missing_documents_lists_unticked_required_ones_in_required_order() -> None:
    checklist = {"业主身份证": True, "入住通知单": False, "房屋买卖契约": True, "委托书": True}
    required = ["房屋买卖契约", "入住通知单", "业主身份证", "受托人身份证"]
    assert missing_documents(checklist, required) == ["入住通知单", "受托人身份证"]


def test_missing_documents_counts_only_a_real_tick() -> None:
    assert missing_documents({"委托书": "false", "单位证明": None, "业主身份证": 1},
                             ["委托书", "单位证明", "业主身份证"]) == ["委托书", "单位证明", "业主身份证"]


def test_missing_documents_accepts_one_name_or_none_as_a_dmn_table_gives_them() -> None:
    assert missing_documents({}, "业主身份证") == ["业主身份证"]
    assert missing_documents({"业主身份证": True}, "业主身份证") == []
    assert missing_documents({}, None) == []


def test_deadline_counts_a_timer_duration_from_the_moment_given() -> None:
    assert clock.parse_time(deadline("2026-03-02 09:00", "PT15M")) == clock.parse_time("2026-03-02T09:15:00+08:00")
    assert clock.parse_time(deadline("2026-03-02T09:00:00+08:00", "PT3H")) == clock.parse_time("2026-03-02T12:00+08:00")
    with pytest.raises(ValueError, match="ISO 8601 duration"):
        deadline("2026-03-02 09:00", "15分钟")


def test_start_of_day_after_counts_calendar_days_from_the_date_written() -> None:
    assert start_of_day_after("2026-03-04", 7) == "2026-03-11T00:00:00+08:00"
    assert start_of_day_after("2026-03-04T23:30:00+08:00", 7) == "2026-03-11T00:00:00+08:00"
    assert start_of_day_after("2026-02-26", 7) == "2026-03-05T00:00:00+08:00"


def test_start_of_day_after_refuses_what_is_not_a_whole_number_of_days() -> None:
    with pytest.raises(ValueError, match="whole number"):
        start_of_day_after("2026-03-04", "7")
