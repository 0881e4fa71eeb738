"""Billing windows and the billing periods inside them."""

from datetime import date, datetime, timezone

import pytest

from engine import BillingWindow, EngineError, billing_periods


def _next_month(day):
    return date(day.year + day.month // 12, day.month % 12 + 1, day.day)


def test_a_window_of_one_period_is_that_period():
    assert billing_periods(date(2026, 11, 1), date(2026, 12, 1), _next_month) == [
        (date(2026, 11, 1), date(2026, 12, 1))]


def test_each_whole_period_of_a_longer_window_is_its_own():
    assert billing_periods(date(2026, 11, 15), date(2027, 2, 15), _next_month) == [
        (date(2026, 11, 15), date(2026, 12, 15)),
        (date(2026, 12, 15), date(2027, 1, 15)),
        (date(2027, 1, 15), date(2027, 2, 15)),
    ]


def test_the_last_period_stops_at_the_end_of_the_window():
    assert billing_periods(date(2026, 11, 1), date(2026, 12, 10), _next_month) == [
        (date(2026, 11, 1), date(2026, 12, 1)), (date(2026, 12, 1), date(2026, 12, 10))]


@pytest.mark.parametrize('window_end', [date(2026, 11, 1), date(2026, 10, 1)])
def test_an_empty_or_inverted_window_has_no_period(window_end):
    assert billing_periods(date(2026, 11, 1), window_end, _next_month) == []


def test_a_recurrence_that_does_not_move_on_is_refused():
    with pytest.raises(EngineError, match="must end after it"):
        billing_periods(date(2026, 11, 1), date(2026, 12, 1), lambda day: day)


def test_a_window_contains_its_start_but_not_its_end():
    window = BillingWindow(datetime(2026, 11, 1), datetime(2026, 12, 1))
    assert window.contains(datetime(2026, 11, 1))
    assert window.contains(datetime(2026, 11, 30, 23, 59, 59, 999999))
    assert not window.contains(datetime(2026, 12, 1))
    assert not window.contains(datetime(2026, 10, 31, 23, 59, 59))


def test_a_window_must_start_before_it_ends():
    with pytest.raises(EngineError, match="must start before it ends"):
        BillingWindow(datetime(2026, 11, 1), datetime(2026, 11, 1))


def test_a_window_uses_naive_utc_datetimes():
    with pytest.raises(EngineError, match="naive UTC"):
        BillingWindow(datetime(2026, 11, 1, tzinfo=timezone.utc), datetime(2026, 12, 1))
    with pytest.raises(EngineError, match="must be a datetime"):
        BillingWindow(date(2026, 11, 1), datetime(2026, 12, 1))
