"""Webhook bodies, signatures, headers and the retry policy."""

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import (
    CONNECT_TIMEOUT,
    MAX_BACKOFF_EXPONENT,
    MAX_DELIVERY_ATTEMPTS,
    READ_TIMEOUT,
    RESPONSE_READ_LIMIT,
    EngineError,
    build_event_body,
    canonical_json,
    delivery_headers,
    delivery_outcome,
    legacy_signature,
    parse_retry_after,
    retry_delay,
    sign_body,
    standard_webhooks_secret,
    standard_webhooks_signature,
)

SECRET = 's3cr3t'
EVENT_ID = '0b7c5f1e-6d2a-4c1e-9a51-3f1f2d6c8e90'
EVENT_TYPE = 'invoice.payment_succeeded'
CREATED_AT = datetime(2026, 11, 21, 20, 0, 0)
TIMESTAMP = 1795291200  # 2026-11-21T20:00:00Z
NOW = datetime(2026, 11, 21, 20, 0, 0)


def hex_hmac(secret, body):
    return hmac.new(secret.encode('utf-8'), body.encode('utf-8'), hashlib.sha256).hexdigest()


def event_body(customer='Müller'):
    return build_event_body(EVENT_ID, EVENT_TYPE, CREATED_AT, {
        'customer': customer, 'amount': '12.50', 'currency': 'EUR',
    })


# Canonical JSON and the event body

def test_canonical_json_sorts_keys_at_every_level_and_has_no_spaces():
    assert canonical_json({'b': 1, 'a': {'d': [1, 2], 'c': None}}) == '{"a":{"c":null,"d":[1,2]},"b":1}'


def test_canonical_json_keeps_non_ascii_characters_as_they_are():
    text = canonical_json({'customer': 'Müller', 'city': '日本'})
    assert text == '{"city":"日本","customer":"Müller"}'
    assert '\\u' not in text


@pytest.mark.parametrize('value', [float('nan'), float('inf'), float('-inf')])
def test_canonical_json_refuses_values_json_does_not_have(value):
    with pytest.raises(ValueError):
        canonical_json({'quantity': value})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(), json_values, max_size=6))
def test_canonical_json_is_stable_through_a_round_trip(value):
    text = canonical_json(value)
    assert canonical_json(json.loads(text)) == text
    assert json.loads(text) == value


def test_the_event_body_holds_id_type_created_at_and_data():
    body = event_body()
    assert body == (
        '{"created_at":"2026-11-21T20:00:00Z",'
        '"data":{"amount":"12.50","currency":"EUR","customer":"Müller"},'
        '"id":"0b7c5f1e-6d2a-4c1e-9a51-3f1f2d6c8e90",'
        '"type":"invoice.payment_succeeded"}'
    )


def test_the_creation_time_is_utc_without_microseconds():
    body = build_event_body(EVENT_ID, EVENT_TYPE, datetime(2026, 11, 21, 20, 0, 0, 999999), {})
    assert json.loads(body)['created_at'] == '2026-11-21T20:00:00Z'


def test_an_aware_creation_time_is_converted_to_utc():
    created_at = datetime(2026, 11, 21, 21, 0, tzinfo=timezone(timedelta(hours=1)))
    body = build_event_body(EVENT_ID, EVENT_TYPE, created_at, {})
    assert json.loads(body)['created_at'] == '2026-11-21T20:00:00Z'


def test_a_uuid_event_id_is_sent_as_text():
    body = build_event_body(UUID(EVENT_ID), EVENT_TYPE, CREATED_AT, {})
    assert json.loads(body)['id'] == EVENT_ID


def test_the_creation_time_must_be_a_datetime():
    with pytest.raises(EngineError, match="must be a datetime"):
        build_event_body(EVENT_ID, EVENT_TYPE, '2026-11-21T20:00:00Z', {})


# Fusion signature

def test_the_signature_is_the_prefixed_hex_hmac_sha256_of_the_body():
    body = event_body()
    assert sign_body(SECRET, body) == 'sha256=' + hex_hmac(SECRET, body)


def test_the_signature_of_a_known_body_is_pinned():
    # Computed once; a change here breaks every receiver.
    assert sign_body(SECRET, event_body()) == (
        'sha256=13174ccadf69ae039ed1f82bb32d6de7dffe49172553387374d038042661faeb'
    )


def test_the_legacy_signature_is_the_bare_hex():
    body = event_body()
    assert legacy_signature(SECRET, body) == hex_hmac(SECRET, body)
    assert sign_body(SECRET, body) == 'sha256=' + legacy_signature(SECRET, body)


@pytest.mark.parametrize('customer', ['Müller', '日本'])
def test_a_non_ascii_body_is_signed_over_its_utf8_bytes(customer):
    body = event_body(customer)
    wire_bytes = body.encode('utf-8')
    assert customer.encode('utf-8') in wire_bytes
    expected = hmac.new(SECRET.encode('utf-8'), wire_bytes, hashlib.sha256).hexdigest()
    assert sign_body(SECRET, body) == 'sha256=' + expected
    # Latin-1, what requests uses for a text body, would sign other bytes (or fail).
    if customer == 'Müller':
        latin1 = hmac.new(SECRET.encode('utf-8'), body.encode('latin-1'), hashlib.sha256).hexdigest()
        assert sign_body(SECRET, body) != 'sha256=' + latin1


def test_a_non_ascii_secret_is_used_as_utf8_bytes():
    body = event_body()
    assert sign_body('geheim-ä', body) == 'sha256=' + hex_hmac('geheim-ä', body)


def test_a_different_secret_gives_a_different_signature():
    body = event_body()
    assert sign_body(SECRET, body) != sign_body(SECRET + 'x', body)


@pytest.mark.parametrize('secret', ['', None, False, b's3cr3t'])
def test_signing_needs_a_secret(secret):
    with pytest.raises(EngineError, match="secret is required"):
        sign_body(secret, event_body())


# Standard Webhooks signature

def verify_standard_webhooks(whsec_secret, event_id, timestamp, body, signature_header):
    """Verify as that spec's libraries do: key from the whsec_ secret, constant-time compare."""
    key = base64.b64decode(whsec_secret.removeprefix('whsec_'))
    content = f'{event_id}.{timestamp}.{body}'.encode('utf-8')
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode('ascii')
    return any(
        hmac.compare_digest(expected, signature.removeprefix('v1,'))
        for signature in signature_header.split(' ')
        if signature.startswith('v1,')
    )


def test_the_standard_webhooks_secret_decodes_to_the_secret_bytes():
    whsec = standard_webhooks_secret(SECRET)
    assert whsec == 'whsec_czNjcjN0'
    assert base64.b64decode(whsec.removeprefix('whsec_')) == SECRET.encode('utf-8')
    assert base64.b64decode(standard_webhooks_secret('日本')[6:]) == '日本'.encode('utf-8')


@pytest.mark.parametrize('customer', ['Müller', '日本'])
def test_the_standard_webhooks_signature_verifies_per_that_spec(customer):
    body = event_body(customer)
    signature = standard_webhooks_signature(SECRET, EVENT_ID, TIMESTAMP, body)
    assert signature.startswith('v1,')
    assert verify_standard_webhooks(standard_webhooks_secret(SECRET), EVENT_ID, TIMESTAMP, body, signature)
    assert not verify_standard_webhooks(standard_webhooks_secret(SECRET), EVENT_ID, TIMESTAMP + 1, body, signature)


def test_the_standard_webhooks_signature_of_a_known_body_is_pinned():
    assert standard_webhooks_signature(SECRET, EVENT_ID, TIMESTAMP, event_body()) == (
        'v1,gb+9xwCs2V6HXeKRXzWO/boCZnk1aGYdm929kFu8C08='
    )


def test_the_standard_webhooks_timestamp_must_be_whole_seconds():
    with pytest.raises(EngineError, match="Unix seconds"):
        standard_webhooks_signature(SECRET, EVENT_ID, 1795291200.5, event_body())


# Headers

def test_delivery_headers_carry_both_signatures_and_the_event_facts():
    body = event_body('日本')
    headers = delivery_headers(EVENT_ID, EVENT_TYPE, body, SECRET, 3, TIMESTAMP)
    assert headers == {
        'Content-Type': 'application/json',
        'X-Fusion-Event-Id': EVENT_ID,
        'X-Fusion-Event-Type': EVENT_TYPE,
        'X-Fusion-Event': EVENT_TYPE,
        'X-Fusion-Signature': 'sha256=' + hex_hmac(SECRET, body),
        'X-Fusion-Delivery-Attempt': '3',
        'webhook-id': EVENT_ID,
        'webhook-timestamp': str(TIMESTAMP),
        'webhook-signature': standard_webhooks_signature(SECRET, EVENT_ID, TIMESTAMP, body),
    }
    assert all(isinstance(value, str) for value in headers.values())
    # Header values go on the wire as Latin-1: none may hold other characters.
    for value in headers.values():
        value.encode('latin-1')


def test_delivery_headers_accept_a_uuid_event_id():
    headers = delivery_headers(UUID(EVENT_ID), EVENT_TYPE, event_body(), SECRET, 1, TIMESTAMP)
    assert headers['X-Fusion-Event-Id'] == headers['webhook-id'] == EVENT_ID


# Limits

def test_delivery_limits():
    assert MAX_DELIVERY_ATTEMPTS == 8
    assert MAX_BACKOFF_EXPONENT == 10
    assert RESPONSE_READ_LIMIT == 4096
    assert (CONNECT_TIMEOUT, READ_TIMEOUT) == (5, 10)


# Backoff

@pytest.mark.parametrize('attempts, minutes', [(1, 2), (2, 4), (3, 8), (7, 128), (10, 1024), (11, 1024), (50, 1024)])
def test_retries_wait_twice_as_long_each_time_up_to_a_cap(attempts, minutes):
    assert retry_delay(attempts) == timedelta(minutes=minutes)


def test_a_longer_retry_after_wins():
    assert retry_delay(1, retry_after_seconds=600) == timedelta(seconds=600)


def test_a_shorter_retry_after_loses():
    assert retry_delay(3, retry_after_seconds=30) == timedelta(minutes=8)
    assert retry_delay(3, retry_after_seconds=0) == timedelta(minutes=8)


def test_a_retry_after_is_capped_at_seven_days():
    assert retry_delay(1, retry_after_seconds=10**9) == timedelta(days=7)


@pytest.mark.parametrize('value, seconds', [
    ('120', 120),
    ('0', 0),
    (' 60 ', 60),
    ('0120', 120),
    ('604800', 604800),
    ('604801', 604800),
    ('9' * 5000, 604800),
])
def test_retry_after_in_seconds(value, seconds):
    assert parse_retry_after(value, NOW) == seconds


@pytest.mark.parametrize('value', ['-1', 'abc', '', '1.5', '+5', '١٢٠', None, 120, 'Sun, 99 Foo 2026'])
def test_retry_after_that_is_no_delay_is_ignored(value):
    assert parse_retry_after(value, NOW) is None


def test_retry_after_as_a_future_http_date():
    value = format_datetime(datetime(2026, 11, 21, 20, 5, 0, tzinfo=timezone.utc), usegmt=True)
    assert value == 'Sat, 21 Nov 2026 20:05:00 GMT'
    assert parse_retry_after(value, NOW) == 300


def test_retry_after_as_a_past_http_date_means_now():
    assert parse_retry_after('Sat, 21 Nov 2026 19:00:00 GMT', NOW) == 0


def test_retry_after_far_in_the_future_is_capped():
    assert parse_retry_after('Fri, 01 Jan 2100 00:00:00 GMT', NOW) == 7 * 24 * 3600


def test_retry_after_as_an_http_date_with_an_offset():
    assert parse_retry_after('Sat, 21 Nov 2026 21:01:00 +0100', NOW) == 60


# Outcome of an attempt

@pytest.mark.parametrize('status', [200, 201, 202, 204, 299])
def test_a_2xx_answer_means_sent(status):
    assert delivery_outcome(status, 1) == 'sent'
    assert delivery_outcome(status, MAX_DELIVERY_ATTEMPTS) == 'sent'


@pytest.mark.parametrize('status', [None, 100, 301, 302, 304, 400, 404, 429, 500, 503])
def test_anything_else_means_failed_until_the_last_attempt(status):
    assert delivery_outcome(status, 1) == 'failed'
    assert delivery_outcome(status, 7) == 'failed'
    assert delivery_outcome(status, 8) == 'dead'


def test_410_gone_is_dead_at_once():
    assert delivery_outcome(410, 1) == 'dead'
