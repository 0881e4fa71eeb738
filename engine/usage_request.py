"""The body of POST /fusion_billing/v1/usage: from bytes to validated events.

Everything that needs no database is checked here, and every problem is reported at
once, by event index and field, so a client can fix a whole batch in one go.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .const import (
    MAX_EVENTS_PER_REQUEST,
    MAX_FUTURE_SECONDS,
    MAX_PROBLEMS_DETAILED,
    MAX_REQUEST_BYTES,
    USAGE_EVENT_FIELDS,
)
from .exceptions import InputError
from .parsing import (
    load_json_object,
    parse_idempotency_key,
    parse_metric_code,
    parse_quantity,
    parse_record_id,
    parse_timestamp,
)


@dataclass(frozen=True)
class UsageEvent:
    """One valid usage counter of a request; ``index`` is its position in ``events``."""

    index: int
    subscription_id: int
    metric: str
    quantity: float
    period_start: datetime
    period_end: datetime
    idempotency_key: str | None


@dataclass(frozen=True)
class Problem:
    """What is wrong with one field of one event (``index`` None: the whole body)."""

    index: int | None
    field: str | None
    message: str

    def as_dict(self):
        return {'index': self.index, 'field': self.field, 'message': self.message}


class RequestRefused(Exception):
    """The request cannot be accepted: ``status`` is 400 or 413, ``problems`` says why."""

    def __init__(self, status, code, message, problems=(), count=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.problems = list(problems)
        self.count = len(self.problems) if count is None else count


def check_body_size(size):
    """Refuse (413) a body of ``size`` bytes over the limit."""
    if size is not None and size > MAX_REQUEST_BYTES:
        raise RequestRefused(413, 'payload_too_large',
                             f"The request body is larger than {MAX_REQUEST_BYTES} bytes.")


@dataclass(frozen=True)
class UsageBatch:
    """A request body read as far as it can be without a database: the valid events,
    and the problems of the others (a batch with problems is refused as a whole, once
    the database has had its say on the valid events too)."""

    events: list
    problems: list = field(default_factory=list)


def parse_usage_request(raw, now=None):
    """Return the UsageEvents of the request body ``raw`` (bytes).

    Raises RequestRefused: 413 for a body or batch over the limits, 400 with every
    problem found otherwise (see parse_usage_batch).
    """
    batch = parse_usage_batch(raw, now)
    if batch.problems:
        raise refusal(batch.problems)
    return batch.events


def refusal(problems):
    """The 400 for ``problems``: every one of them counted, the first ones detailed."""
    problems = sorted(problems, key=lambda problem: (problem.index is not None, problem.index or 0,
                                                     problem.field or ''))
    return RequestRefused(400, 'validation_error', _summary(problems), problems[:MAX_PROBLEMS_DETAILED],
                          count=len(problems))


def parse_usage_batch(raw, now=None):
    """Read the request body ``raw`` (bytes) into a UsageBatch.

    Raises RequestRefused for what stops the reading: 413 for a body or batch over the
    limits, 400 for a body that is not a JSON object with an ``events`` list. Every other
    problem is listed in the batch: invalid or unknown fields, a period starting more
    than a few minutes after ``now`` (naive UTC; not checked without it), the same
    subscription, metric and key twice.
    """
    check_body_size(len(raw))
    try:
        body = load_json_object(raw)
    except InputError as error:
        raise RequestRefused(400, 'validation_error', error.message, [Problem(None, None, error.message)]) from None
    events = body.get('events')
    if not isinstance(events, list):
        message = "The request body must be an object with an \"events\" list."
        raise RequestRefused(400, 'validation_error', message, [Problem(None, 'events', message)])
    if len(events) > MAX_EVENTS_PER_REQUEST:
        raise RequestRefused(413, 'payload_too_large',
                             f"A request may carry at most {MAX_EVENTS_PER_REQUEST} events; this one has {len(events)}.")
    problems = [Problem(None, key, f"Unknown field {key[:50]!r}: the body only has \"events\".")
                for key in body if key != 'events']
    if not events:
        problems.append(Problem(None, 'events', "The \"events\" list is empty."))
    batch = parse_usage_events(events, now)
    return UsageBatch(batch.events, problems + batch.problems)


def parse_usage_events(events, now=None):
    """Read a list of usage events (JSON-like dicts) into a UsageBatch: the valid events,
    and the problems of the others (see parse_usage_batch)."""
    problems = []
    parsed = []
    seen_keys = {}
    latest_start = now + timedelta(seconds=MAX_FUTURE_SECONDS) if now else None
    for index, event in enumerate(events):
        event_problems, usage_event = _parse_event(index, event, latest_start)
        problems += event_problems
        if usage_event is None:
            continue
        if usage_event.idempotency_key is not None:
            identity = (usage_event.subscription_id, usage_event.metric, usage_event.idempotency_key)
            if identity in seen_keys:
                problems.append(Problem(index, 'idempotency_key',
                                        f"Event {seen_keys[identity]} has the same subscription, metric and "
                                        f"idempotency key."))
                continue
            seen_keys[identity] = index
        parsed.append(usage_event)
    return UsageBatch(parsed, problems)


_REQUIRED_FIELD_PARSERS = (
    ('subscription_id', parse_record_id),
    ('metric', parse_metric_code),
    ('quantity', parse_quantity),
    ('period_start', parse_timestamp),
    ('period_end', parse_timestamp),
)


def _parse_event(index, event, latest_start=None):
    """Return (problems, UsageEvent or None) for one element of ``events``."""
    if not isinstance(event, dict):
        return [Problem(index, None, "An event must be a JSON object.")], None
    problems = [Problem(index, key[:50], f"Unknown field {key[:50]!r}.")
                for key in event if key not in USAGE_EVENT_FIELDS]
    values = {}
    for field, parse in _REQUIRED_FIELD_PARSERS:
        if field not in event:
            problems.append(Problem(index, field, f"{field} is required."))
            continue
        try:
            values[field] = parse(event[field], field)
        except InputError as error:
            problems.append(Problem(index, field, error.message))
    try:
        values['idempotency_key'] = parse_idempotency_key(event.get('idempotency_key'))
    except InputError as error:
        problems.append(Problem(index, 'idempotency_key', error.message))
    if 'period_start' in values and 'period_end' in values and values['period_start'] >= values['period_end']:
        problems.append(Problem(index, 'period_end', "period_start must be before period_end."))
    if 'period_start' in values and latest_start and values['period_start'] > latest_start:
        problems.append(Problem(index, 'period_start', "period_start is in the future: usage cannot have "
                                                       "happened yet."))
    if problems:
        return problems, None
    return [], UsageEvent(index=index, **values)


def _summary(problems):
    count = len(problems)
    return "1 problem in the request." if count == 1 else f"{count} problems in the request."
