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


def billing_periods(window_start, window_end, next_period_start):
    """Split the days ``[window_start, window_end)`` into billing periods.

    ``next_period_start(day)`` gives the first day of the period after the one
    starting on ``day`` (the plan's recurrence). Every period but the last is
    whole; the last one stops at ``window_end``, as a closed subscription's last
    period stops at its end date. Returns a list of (first day, day after the
    last) pairs; an empty window gives no period.
    """
    periods = []
    start = window_start
    while start < window_end:
        end = next_period_start(start)
        if end <= start:
            raise EngineError(f"A billing period starting on {start} must end after it.")
        periods.append((start, min(end, window_end)))
        start = end
    return periods
