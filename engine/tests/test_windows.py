"""Billing windows and the open billing period of a subscription."""

from datetime import date, datetime, timezone

import pytest

from engine import BillingWindow, EngineError, open_billing_window


def test_a_never_invoiced_subscription_bills_from_its_start_date():
    window = open_billing_window(date(2026, 11, 15), date(2026, 12, 15))
    assert window == BillingWindow(datetime(2026, 11, 15), datetime(2026, 12, 15))


def test_an_invoiced_subscription_bills_from_its_last_invoice_date():
    window = open_billing_window(date(2026, 1, 15), date(2026, 12, 15), date(2026, 11, 15))
    assert window.start == datetime(2026, 11, 15, 0, 0)
    assert window.end == datetime(2026, 12, 15, 0, 0)
    assert window.start.tzinfo is None


def test_a_datetime_given_for_a_date_counts_from_midnight():
    window = open_billing_window(datetime(2026, 11, 15, 13, 30), date(2026, 12, 15))
    assert window.start == datetime(2026, 11, 15)


def test_no_next_invoice_date_means_no_open_period():
    with pytest.raises(EngineError, match="no next invoice date"):
        open_billing_window(date(2026, 11, 15), None)


def test_no_start_means_no_open_period():
    with pytest.raises(EngineError, match="no start date"):
        open_billing_window(None, date(2026, 12, 15))


@pytest.mark.parametrize('next_invoice_date', [date(2026, 11, 15), date(2026, 11, 1)])
def test_an_empty_or_negative_period_is_refused(next_invoice_date):
    with pytest.raises(EngineError, match="would be empty"):
        open_billing_window(date(2026, 1, 1), next_invoice_date, date(2026, 11, 15))


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
