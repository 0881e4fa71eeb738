"""Outbound webhook events: the signed body, the headers, and the retry policy.

The body is built once, stored and sent verbatim on every attempt, so the
signature computed here always matches the bytes on the wire. Nothing here
sends anything: the delivery code calls these functions and does the HTTP.
"""

import base64
import hashlib
import hmac
import json
import math
import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from uuid import UUID

from .exceptions import EngineError

# An event is given up ('dead') once this many attempts have failed.
MAX_DELIVERY_ATTEMPTS = 8
# Retries wait 2**attempts minutes, at most 2**10 minutes (about 17 hours).
MAX_BACKOFF_EXPONENT = 10
# Bytes of a receiver's answer that are read; the rest is never downloaded.
RESPONSE_READ_LIMIT = 4096
# Seconds to wait for the connection, then for the answer.
CONNECT_TIMEOUT = 5
READ_TIMEOUT = 10
# A whole delivery attempt (connect, send, answer) ends after this many seconds.
DELIVERY_DEADLINE = 15
# A Retry-After further away than this is shortened to it: a receiver must not
# be able to park an event for months.
MAX_RETRY_AFTER_SECONDS = 7 * 24 * 3600

DELIVERY_SENT = 'sent'
DELIVERY_FAILED = 'failed'
DELIVERY_DEAD = 'dead'

STANDARD_WEBHOOKS_SECRET_PREFIX = 'whsec_'

_DELTA_SECONDS = re.compile(r'[0-9]+')


def canonical_json(value):
    """Return ``value`` as canonical JSON text: sorted keys, no spaces, no NaN.

    Non-ASCII characters stay as they are (not ``\\u`` escapes), so the text
    encoded as UTF-8 is the byte string receivers see and sign.
    """
    return json.dumps(value, sort_keys=True, separators=(',', ':'), ensure_ascii=False, allow_nan=False)


def format_created_at(created_at):
    """Return the datetime ``created_at`` as ISO 8601 UTC text, e.g. ``2026-11-21T20:00:00Z``.

    A naive datetime is taken as UTC (Odoo's convention); an aware one is
    converted to UTC. Microseconds are dropped.
    """
    if not isinstance(created_at, datetime):
        raise EngineError("The event creation time must be a datetime.")
    if created_at.tzinfo is not None:
        created_at = created_at.astimezone(timezone.utc).replace(tzinfo=None)
    return created_at.replace(microsecond=0).isoformat() + 'Z'


def build_event_body(event_id, event_type, created_at, data):
    """Return the canonical JSON body of one event, the exact text that is signed.

    ``event_id`` is the event's uuid (text or UUID), ``created_at`` a naive
    UTC datetime and ``data`` a JSON-able dict of the facts of the event.
    """
    if isinstance(event_id, UUID):
        event_id = str(event_id)
    return canonical_json({
        'id': event_id,
        'type': event_type,
        'created_at': format_created_at(created_at),
        'data': data,
    })


def legacy_signature(secret, body):
    """Return the hex HMAC-SHA256 of ``body`` keyed with ``secret``, without prefix.

    This is the signature the original addon sent; ``sign_body`` is the same
    value with its ``sha256=`` prefix.
    """
    return _hmac_sha256(secret, body).hexdigest()


def sign_body(secret, body):
    """Return the ``X-Fusion-Signature`` value of ``body``: ``sha256=<hex HMAC-SHA256>``."""
    return 'sha256=' + legacy_signature(secret, body)


def standard_webhooks_signature(secret, event_id, timestamp, body):
    """Return the ``webhook-signature`` value of a delivery: ``v1,<base64 HMAC>``.

    Per the Standard Webhooks spec, the signed content is
    ``{event_id}.{timestamp}.{body}`` with ``timestamp`` in Unix seconds; the
    key is the secret's UTF-8 bytes.
    """
    timestamp = _unix_seconds(timestamp)
    digest = _hmac_sha256(secret, f'{event_id}.{timestamp}.{body}').digest()
    return 'v1,' + base64.b64encode(digest).decode('ascii')


def standard_webhooks_secret(secret):
    """Return ``secret`` as ``whsec_<base64>``, the form Standard Webhooks libraries take.

    Those libraries base64-decode what follows ``whsec_``, so this hands them
    exactly the key bytes used here: the secret's UTF-8 bytes.
    """
    return STANDARD_WEBHOOKS_SECRET_PREFIX + base64.b64encode(_secret_bytes(secret)).decode('ascii')


def delivery_headers(event_id, event_type, body, secret, attempt, timestamp):
    """Return the HTTP headers of one delivery attempt of an event, as a dict.

    ``attempt`` counts from 1 and ``timestamp`` is the Unix time of this
    attempt. Both the Fusion headers and the Standard Webhooks ones are set,
    so receivers can verify either way.
    """
    event_id = str(event_id)
    timestamp = _unix_seconds(timestamp)
    return {
        'Content-Type': 'application/json',
        'X-Fusion-Event-Id': event_id,
        'X-Fusion-Event-Type': event_type,
        # Receivers written for the original addon read the type from here.
        'X-Fusion-Event': event_type,
        'X-Fusion-Signature': sign_body(secret, body),
        'X-Fusion-Delivery-Attempt': str(attempt),
        'webhook-id': event_id,
        'webhook-timestamp': str(timestamp),
        'webhook-signature': standard_webhooks_signature(secret, event_id, timestamp, body),
    }


def retry_delay(attempts, retry_after_seconds=None):
    """Return how long to wait before the next attempt, as a timedelta.

    ``attempts`` is the number of attempts made so far, the failed one
    included: the first retry waits 2 minutes, then 4, 8, ... up to 2**10
    minutes. A receiver's ``Retry-After`` (in seconds) wins when it is longer.
    """
    # A count below 1 cannot follow a failure; it gets the first retry's delay.
    exponent = min(max(attempts, 1), MAX_BACKOFF_EXPONENT)
    delay = timedelta(minutes=2 ** exponent)
    if retry_after_seconds is not None and retry_after_seconds > delay.total_seconds():
        delay = timedelta(seconds=min(retry_after_seconds, MAX_RETRY_AFTER_SECONDS))
    return delay


def parse_retry_after(value, now):
    """Return the seconds to wait that an HTTP ``Retry-After`` header asks for, or None.

    ``value`` is delta-seconds (``"120"``) or an HTTP-date, compared with
    ``now`` (a naive UTC datetime); a date already past means 0. Anything
    else, negative numbers included, gives None. The result is capped at 7 days.
    """
    if not isinstance(value, str):
        return None
    value = value.strip()
    if _DELTA_SECONDS.fullmatch(value):
        digits = value.lstrip('0') or '0'
        # More than 7 digits is beyond the cap whatever they say, and int()
        # refuses strings of thousands of digits.
        if len(digits) > 7:
            return MAX_RETRY_AFTER_SECONDS
        return min(int(digits), MAX_RETRY_AFTER_SECONDS)
    try:
        retry_at = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if retry_at is None:
        return None
    if retry_at.tzinfo is not None:
        retry_at = retry_at.astimezone(timezone.utc).replace(tzinfo=None)
    if now.tzinfo is not None:
        now = now.astimezone(timezone.utc).replace(tzinfo=None)
    seconds = math.ceil((retry_at - now).total_seconds())
    return min(max(seconds, 0), MAX_RETRY_AFTER_SECONDS)


def delivery_outcome(status_code, attempts):
    """Return the state of an event after a delivery attempt: 'sent', 'failed' or 'dead'.

    ``status_code`` is the HTTP status received, or None when there was no
    answer (timeout, connection error, URL refused by the SSRF guard);
    ``attempts`` counts the attempts made, this one included. Redirects are
    not followed, so a 3xx is a failure.
    """
    if status_code is not None and 200 <= status_code <= 299:
        return DELIVERY_SENT
    # 410 Gone: the receiver says the endpoint is gone for good.
    if status_code == 410 or attempts >= MAX_DELIVERY_ATTEMPTS:
        return DELIVERY_DEAD
    return DELIVERY_FAILED


def _secret_bytes(secret):
    """Return the signing key: the UTF-8 bytes of the non-empty text ``secret``."""
    # An empty key would give signatures anyone can compute.
    if not isinstance(secret, str) or not secret:
        raise EngineError("A webhook secret is required to sign events.")
    return secret.encode('utf-8')


def _hmac_sha256(secret, text):
    """Return the HMAC-SHA256 object of the UTF-8 bytes of ``text`` keyed with ``secret``."""
    return hmac.new(_secret_bytes(secret), text.encode('utf-8'), hashlib.sha256)


def _unix_seconds(timestamp):
    """Return ``timestamp`` (Unix seconds) as an int, refusing anything else."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise EngineError("A webhook timestamp must be a whole number of Unix seconds.")
    return timestamp
