"""HTTP client of the Fusion Billing usage API."""

import hashlib
import json
import random
import time
from datetime import date, datetime, timezone
from email.utils import parsedate_to_datetime

import requests

from .errors import ERRORS_BY_STATUS, FusionBillingError, ServiceUnavailableError

# The API's limits: at most this many events and bytes per request.
MAX_EVENTS_PER_REQUEST = 1000
MAX_REQUEST_BYTES = 1024 * 1024
# Answers worth sending the same request again (with the same keys: never a double count).
RETRIED_STATUSES = (429, 502, 503, 504)
KEY_MAX_LENGTH = 255


def idempotency_key(subscription_id, metric, period_start, period_end):
    """The key given to an event sent without one: ``fbc:`` and the SHA-256 of the
    subscription, the metric and the period (timestamps in UTC, ISO 8601). The same
    counter always gets the same key, so re-sending it replaces the stored quantity;
    two counters of one subscription and metric over one period need keys of their own."""
    identity = "\n".join([str(subscription_id), str(metric), _timestamp(period_start), _timestamp(period_end)])
    return "fbc:" + hashlib.sha256(identity.encode("utf-8")).hexdigest()


class Client:
    """Reports usage to, and reads usage from, one Fusion Billing server.

    ``base_url`` is the Odoo server (``https://erp.example.com``), ``api_key`` the
    service's key (``fbk_...``). Requests time out after ``timeout`` seconds; transport
    errors, 429 and 502-504 are retried up to ``max_retries`` times with exponential
    backoff (``backoff`` seconds, doubled each time, with jitter, capped at
    ``max_backoff``), or after the server's ``Retry-After``.
    """

    def __init__(self, base_url, api_key, timeout=30.0, max_retries=5, backoff=0.5, max_backoff=30.0,
                 session=None):
        if not base_url or not api_key:
            raise ValueError("base_url and api_key are required")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.session = session or requests.Session()
        self._sleep = time.sleep

    # ------------------------------------------------------------------ usage

    def report_usage(self, events):
        """Store usage counters; return the API's result of each event, in the order given
        (dicts with ``index``, ``id``, ``result`` and ``subscription_id``).

        ``events`` are dicts with ``subscription_id``, ``metric``, ``quantity``,
        ``period_start`` and ``period_end`` (ISO 8601 text, or datetimes: naive ones are
        UTC) and an optional ``idempotency_key`` (see ``idempotency_key`` for the one
        given when there is none). They are sent in batches of at most 1,000 events and
        1 MiB, in order; each batch is stored whole or not at all. If a batch is refused,
        the error is raised with ``details`` indexed in ``events``; the batches before it
        are stored, and calling again with the same events is safe.
        """
        prepared = [self._prepare(event) for event in events]
        self._check_keys_unique(prepared)
        results = []
        for first, batch in self._batches(prepared):
            try:
                answer = self._request("POST", "/fusion_billing/v1/usage", {"events": batch})
            except FusionBillingError as error:
                error.details = [dict(problem, index=problem["index"] + first)
                                 if isinstance(problem.get("index"), int) else problem
                                 for problem in error.details]
                raise
            if not isinstance(answer.get("results"), list) or len(answer["results"]) != len(batch):
                raise FusionBillingError("the server's answer does not list a result per event", status=200)
            results += [dict(result, index=result["index"] + first) for result in answer["results"]]
        return results

    def get_usage(self, subscription_id):
        """The open period of a subscription as the API reports it: the period, the usage
        and amount so far per charge, and the upcoming invoice."""
        return self._request("GET", f"/fusion_billing/v1/subscriptions/{int(subscription_id)}/usage")

    # ------------------------------------------------------------------ internals

    def _prepare(self, event):
        if not isinstance(event, dict):
            raise TypeError("each event must be a dict")
        prepared = dict(event)
        for field in ("period_start", "period_end"):
            if field in prepared:
                prepared[field] = _timestamp(prepared[field])
        if prepared.get("idempotency_key") is None and {"subscription_id", "metric", "period_start",
                                                        "period_end"} <= set(prepared):
            prepared["idempotency_key"] = idempotency_key(prepared["subscription_id"], prepared["metric"],
                                                          prepared["period_start"], prepared["period_end"])
        return prepared

    @staticmethod
    def _check_keys_unique(events):
        seen = {}
        for index, event in enumerate(events):
            identity = (event.get("subscription_id"), event.get("metric"), event.get("idempotency_key"))
            if identity[2] is None:
                continue
            if identity in seen:
                raise ValueError(f"events {seen[identity]} and {index} have the same subscription, metric and "
                                 f"idempotency key: give each counter a key of its own")
            seen[identity] = index

    @staticmethod
    def _batches(events):
        """(index of the first event, events) per request, within the API's limits."""
        batch, size, first = [], len('{"events": []}'), 0
        for index, event in enumerate(events):
            event_size = len(json.dumps(event).encode("utf-8")) + 2
            if event_size + len('{"events": []}') > MAX_REQUEST_BYTES:
                raise ValueError(f"event {index} alone is larger than the API's 1 MiB limit")
            if batch and (len(batch) == MAX_EVENTS_PER_REQUEST or size + event_size > MAX_REQUEST_BYTES):
                yield first, batch
                batch, size, first = [], len('{"events": []}'), index
            batch.append(event)
            size += event_size
        if batch:
            yield first, batch

    def _request(self, method, path, payload=None):
        body = json.dumps(payload).encode("utf-8") if payload is not None else None
        headers = {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        attempt = 0
        while True:
            try:
                response = self.session.request(method, self.base_url + path, data=body, headers=headers,
                                                timeout=self.timeout, allow_redirects=False)
            except (requests.ConnectionError, requests.Timeout) as error:
                if attempt >= self.max_retries:
                    raise ServiceUnavailableError(f"no answer from {self.base_url}: {error}") from error
                self._sleep(self._delay(attempt))
                attempt += 1
                continue
            if response.status_code in RETRIED_STATUSES and attempt < self.max_retries:
                self._sleep(self._delay(attempt, response.headers.get("Retry-After")))
                attempt += 1
                continue
            return self._answer(response)

    def _delay(self, attempt, retry_after=None):
        seconds = _retry_after_seconds(retry_after)
        if seconds is not None:
            return min(seconds, self.max_backoff)
        return min(self.backoff * (2 ** attempt), self.max_backoff) * random.uniform(0.5, 1.0)

    @staticmethod
    def _answer(response):
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code == 200 and isinstance(answer, dict) and answer.get("status") == "ok":
            return answer
        error = answer.get("error") if isinstance(answer, dict) else None
        error = error if isinstance(error, dict) else {}
        message = error.get("message") or f"HTTP {response.status_code}"
        error_class = ERRORS_BY_STATUS.get(response.status_code)
        if error_class is None:
            error_class = ServiceUnavailableError if response.status_code in RETRIED_STATUSES else FusionBillingError
        raise error_class(message, status=response.status_code, code=error.get("code"),
                          details=error.get("details"), count=error.get("count"))


def _timestamp(value):
    """ISO 8601 text in UTC (``...Z``) for a datetime (naive means UTC), a date or ISO 8601
    text, so that one instant always reads the same (and gets the same derived key);
    anything else is left for the API to refuse."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value.isoformat() + "Z"
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day).isoformat() + "Z"
    return value


def _retry_after_seconds(value):
    """Retry-After as seconds (a number of seconds or an HTTP date), or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
