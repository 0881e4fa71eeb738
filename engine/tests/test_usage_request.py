import json
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import RequestRefused, parse_usage_batch, parse_usage_request
from engine.const import MAX_EVENTS_PER_REQUEST, MAX_REQUEST_BYTES


def event(**values):
    base = {'subscription_id': 42, 'metric': 'api_calls', 'quantity': 1200,
            'period_start': '2026-11-01T00:00:00Z', 'period_end': '2026-11-01T01:00:00Z',
            'idempotency_key': 'app-7:42:api_calls:2026-11-01T00'}
    base.update(values)
    return {key: value for key, value in base.items() if value is not ...}


def body(*events, **extra):
    return json.dumps({'events': list(events), **extra}).encode()


def refusal(raw):
    with pytest.raises(RequestRefused) as caught:
        parse_usage_request(raw)
    return caught.value


def test_valid_event_is_parsed_to_naive_utc():
    [parsed] = parse_usage_request(body(event(period_start='2026-11-01T02:00:00+02:00')))
    assert parsed.subscription_id == 42 and parsed.metric == 'api_calls' and parsed.quantity == 1200.0
    assert parsed.period_start == datetime(2026, 11, 1, 0, 0)
    assert parsed.period_end == datetime(2026, 11, 1, 1, 0)


def test_every_problem_is_reported_with_its_index_and_field():
    error = refusal(body(event(), event(quantity=True, metric=''), event(period_end='2026-10-31T00:00:00Z'),
                         event(subscription_id='42', idempotency_key='')))
    assert error.status == 400 and error.code == 'validation_error'
    assert sorted((p.index, p.field) for p in error.problems) == [
        (1, 'metric'), (1, 'quantity'), (2, 'period_end'), (3, 'idempotency_key'), (3, 'subscription_id')]


@pytest.mark.parametrize('quantity', [True, '12', float('nan'), -1, None, [1]])
def test_quantities_that_are_not_finite_non_negative_numbers(quantity):
    raw = json.dumps({'events': [event(quantity=quantity)]}).encode()
    assert refusal(raw).problems[0].field in ('quantity', None)


def test_huge_and_non_standard_numbers_are_refused():
    assert refusal(body(event()).replace(b'1200', b'1e400')).problems[0].field == 'quantity'
    assert refusal(body(event()).replace(b'1200', b'NaN')).status == 400


def test_missing_fields_and_unknown_fields():
    error = refusal(body(event(metric=..., idempotencyKey='x')))
    assert {(p.index, p.field) for p in error.problems} == {(0, 'metric'), (0, 'idempotencyKey')}
    assert refusal(body(event(), extra=1)).problems[0].field == 'extra'


def test_event_without_key_is_accepted():
    [parsed] = parse_usage_request(body(event(idempotency_key=...)))
    assert parsed.idempotency_key is None


def test_same_key_twice_in_a_batch_is_refused():
    error = refusal(body(event(), event(quantity=5)))
    assert [(p.index, p.field) for p in error.problems] == [(1, 'idempotency_key')]
    parse_usage_request(body(event(), event(metric='storage')))


@pytest.mark.parametrize('raw', [b'', b'not json', b'[]', b'{"events": 3}', b'{}', b'\xff\xfe', b'{"events": []}',
                                 b'{"events": [1]}', b'{"events": [{}], "events": []}'])
def test_malformed_bodies_are_400(raw):
    assert refusal(raw).status == 400


def test_limits_are_413():
    assert refusal(body(*[event(idempotency_key=str(i)) for i in range(MAX_EVENTS_PER_REQUEST + 1)])).status == 413
    assert refusal(b' ' * (MAX_REQUEST_BYTES + 1)).status == 413
    assert len(parse_usage_request(body(*[event(idempotency_key=str(i))
                                          for i in range(MAX_EVENTS_PER_REQUEST)]))) == MAX_EVENTS_PER_REQUEST


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20)
event_like = st.fixed_dictionaries({}, optional={
    'subscription_id': json_values, 'metric': json_values, 'quantity': json_values,
    'period_start': json_values | st.just('2026-11-01T00:00:00Z'),
    'period_end': json_values | st.just('2026-11-01T01:00:00Z'), 'idempotency_key': json_values})


@settings(max_examples=300)
@given(st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.lists(event_like | json_values, max_size=5).map(lambda events: json.dumps({'events': events}).encode()),
))
def test_any_body_gives_events_or_a_400_or_413(raw):
    try:
        events = parse_usage_request(raw)
    except RequestRefused as error:
        assert error.status in (400, 413) and error.problems is not None
    else:
        assert all(event.period_start < event.period_end for event in events)


def test_a_period_starting_more_than_five_minutes_ahead_is_refused():
    now = datetime(2026, 11, 1, 0, 0)
    batch = parse_usage_batch(body(event(period_start='2026-11-01T00:05:00Z', period_end='2026-11-01T01:00:00Z',
                                         idempotency_key='drift'),
                                   event(period_start='2026-11-01T00:05:01Z', period_end='2026-11-01T01:00:00Z')),
                              now=now)
    assert [problem.as_dict() for problem in batch.problems] == [
        {'index': 1, 'field': 'period_start', 'message': "period_start is in the future: usage cannot have happened yet."}]
    assert [parsed.index for parsed in batch.events] == [0]


def test_the_batch_keeps_its_valid_events_beside_the_problems_of_the_others():
    batch = parse_usage_batch(body(event(quantity='12'), event(idempotency_key='b'), event(metric=None)))
    assert [(problem.index, problem.field) for problem in batch.problems] == [(0, 'quantity'), (2, 'metric')]
    assert [parsed.index for parsed in batch.events] == [1]


def test_a_refusal_details_the_first_hundred_problems_and_counts_them_all():
    raw = body(*[{'subscription_id': 'x', 'metric': 1} for _index in range(60)])
    refused = refusal(raw)
    assert refused.count == 60 * 5
    assert len(refused.problems) == 100
    assert refused.message == "300 problems in the request."
    assert refused.problems[0].index == 0
