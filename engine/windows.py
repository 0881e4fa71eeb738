"""Billing windows: the half-open periods usage is rated over."""

from dataclasses import dataclass
from datetime import date, datetime, time

from .exceptions import EngineError


@dataclass(frozen=True)
class BillingWindow:
    """The period ``[start, end)`` as naive UTC datetimes (Odoo's convention).

    A timestamp equal to ``end`` belongs to the next window, so consecutive
    windows never share a usage row.
    """

    start: datetime
    end: datetime

    def __post_init__(self):
        for name in ('start', 'end'):
            value = getattr(self, name)
            if not isinstance(value, datetime):
                raise EngineError(f"Billing window {name} must be a datetime.")
            if value.tzinfo is not None:
                raise EngineError(f"Billing window {name} must be a naive UTC datetime.")
        if self.start >= self.end:
            raise EngineError("A billing window must start before it ends.")

    def contains(self, timestamp):
        """Return True when ``timestamp`` (naive UTC) falls in ``[start, end)``."""
        return self.start <= timestamp < self.end


def midnight_utc(day):
    """Return the naive UTC datetime at 00:00 of ``day`` (a date)."""
    if isinstance(day, datetime):
        day = day.date()
    if not isinstance(day, date):
        raise EngineError("Billing dates must be dates.")
    return datetime.combine(day, time.min)


def open_billing_window(start_date, next_invoice_date, last_invoice_date=None):
    """Return the open billing period of a subscription as a BillingWindow.

    The period runs from the last invoice date (or the start date for a
    subscription never invoiced) to the next invoice date, both at 00:00 UTC.
    Raises EngineError when there is no next invoice date, no start, or the
    period would be empty.
    """
    if not next_invoice_date:
        raise EngineError("The subscription has no next invoice date, so it has no open billing period.")
    period_start = last_invoice_date or start_date
    if not period_start:
        raise EngineError("The subscription has no start date, so it has no open billing period.")
    start = midnight_utc(period_start)
    end = midnight_utc(next_invoice_date)
    if start >= end:
        raise EngineError(
            f"The open billing period would be empty: it starts on {start.date()} "
            f"and the next invoice date is {end.date()}."
        )
    return BillingWindow(start, end)
