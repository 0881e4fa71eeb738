import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from fusion_billing_client import (
    AuthenticationError,
    Client,
    FusionBillingError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ServiceUnavailableError,
    UnsupportedMediaTypeError,
    ValidationError,
    idempotency_key,
)
from fusion_billing_client.client import MAX_REQUEST_BYTES


class FakeApi:
    """A local HTTP server that records requests and answers from a script: each answer
    is (status, body dict, headers), or None for the usage API's success."""

    def __init__(self):
        self.requests = []
        self.script = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                api.requests.append((self.command, self.path, dict(self.headers), raw))
                status, body, headers = (api.script.pop(0) if api.script else None) or api.success(raw)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def success(raw):
        if not raw:
            return 200, {"status": "ok", "subscription": {"id": 42}}, {}
        events = json.loads(raw)["events"]
        return 200, {"status": "ok", "results": [{"index": index, "id": 1000 + index, "result": "created",
                                                  "subscription_id": event["subscription_id"]}
                                                 for index, event in enumerate(events)]}, {}

    def bodies(self):
        return [json.loads(raw) for _method, _path, _headers, raw in self.requests]


def error(status, code, details=None, headers=None):
    body = {"status": "error", "error": {"code": code, "message": f"{code} happened"}}
    if details is not None:
        body["error"]["details"] = details
        body["error"]["count"] = len(details)
    return status, body, headers or {}


@pytest.fixture
def api():
    fake = FakeApi()
    yield fake
    fake.server.shutdown()


@pytest.fixture
def client(api):
    client = Client(api.url, "fbk_test", backoff=0.01)
    client.slept = []
    client._sleep = client.slept.append
    return client


def event(number, **values):
    return {"subscription_id": 42, "metric": "api_calls", "quantity": number,
            "period_start": f"2026-11-01T{number % 24:02d}:00:00Z", "period_end": "2026-11-02T00:00:00Z",
            "idempotency_key": f"k{number}", **values}


def test_one_batch_with_the_key_and_json(client, api):
    results = client.report_usage([event(1), event(2)])
    assert [result["index"] for result in results] == [0, 1]
    method, path, headers, _raw = api.requests[0]
    assert (method, path) == ("POST", "/fusion_billing/v1/usage")
    assert headers["Authorization"] == "Bearer fbk_test"
    assert headers["Content-Type"] == "application/json"


def test_large_lists_are_split_into_batches_of_1000_and_results_keep_their_index(client, api):
    results = client.report_usage([event(number) for number in range(2500)])
    assert [len(body["events"]) for body in api.bodies()] == [1000, 1000, 500]
    assert [result["index"] for result in results] == list(range(2500))


def test_batches_stay_under_one_mebibyte(client, api):
    events = [event(number, note="x" * 3000) for number in range(700)]
    client.report_usage(events)
    assert len(api.requests) > 1
    assert all(len(raw) <= MAX_REQUEST_BYTES for _method, _path, _headers, raw in api.requests)
    assert sum(len(body["events"]) for body in api.bodies()) == 700


def test_an_event_without_key_gets_a_stable_one_from_subscription_metric_and_period(client, api):
    start = datetime(2026, 11, 1, 1, 0, tzinfo=timezone(timedelta(hours=1)))
    client.report_usage([{"subscription_id": 42, "metric": "api_calls", "quantity": 3,
                          "period_start": start, "period_end": datetime(2026, 11, 1, 1, 0)}])
    sent = api.bodies()[0]["events"][0]
    assert (sent["period_start"], sent["period_end"]) == ("2026-11-01T00:00:00Z", "2026-11-01T01:00:00Z")
    assert sent["idempotency_key"] == idempotency_key(42, "api_calls", "2026-11-01T00:00:00Z",
                                                      "2026-11-01T01:00:00Z")
    assert sent["idempotency_key"].startswith("fbc:") and len(sent["idempotency_key"]) <= 255
    client.report_usage([{"subscription_id": 42, "metric": "api_calls", "quantity": 4,
                          "period_start": "2026-11-01T00:00:00Z", "period_end": "2026-11-01T01:00:00Z"}])
    assert api.bodies()[1]["events"][0]["idempotency_key"] == sent["idempotency_key"]


def test_one_instant_written_differently_gets_the_same_key(client, api):
    base = {"subscription_id": 42, "metric": "api_calls", "quantity": 1}
    client.report_usage([dict(base, period_start="2026-11-01T00:00:00Z", period_end="2026-11-01T01:00:00Z")])
    client.report_usage([dict(base, period_start="2026-11-01T01:00:00+01:00", period_end="2026-11-01T01:00:00")])
    first, second = (body["events"][0] for body in api.bodies())
    assert first["idempotency_key"] == second["idempotency_key"]
    assert second["period_start"] == "2026-11-01T00:00:00Z"


def test_an_event_over_the_size_limit_is_refused_before_sending(client, api):
    with pytest.raises(ValueError, match="larger than"):
        client.report_usage([event(1, note="x" * MAX_REQUEST_BYTES)])
    assert not api.requests


def test_a_500_is_not_retried_and_a_redirect_is_not_followed(client, api):
    api.script = [error(500, "internal_error")]
    with pytest.raises(FusionBillingError) as raised:
        client.report_usage([event(1)])
    assert raised.value.status == 500 and not isinstance(raised.value, ServiceUnavailableError)
    api.script = [(302, {}, {"Location": "/elsewhere"})]
    with pytest.raises(FusionBillingError):
        client.report_usage([event(1)])
    assert [path for _method, path, _headers, _raw in api.requests] == ["/fusion_billing/v1/usage"] * 2


def test_two_counters_with_the_same_key_are_refused_before_sending(client, api):
    with pytest.raises(ValueError, match="same subscription, metric and idempotency key"):
        client.report_usage([event(1), event(2, idempotency_key="k1")])
    assert not api.requests


def test_429_and_503_are_retried_with_the_same_body_and_retry_after(client, api):
    api.script = [error(429, "too_many_requests", headers={"Retry-After": "3"}),
                  error(503, "service_unavailable")]
    results = client.report_usage([event(1)])
    assert results[0]["result"] == "created"
    raws = [raw for _method, _path, _headers, raw in api.requests]
    assert len(raws) == 3 and raws[0] == raws[1] == raws[2], "the same keys every time"
    assert client.slept[0] == 3.0
    assert 0 < client.slept[1] <= 0.02


def test_transport_errors_are_retried(api):
    class FlakySession(requests.Session):
        failures = 2

        def request(self, *args, **kwargs):
            if self.failures:
                self.failures -= 1
                raise requests.ConnectionError("connection reset")
            return super().request(*args, **kwargs)

    client = Client(api.url, "fbk_test", backoff=0.01, session=FlakySession())
    client._sleep = lambda seconds: None
    assert client.report_usage([event(1)])[0]["result"] == "created"
    assert len(api.requests) == 1


def test_retries_end_with_service_unavailable(client, api):
    api.script = [error(503, "service_unavailable")] * 6
    with pytest.raises(ServiceUnavailableError):
        client.report_usage([event(1)])
    assert len(api.requests) == 6
    assert len(client.slept) == 5


@pytest.mark.parametrize("status, code, error_class", [
    (400, "validation_error", ValidationError),
    (401, "unauthorized", AuthenticationError),
    (403, "forbidden", PermissionDeniedError),
    (413, "payload_too_large", PayloadTooLargeError),
    (415, "unsupported_media_type", UnsupportedMediaTypeError),
])
def test_refusals_raise_typed_errors_with_the_api_details(client, api, status, code, error_class):
    details = [{"index": 0, "field": "metric", "message": "There is no metric with the code 'x'."}]
    api.script = [error(status, code, details)]
    with pytest.raises(error_class) as raised:
        client.report_usage([event(1)])
    assert (raised.value.status, raised.value.code, raised.value.details) == (status, code, details)
    assert len(api.requests) == 1, "never retried"


def test_details_of_a_later_batch_point_at_the_events_given(client, api):
    api.script = [None, error(400, "validation_error", [{"index": 5, "field": "quantity", "message": "bad"}])]
    with pytest.raises(ValidationError) as raised:
        client.report_usage([event(number) for number in range(1500)])
    assert raised.value.details[0]["index"] == 1005


def test_get_usage(client, api):
    assert client.get_usage(42)["subscription"] == {"id": 42}
    method, path, _headers, _raw = api.requests[0]
    assert (method, path) == ("GET", "/fusion_billing/v1/subscriptions/42/usage")
