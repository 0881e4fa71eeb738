"""Aggregation of usage rows into the one quantity a charge is priced on."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from .const import AGGREGATION_LAST, AGGREGATION_MAX, AGGREGATION_SUM, AGGREGATION_UNIQUE_COUNT
from .exceptions import EngineError
from .money import decimal_context, to_decimal


@dataclass(frozen=True)
class UsageRow:
    """One stored usage rollup, as much of it as aggregation needs.

    ``written_at`` and ``row_id`` give the write order, used by ``last`` to
    break a tie between rows with the same ``period_start``.
    """

    period_start: datetime
    quantity: Decimal
    written_at: datetime
    row_id: int

    def __post_init__(self):
        object.__setattr__(self, 'quantity', to_decimal(self.quantity, "Usage quantity"))


def _as_usage_row(row):
    """Return ``row`` as a UsageRow; a 4-tuple is read in UsageRow field order."""
    if isinstance(row, UsageRow):
        return row
    if isinstance(row, tuple) and len(row) == 4:
        return UsageRow(*row)
    raise EngineError(
        "A usage row must be a UsageRow or a (period_start, quantity, written_at, row_id) tuple."
    )


def _sum(rows):
    """Return the total of the quantities."""
    return sum((row.quantity for row in rows), Decimal(0))


def _max(rows):
    """Return the largest quantity."""
    return max(row.quantity for row in rows)


def _last(rows):
    """Return the quantity of the most recent row."""
    # Latest period wins; for the same period the latest write wins, and the
    # highest id settles rows written in the same instant.
    return max(rows, key=lambda row: (row.period_start, row.written_at, row.row_id)).quantity


def _unique_count(rows):
    """Return how many distinct quantity values the rows hold."""
    # Decimal('1') and Decimal('1.0') are equal and hash alike, so a set
    # counts them once.
    return Decimal(len({row.quantity for row in rows}))


AGGREGATORS = {
    AGGREGATION_SUM: _sum,
    AGGREGATION_MAX: _max,
    AGGREGATION_LAST: _last,
    AGGREGATION_UNIQUE_COUNT: _unique_count,
}


def aggregate(aggregation, rows):
    """Return the aggregated quantity of ``rows`` as a Decimal.

    ``aggregation`` is one of ``const.AGGREGATIONS``. No rows give 0 under
    every aggregation. Raises EngineError for an unknown aggregation.
    """
    aggregator = AGGREGATORS.get(aggregation) if isinstance(aggregation, str) else None
    if aggregator is None:
        raise EngineError(f"Unknown aggregation {aggregation!r}.")
    rows = [_as_usage_row(row) for row in rows]
    if not rows:
        return Decimal(0)
    with decimal_context():
        return aggregator(rows)


def rows_in_window(rows, window):
    """Return the rows whose ``period_start`` falls in ``window`` ([start, end))."""
    return [row for row in map(_as_usage_row, rows) if window.contains(row.period_start)]
