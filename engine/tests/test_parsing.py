"""Validation of API input: timestamps, quantities, keys, ids and JSON bodies."""

import json
from datetime import datetime
from decimal import Decimal

import pytest

from engine import parsing
from engine import (
    EngineError,
    InputError,
    load_json_object,
    parse_idempotency_key,
    parse_metric_code,
    parse_period,
    parse_quantity,
    parse_record_id,
    parse_timestamp,
)


# Timestamps

@pytest.mark.parametrize('value, expected', [
    ('2026-11-01T00:00:00Z', datetime(2026, 11, 1)),
    ('2026-11-01T02:00:00+02:00', datetime(2026, 11, 1)),
    ('2026-11-01T00:30:00-05:30', datetime(2026, 11, 1, 6)),
    ('2026-11-01T00:00:00+01:00', datetime(2026, 10, 31, 23)),
    ('2026-11-01T00:00:00', datetime(2026, 11, 1)),
    ('2026-11-01 00:00:00', datetime(2026, 11, 1)),
    ('2026-11-01T00:00:00.250Z', datetime(2026, 11, 1, 0, 0, 0, 250000)),
    ('2026-11-01', datetime(2026, 11, 1)),
    ('20261101T000000Z', datetime(2026, 11, 1)),
])
def test_timestamps_become_naive_utc(value, expected):
    parsed = parse_timestamp(value, 'period_start')
    assert parsed == expected
    assert parsed.tzinfo is None


@pytest.mark.parametrize('value', [
    1730419200, 1730419200.0, True, None, ['2026-11-01'], b'2026-11-01T00:00:00Z',
])
def test_a_timestamp_must_be_a_string(value):
    with pytest.raises(InputError, match="must be an ISO 8601 timestamp string") as error:
        parse_timestamp(value, 'period_start')
    assert error.value.field == 'period_start'


@pytest.mark.parametrize('value', ['', '   '])
def test_an_empty_timestamp_is_refused(value):
    with pytest.raises(InputError, match="period_end must not be empty") as error:
        parse_timestamp(value, 'period_end')
    assert error.value.field == 'period_end'


@pytest.mark.parametrize('value', [
    'yesterday',
    '2026-13-01T00:00:00Z',
    '2026-11-31T00:00:00Z',
    '2026-11-01T25:00:00Z',
    '2026-11-01X00:00:00',
    ' 2026-11-01T00:00:00Z',
    '2026-11-01T00:00:00+25:00',
    '01/11/2026',
])
def test_garbage_and_impossible_timestamps_are_refused(value):
    with pytest.raises(InputError, match="must be an ISO 8601 timestamp, e.g.") as error:
        parse_timestamp(value, 'period_start')
    assert error.value.field == 'period_start'


def test_a_long_text_is_refused_without_being_kept():
    cache = parsing._utc_timestamp  # pylint: disable=protected-access
    before = cache.cache_info().currsize
    with pytest.raises(InputError, match="must be an ISO 8601 timestamp, e.g."):
        parse_timestamp('2026-11-01T00:00:00' + '0' * 100_000, 'period_start')
    assert cache.cache_info().currsize == before


def test_a_timestamp_that_leaves_the_calendar_in_utc_is_refused():
    with pytest.raises(InputError, match="out of range once converted to UTC"):
        parse_timestamp('0001-01-01T00:00:00+01:00', 'period_start')


def test_the_message_does_not_repeat_the_value():
    with pytest.raises(InputError) as error:
        parse_timestamp('secret-looking-value', 'period_start')
    assert 'secret-looking-value' not in str(error.value)


def test_a_period_is_returned_as_two_datetimes():
    assert parse_period('2026-11-01T00:00:00Z', '2026-11-01T01:00:00Z') == (
        datetime(2026, 11, 1, 0),
        datetime(2026, 11, 1, 1),
    )


@pytest.mark.parametrize('start, end', [
    ('2026-11-01T01:00:00Z', '2026-11-01T00:00:00Z'),
    ('2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z'),
    # The same instant written with two offsets is still an empty period.
    ('2026-11-01T02:00:00+02:00', '2026-11-01T00:00:00Z'),
])
def test_a_period_must_start_before_it_ends(start, end):
    with pytest.raises(InputError) as error:
        parse_period(start, end)
    assert str(error.value) == "period_start must be before period_end."
    assert error.value.field == 'period_end'


def test_a_period_reports_the_bad_bound():
    with pytest.raises(InputError) as error:
        parse_period('2026-11-01T00:00:00Z', 'soon')
    assert error.value.field == 'period_end'
    with pytest.raises(InputError) as error:
        parse_period(None, '2026-11-01T00:00:00Z')
    assert error.value.field == 'period_start'


# Quantities

@pytest.mark.parametrize('value, expected', [
    (0, 0.0),
    (1200, 1200.0),
    (0.5, 0.5),
    (Decimal('2.25'), 2.25),
    (-0.0, 0.0),
    (1e15, 1e15),
    (10 ** 15, 1e15),
])
def test_finite_non_negative_numbers_are_quantities(value, expected):
    quantity = parse_quantity(value)
    assert quantity == expected
    assert type(quantity) is float


def test_negative_zero_is_stored_as_zero():
    assert str(parse_quantity(-0.0)) == '0.0'


@pytest.mark.parametrize('value', [True, False, '12', None, [1], {'value': 1}])
def test_non_numbers_are_not_quantities(value):
    with pytest.raises(InputError, match="quantity must be a number") as error:
        parse_quantity(value)
    assert error.value.field == 'quantity'


@pytest.mark.parametrize('value', [
    float('nan'), float('inf'), float('-inf'), Decimal('NaN'), Decimal('sNaN'), Decimal('Infinity'),
])
def test_nan_and_infinities_are_not_quantities(value):
    with pytest.raises(InputError, match="quantity must be a finite number"):
        parse_quantity(value)


@pytest.mark.parametrize('value', [-1, -0.001, Decimal('-5')])
def test_negative_quantities_are_refused(value):
    with pytest.raises(InputError, match="quantity must not be negative"):
        parse_quantity(value)


@pytest.mark.parametrize('value', [Decimal('1e400'), 10**400, 1e120, 1.7976931348623157e308, 10 ** 15 + 1,
                                   1e15 * (1 + 2 ** -52)])
def test_quantities_above_ten_to_the_fifteen_are_refused(value):
    with pytest.raises(InputError, match="at most 10\\^15"):
        parse_quantity(value)


def test_a_json_1e400_is_infinity_and_refused():
    value = json.loads('{"quantity": 1e400}')['quantity']
    with pytest.raises(InputError, match="finite"):
        parse_quantity(value)


def test_the_field_name_is_reported():
    with pytest.raises(InputError) as error:
        parse_quantity('1', field='alert_threshold')
    assert error.value.field == 'alert_threshold'
    assert str(error.value).startswith('alert_threshold ')


# Idempotency keys

def test_a_missing_key_is_none():
    assert parse_idempotency_key(None) is None


def test_a_key_is_kept_exactly_as_sent():
    assert parse_idempotency_key(' app-7:42 ') == ' app-7:42 '
    assert parse_idempotency_key('k' * 255) == 'k' * 255
    assert parse_idempotency_key('日本' * 100) == '日本' * 100


@pytest.mark.parametrize('value, message', [
    ('', "must not be empty"),
    ('   \t', "must not be empty"),
    ('k' * 256, "at most 255 characters"),
    (42, "must be a string"),
    (True, "must be a string"),
    (['k'], "must be a string"),
    ('a\x00b', "NUL"),
])
def test_bad_keys_are_refused(value, message):
    with pytest.raises(InputError, match=message) as error:
        parse_idempotency_key(value)
    assert error.value.field == 'idempotency_key'


# Metric codes and record ids

def test_a_metric_code_is_a_non_empty_string():
    assert parse_metric_code('api_calls') == 'api_calls'
    for value in ('', ' ', None, 7, 'a\x00'):
        with pytest.raises(InputError) as error:
            parse_metric_code(value)
        assert error.value.field == 'metric'


def test_a_record_id_is_a_positive_32_bit_integer():
    assert parse_record_id(42, 'subscription_id') == 42
    assert parse_record_id(2**31 - 1, 'subscription_id') == 2**31 - 1
    for value in (0, -1, 2**31, True, '42', 42.0, None):
        with pytest.raises(InputError) as error:
            parse_record_id(value, 'subscription_id')
        assert error.value.field == 'subscription_id'


# JSON bodies

def test_a_json_object_is_decoded():
    body = '{"events": [{"metric": "api_calls", "quantity": 1.5, "customer": "Müller"}]}'.encode()
    assert load_json_object(body) == {
        'events': [{'metric': 'api_calls', 'quantity': 1.5, 'customer': 'Müller'}],
    }


@pytest.mark.parametrize('raw, message', [
    (b'\xff\xfe{}', "not valid UTF-8"),
    ('{"name": "Müller"}'.encode('latin-1'), "not valid UTF-8"),
    (b'', "empty"),
    (b'  \n', "empty"),
    (b'{"events": [}', "not valid JSON"),
    (b"{'events': []}", "not valid JSON"),
    (b'{"quantity": NaN}', "NaN is not a JSON value"),
    (b'{"quantity": Infinity}', "Infinity is not a JSON value"),
    (b'{"quantity": -Infinity}', "-Infinity is not a JSON value"),
    (b'[{"quantity": 1}]', "must be a JSON object"),
    (b'"events"', "must be a JSON object"),
    (b'null', "must be a JSON object"),
    (b'{"a": 1, "a": 2}', "key 'a' more than once"),
    (b'{"key": "a\\u0000b"}', "cannot be stored"),
    (b'{"key": "\\ud800"}', "cannot be stored"),
    (b'{"events": [' * 100000, "nested too deeply"),
    (b'{"n": ' + b'9' * 5000 + b'}', "number too long"),
    ('\ufeff{}'.encode(), "not valid JSON"),
])
def test_bad_bodies_are_refused_as_a_whole(raw, message):
    with pytest.raises(InputError, match=message) as error:
        load_json_object(raw)
    assert error.value.field is None


def test_a_json_error_says_where():
    with pytest.raises(InputError, match=r"line 2, column 1"):
        load_json_object(b'{"events": []\n]')


def test_input_errors_are_engine_errors():
    assert issubclass(InputError, EngineError)
    assert InputError("message").field is None
    assert InputError("message", 'quantity').field == 'quantity'
