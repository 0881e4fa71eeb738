"""Validation of the values an API client sends, field by field.

Each parser returns the value in the form the database stores, or raises
InputError carrying the field name and a sentence the client can act on.
Messages never repeat the value received: it may be huge or secret.
"""

import functools
import json
import math
import re
from datetime import datetime, timezone
from decimal import Decimal

from .const import IDEMPOTENCY_KEY_MAX_LENGTH, MAX_QUANTITY
from .exceptions import InputError

# Python's fromisoformat also takes any character as the date/time separator;
# ISO 8601 and RFC 3339 only allow 'T' (or a space), so other letters are
# refused before parsing.
_TIMESTAMP_CHARACTERS = re.compile(r'[0-9Tt:.,+\-Z W]+')

# PostgreSQL ids are 32-bit integers: a larger value would fail in SQL.
_MAX_RECORD_ID = 2**31 - 1


def parse_timestamp(value, field):
    """Return the ISO 8601 string ``value`` as a naive UTC datetime.

    An offset (``Z``, ``+02:00``) is converted to UTC; a timestamp without
    offset is taken as UTC; a date alone (``2026-11-01``) means 00:00 UTC
    that day. Fractional seconds are kept to the microsecond.
    """
    if not isinstance(value, str):
        raise InputError(f"{field} must be an ISO 8601 timestamp string.", field)
    if not value.strip():
        raise InputError(f"{field} must not be empty.", field)
    # No ISO 8601 timestamp is longer; a longer text is not kept in the cache below.
    timestamp = _utc_timestamp(value) if len(value) <= _MAX_TIMESTAMP_LENGTH else _INVALID
    if timestamp is _INVALID:
        raise InputError(f"{field} must be an ISO 8601 timestamp, e.g. 2026-11-01T00:00:00Z.", field)
    if timestamp is _OUT_OF_RANGE:
        raise InputError(f"{field} is out of range once converted to UTC.", field)
    return timestamp


_MAX_TIMESTAMP_LENGTH = 64
_INVALID = object()
_OUT_OF_RANGE = object()


# The events of a batch mostly share their periods: each text is read once.
@functools.lru_cache(maxsize=4096)
def _utc_timestamp(value):
    """The naive UTC datetime of the text ``value``, or _INVALID / _OUT_OF_RANGE."""
    if not _TIMESTAMP_CHARACTERS.fullmatch(value):
        return _INVALID
    try:
        timestamp = datetime.fromisoformat(value)
    except ValueError:
        return _INVALID
    if timestamp.tzinfo is not None:
        try:
            timestamp = timestamp.astimezone(timezone.utc).replace(tzinfo=None)
        except OverflowError:
            return _OUT_OF_RANGE
    return timestamp


def parse_period(start_value, end_value):
    """Return ``(period_start, period_end)`` as naive UTC datetimes.

    Both must be valid timestamps and the period must not be empty: the
    start comes strictly before the end.
    """
    period_start = parse_timestamp(start_value, 'period_start')
    period_end = parse_timestamp(end_value, 'period_end')
    if period_start >= period_end:
        raise InputError("period_start must be before period_end.", 'period_end')
    return period_start, period_end


def parse_quantity(value, field='quantity'):
    """Return the JSON number ``value`` as a float for a double column.

    Accepts int, float and Decimal values that are finite, not negative and
    within float range. Refuses booleans (an int subclass in Python),
    strings, None and containers.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise InputError(f"{field} must be a number (booleans and strings are not numbers).", field)
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"{field} must be a finite number.", field)
    if isinstance(value, Decimal) and not value.is_finite():
        raise InputError(f"{field} must be a finite number.", field)
    if value < 0:
        raise InputError(f"{field} must not be negative.", field)
    try:
        quantity = float(value)
    except OverflowError:
        quantity = math.inf
    if not math.isfinite(quantity) or quantity > MAX_QUANTITY:
        raise InputError(f"{field} must be at most 10^15.", field)
    # Adding 0.0 turns -0.0 into 0.0.
    return quantity + 0.0


def parse_idempotency_key(value):
    """Return the idempotency key, or None when the client sent none.

    A key is a string of 1 to 255 characters, kept exactly as sent (no
    stripping); a key of only whitespace is refused, and so is a NUL
    character, which PostgreSQL cannot store.
    """
    field = 'idempotency_key'
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"{field} must be a string.", field)
    if not value.strip():
        raise InputError(f"{field} must not be empty.", field)
    if len(value) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise InputError(f"{field} must be at most {IDEMPOTENCY_KEY_MAX_LENGTH} characters long.", field)
    if '\x00' in value:
        raise InputError(f"{field} must not contain NUL characters.", field)
    return value


def parse_metric_code(value, field='metric'):
    """Return the metric code ``value``: a non-empty string without NUL."""
    if not isinstance(value, str):
        raise InputError(f"{field} must be a string.", field)
    if not value.strip():
        raise InputError(f"{field} must not be empty.", field)
    if '\x00' in value:
        raise InputError(f"{field} must not contain NUL characters.", field)
    return value


def parse_record_id(value, field):
    """Return the database id ``value``: a positive integer within SQL range.

    Booleans, strings ("42") and floats (42.0) are refused.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{field} must be an integer.", field)
    if not 0 < value <= _MAX_RECORD_ID:
        raise InputError(f"{field} must be a positive integer id.", field)
    return value


def load_json_object(raw):
    """Return the request body ``raw`` (bytes) decoded as a JSON object (dict).

    Strict: the body must be UTF-8, standard JSON (no NaN or Infinity), an
    object at the top level, without duplicate keys, and every string in it
    must be storable in PostgreSQL (no NUL, no unpaired surrogate). Raises
    InputError with ``field`` None otherwise.
    """
    if isinstance(raw, (bytearray, memoryview)):
        raw = bytes(raw)
    if not isinstance(raw, bytes):
        raise InputError("The request body must be bytes.")
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError:
        raise InputError("The request body is not valid UTF-8.") from None
    if not text.strip():
        raise InputError("The request body is empty; a JSON object is expected.")
    try:
        data = json.loads(
            text,
            parse_constant=_refuse_constant,
            object_pairs_hook=_object_without_duplicate_keys,
        )
    except InputError:
        raise
    except json.JSONDecodeError as error:
        raise InputError(
            f"The request body is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
        ) from None
    except RecursionError:
        raise InputError("The request body is nested too deeply.") from None
    except ValueError:
        # Python refuses integers of more than 4,300 digits.
        raise InputError("The request body holds a number too long to read.") from None
    if not isinstance(data, dict):
        raise InputError("The request body must be a JSON object.")
    # Valid UTF-8 text can only bring a NUL or a lone surrogate in through a \u escape.
    if '\\u' in text and _has_unstorable_string(data):
        raise InputError(
            "The request body holds a string that cannot be stored "
            "(a NUL character or an unpaired surrogate)."
        )
    return data


def _refuse_constant(name):
    """Refuse NaN, Infinity and -Infinity, which standard JSON does not have."""
    raise InputError(f"The request body is not valid JSON: {name} is not a JSON value.")


def _object_without_duplicate_keys(pairs):
    """Return the JSON object ``pairs`` as a dict, refusing a repeated key.

    With a repeated key, the json module silently keeps the last value;
    here the client is told instead.
    """
    data = dict(pairs)
    if len(data) != len(pairs):
        seen = set()
        for key, _value in pairs:
            if key in seen:
                shown = key if len(key) <= 50 else key[:50] + '...'
                raise InputError(f"The request body has the key {shown!r} more than once in one object.")
            seen.add(key)
    return data


def _has_unstorable_string(data):
    """Return True when a key or string value in ``data`` cannot be stored.

    Walks the structure with an explicit stack, so deep nesting cannot hit
    the recursion limit.
    """
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if '\x00' in item:
                return True
            try:
                item.encode('utf-8')
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
