"""Aggregation of usage rows and their filtering by billing window."""

from datetime import datetime
from decimal import Decimal

import pytest

from engine import AGGREGATIONS, BillingWindow, EngineError, UsageRow, aggregate, rows_in_window

D = Decimal
WRITTEN = datetime(2026, 11, 2, 9, 0)


def row(hour, quantity, written_at=WRITTEN, row_id=1):
    return UsageRow(datetime(2026, 11, 1, hour), quantity, written_at, row_id)


ROWS = [row(0, 10, row_id=1), row(2, 4, row_id=2), row(1, 25, row_id=3), row(3, 4, row_id=4)]


@pytest.mark.parametrize('aggregation, expected', [
    ('sum', D(43)),
    ('max', D(25)),
    ('last', D(4)),
    ('unique_count', D(3)),
])
def test_each_aggregation_on_the_same_rows(aggregation, expected):
    assert aggregate(aggregation, ROWS) == expected


@pytest.mark.parametrize('aggregation', AGGREGATIONS)
def test_no_rows_aggregate_to_zero(aggregation):
    result = aggregate(aggregation, [])
    assert result == D(0)
    assert isinstance(result, Decimal)


def test_sum_of_floats_is_exact():
    rows = [row(0, 0.1), row(1, 0.2)]
    assert aggregate('sum', rows) == D('0.3')


def test_last_takes_the_latest_period_even_when_written_earlier():
    rows = [
        row(5, 7, written_at=datetime(2026, 11, 1, 6)),
        row(4, 9, written_at=datetime(2026, 11, 3, 0)),
    ]
    assert aggregate('last', rows) == D(7)


def test_last_breaks_a_period_tie_with_the_latest_write():
    rows = [
        row(5, 7, written_at=datetime(2026, 11, 2, 10), row_id=9),
        row(5, 3, written_at=datetime(2026, 11, 2, 11), row_id=2),
    ]
    assert aggregate('last', rows) == D(3)


def test_last_breaks_a_write_time_tie_with_the_highest_id():
    rows = [row(5, 3, row_id=12), row(5, 7, row_id=11)]
    assert aggregate('last', rows) == D(3)
    assert aggregate('last', list(reversed(rows))) == D(3)


def test_unique_count_treats_1_and_1_0_as_one_value():
    rows = [row(0, 1), row(1, 1.0), row(2, D('1.00')), row(3, 2)]
    assert aggregate('unique_count', rows) == D(2)


def test_tuples_are_read_in_usage_row_order():
    rows = [(datetime(2026, 11, 1), 5, WRITTEN, 1), (datetime(2026, 11, 2), 6, WRITTEN, 2)]
    assert aggregate('sum', rows) == D(11)
    assert aggregate('last', rows) == D(6)


@pytest.mark.parametrize('aggregation', ['average', None, 'SUM'])
def test_an_unknown_aggregation_is_refused(aggregation):
    with pytest.raises(EngineError, match="Unknown aggregation"):
        aggregate(aggregation, ROWS)


def test_a_row_of_another_shape_is_refused():
    with pytest.raises(EngineError, match="usage row must be"):
        aggregate('sum', [(datetime(2026, 11, 1), 5)])


def test_a_row_quantity_must_be_a_finite_number():
    with pytest.raises(EngineError, match="Usage quantity must be a finite number"):
        row(0, float('nan'))


def test_rows_in_window_keep_the_start_and_leave_out_the_end():
    window = BillingWindow(datetime(2026, 11, 1, 1), datetime(2026, 11, 1, 3))
    kept = rows_in_window(ROWS, window)
    assert [kept_row.row_id for kept_row in kept] == [2, 3]


def test_a_row_one_microsecond_before_the_end_is_in_the_window():
    window = BillingWindow(datetime(2026, 11, 1), datetime(2026, 12, 1))
    rows = [
        UsageRow(datetime(2026, 11, 30, 23, 59, 59, 999999), 1, WRITTEN, 1),
        UsageRow(datetime(2026, 12, 1), 1, WRITTEN, 2),
        UsageRow(datetime(2026, 10, 31, 23, 59, 59, 999999), 1, WRITTEN, 3),
    ]
    assert [kept_row.row_id for kept_row in rows_in_window(rows, window)] == [1]
