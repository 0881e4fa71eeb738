import contextlib
import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from odoo import Command, fields
from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .. import webhook_client
from ..engine.webhooks import standard_webhooks_secret
from ..models import fusion_billing_webhook as webhook_model
from .common import FusionBillingCase

try:
    from standardwebhooks import Webhook as StandardWebhook
except ImportError:  # the test command puts it on the path; see tools/run-tests
    StandardWebhook = None


class Receiver:
    """A real HTTP receiver on 127.0.0.1 that records what it gets and answers as told."""

    def __init__(self):
        self.received = []
        self.answers = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
                receiver.received.append((self.path, dict(self.headers), body))
                status, headers, delay = receiver.answers.pop(0) if receiver.answers else (200, {}, 0)
                if delay:
                    time.sleep(delay)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header('Content-Length', '2')
                self.end_headers()
                self.wfile.write(b'ok')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}/hooks/billing'
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# Odoo patches `requests` for standard tests (local targets only, no timeout tuples):
# these tests talk to a real receiver with the real client, so they are not standard.
@tagged('post_install', '-at_install', '-standard', 'fusion_billing_webhooks')
class TestWebhookDelivery(FusionBillingCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.receiver = Receiver()
        cls.addClassCleanup(cls.receiver.stop)
        cls._enable_webhooks(cls.receiver.url)
        cls.Webhook = cls.env['fusion.billing.webhook']

    def setUp(self):
        super().setUp()
        self.receiver.received.clear()
        self.receiver.answers.clear()

    def _queue(self, key='cause-1', data=None, event_type='subscription.terminated'):
        return self.Webhook._enqueue(self.service, event_type, data or {'subscription_id': 1}, key)

    def _answer(self, *answers):
        self.receiver.answers.extend(answers)

    def test_received_bytes_verify_for_every_customer_name(self):
        secret = self.service.webhook_secret
        for name in ('Acme', 'Müller', '日本クラウド'):
            event = self._queue(key=f'name-{name}', data={'customer': name, 'amount': '10.00'})
            self.Webhook._cron_dispatch()
            self.assertEqual(event.state, 'sent')
            _path, headers, body = self.receiver.received[-1]
            self.assertEqual(body, event.body.encode('utf-8'), "the stored body goes on the wire as UTF-8")
            self.assertIn(name, body.decode('utf-8'))
            self.assertEqual(json.loads(body)['data']['customer'], name)
            expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            self.assertEqual(headers['X-Fusion-Signature'], f'sha256={expected}')
            self.assertEqual(headers['X-Fusion-Event-Id'], event.event_id)
            self.assertEqual(headers['X-Fusion-Event-Type'], 'subscription.terminated')
            self.assertEqual(headers['X-Fusion-Event'], 'subscription.terminated')
            self.assertEqual(headers['X-Fusion-Delivery-Attempt'], '1')
            self.assertEqual(headers['Content-Type'], 'application/json')
            if StandardWebhook:
                verified = StandardWebhook(secret.encode()).verify(body, {
                    'webhook-id': headers['webhook-id'], 'webhook-timestamp': headers['webhook-timestamp'],
                    'webhook-signature': headers['webhook-signature']})
                self.assertEqual(verified['data']['customer'], name)
        self.assertIsNotNone(StandardWebhook, "the standardwebhooks library must be importable here")

    def test_standard_webhooks_secret_form(self):
        self.assertIsNotNone(StandardWebhook, "the standardwebhooks library must be importable here")
        event = self._queue()
        self.Webhook._cron_dispatch()
        _path, headers, body = self.receiver.received[-1]
        StandardWebhook(standard_webhooks_secret(self.service.webhook_secret)).verify(body, {
            name: headers[name] for name in ('webhook-id', 'webhook-timestamp', 'webhook-signature')})
        self.assertEqual(headers['webhook-id'], event.event_id)

    def test_server_error_then_success(self):
        self._answer((500, {}, 0), (200, {}, 0))
        event = self._queue()
        before = fields.Datetime.now()
        self.Webhook._cron_dispatch()
        self.assertRecordValues(event, [{'state': 'failed', 'attempts': 1, 'response_status': 500}])
        self.assertIn('HTTP 500', event.last_error)
        self.assertAlmostEqual(event.next_retry_at, before + timedelta(minutes=2), delta=timedelta(seconds=5))
        self.Webhook._cron_dispatch()
        self.assertEqual(len(self.receiver.received), 1, "not due before its retry time")
        event.action_retry_now()
        self.Webhook._cron_dispatch()
        self.assertRecordValues(event, [{'state': 'sent', 'attempts': 2, 'response_status': 200,
                                         'last_error': False, 'next_retry_at': False}])
        self.assertTrue(event.sent_at)
        (_p1, first, body1), (_p2, second, body2) = self.receiver.received
        self.assertEqual(body1, body2)
        self.assertEqual((first['X-Fusion-Event-Id'], first['X-Fusion-Delivery-Attempt']), (event.event_id, '1'))
        self.assertEqual((second['X-Fusion-Event-Id'], second['X-Fusion-Delivery-Attempt']), (event.event_id, '2'))

    def test_eight_failures_make_it_dead(self):
        self._answer(*[(503, {}, 0)] * 8)
        event = self._queue()
        delays = []
        for _attempt in range(8):
            before = fields.Datetime.now()
            self.Webhook._cron_dispatch()
            if event.next_retry_at:
                delays.append(round((event.next_retry_at - before).total_seconds() / 60))
            event.action_retry_now()
        self.assertRecordValues(event, [{'state': 'dead', 'attempts': 8, 'next_retry_at': False}])
        self.assertEqual(delays, [2, 4, 8, 16, 32, 64, 128])
        self.Webhook._cron_dispatch()
        self.assertEqual(len(self.receiver.received), 8)
        event.action_requeue()
        self.assertRecordValues(event, [{'state': 'pending', 'attempts': 0}])

    def test_timeout_is_a_failure(self):
        self.patch(webhook_client, 'READ_TIMEOUT', 0.3)
        self._answer((200, {}, 1.5))
        event = self._queue()
        self.Webhook._cron_dispatch()
        self.assertRecordValues(event, [{'state': 'failed', 'attempts': 1, 'response_status': 0}])
        self.assertEqual(event.last_error, "The receiver did not answer in time.")

    def test_redirect_is_not_followed(self):
        self._answer((302, {'Location': '/elsewhere'}, 0))
        event = self._queue()
        self.Webhook._cron_dispatch()
        self.assertRecordValues(event, [{'state': 'failed', 'response_status': 302}])
        self.assertEqual([path for path, _h, _b in self.receiver.received], ['/hooks/billing'])

    def _scripted_receiver(self, respond):
        """A receiver that reads the delivery, then answers with ``respond(handler)``,
        byte by byte if it likes; the service is pointed at it."""
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get('Content-Length', 0)))
                # The client hanging up is what these tests want.
                with contextlib.suppress(OSError):
                    respond(self)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        self.service.webhook_url = f'http://127.0.0.1:{server.server_address[1]}/hooks/slow'

    def test_a_receiver_trickling_its_answer_cannot_hold_the_worker_past_the_deadline(self):
        self.patch(webhook_client, 'DELIVERY_DEADLINE', 2)

        def trickle(handler):
            for byte in b'HTTP/1.1 200 OK\r\nX-Slow: ' + b'x' * 60:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(0.25)

        self._scripted_receiver(trickle)
        event = self._queue()
        started = time.monotonic()
        self.Webhook._cron_dispatch()
        self.assertLess(time.monotonic() - started, 5, "the attempt ends at its deadline")
        self.assertRecordValues(event, [{'state': 'failed', 'attempts': 1}])
        self.assertEqual(event.last_error, "The receiver did not answer in time.")

    def test_a_receiver_trickling_its_body_is_a_failure_not_a_crash(self):
        self.patch(webhook_client, 'DELIVERY_DEADLINE', 2)

        def headers_then_trickle(handler):
            handler.wfile.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n')
            for _byte in range(100):
                handler.wfile.write(b'x')
                handler.wfile.flush()
                time.sleep(0.25)

        self._scripted_receiver(headers_then_trickle)
        event = self._queue()
        later = self._queue(key='cause-2')
        self.Webhook._cron_dispatch()
        self.assertRecordValues(event | later, [{'state': 'failed', 'attempts': 1}, {'state': 'failed', 'attempts': 1}])

    def test_a_redirect_body_is_not_read(self):
        written = []

        def redirect_with_a_huge_body(handler):
            handler.wfile.write(b'HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 67108864\r\n\r\n')
            chunk = b'x' * 65536
            for _chunk in range(1024):
                handler.wfile.write(chunk)
                written.append(len(chunk))

        self._scripted_receiver(redirect_with_a_huge_body)
        event = self._queue()
        self.Webhook._cron_dispatch()
        self.assertRecordValues(event, [{'state': 'failed', 'response_status': 302}])
        time.sleep(0.5)
        self.assertLess(sum(written), 16 * 1024 * 1024, "the client hung up instead of downloading 64 MiB")

    def test_gone_is_dead_at_once(self):
        self._answer((410, {}, 0))
        event = self._queue()
        self.Webhook._cron_dispatch()
        self.assertRecordValues(event, [{'state': 'dead', 'attempts': 1, 'response_status': 410}])

    def test_retry_after_is_honoured(self):
        self._answer((429, {'Retry-After': '3600'}, 0))
        event = self._queue()
        before = fields.Datetime.now()
        self.Webhook._cron_dispatch()
        self.assertEqual(event.state, 'failed')
        self.assertGreaterEqual(event.next_retry_at, before + timedelta(minutes=59))

    def test_one_cause_queues_one_event(self):
        first = self._queue(key='invoice-7:paid')
        second = self._queue(key='invoice-7:paid')
        self.assertTrue(first)
        self.assertFalse(second)
        self.assertEqual(self.Webhook.search_count([('service_id', '=', self.service.id)]), 1)
        self.assertEqual(json.loads(first.body)['id'], first.event_id)

    def test_secret_is_never_logged(self):
        logged = []

        class RecordingLogger:
            def info(self, message, *args):
                logged.append(message % args)

        self.patch(webhook_model, '_logger', RecordingLogger())
        self._answer((500, {}, 0))
        self._queue()
        self.Webhook._cron_dispatch()
        self.assertEqual(len(logged), 1)
        self.assertIn('attempt 1 failed', logged[0])
        self.assertNotIn(self.service.webhook_secret, logged[0])

    def test_unsafe_address_at_delivery_is_a_failure(self):
        event = self._queue()
        self.env['ir.config_parameter'].set_param('fusion_billing.allow_private_webhook_urls', 'False')
        self.Webhook._cron_dispatch()
        self.assertEqual(event.state, 'failed')
        self.assertIn('https', event.last_error)
        self.assertFalse(self.receiver.received)

    def test_send_test_event_button(self):
        action = self.service.with_user(self.billing_manager).action_send_test_webhook()
        self.assertEqual(action['params']['type'], 'success')
        self.assertEqual(json.loads(self.receiver.received[-1][2])['type'], 'webhook.test')


@tagged('post_install', '-at_install')
class TestWebhookUrlGuard(FusionBillingCase):
    """The URL is checked when it is saved (DNS stubbed: tests run offline)."""

    def setUp(self):
        super().setUp()
        self.addresses = {'hooks.example.com': ['93.184.216.34'], 'internal.example.com': ['10.0.0.7'],
                          'mixed.example.com': ['93.184.216.34', '127.0.0.1'], '2130706433': ['127.0.0.1']}

        def resolver(hostname, _port):
            return self.addresses.get(hostname, [])

        self.patch(type(self.env['fusion.billing.service']), '_resolver', lambda _self: resolver)

    def test_public_https_url_is_accepted(self):
        self.service.webhook_url = 'https://hooks.example.com/billing'

    def test_unsafe_urls_are_refused_with_a_sentence(self):
        for url in ('http://hooks.example.com/billing', 'https://localhost/x', 'https://api.localhost/x',
                    'https://internal.example.com/x', 'https://mixed.example.com/x', 'https://2130706433/x',
                    'https://unknown.example.com/x', 'https://user:pass@hooks.example.com/x',
                    'https://169.254.169.254/latest/meta-data', 'https://[::1]/x'):
            with self.subTest(url=url), self.assertRaises(ValidationError) as caught:
                self.service.webhook_url = url
                self.env.flush_all()
            self.assertTrue(str(caught.exception.args[0]).endswith('.'), caught.exception.args[0])

    def test_development_parameter_lets_local_urls_through(self):
        self.env['ir.config_parameter'].set_param('fusion_billing.allow_private_webhook_urls', 'True')
        self.addresses['127.0.0.1'] = ['127.0.0.1']
        self.service.webhook_url = 'http://127.0.0.1:8080/hooks'

    def test_service_creation_checks_the_url(self):
        with self.assertRaises(ValidationError):
            self.env['fusion.billing.service'].create({
                'name': 'X', 'code': 'x', 'webhook_url': 'https://internal.example.com/x',
                'partner_ids': [Command.link(self.customer.id)]})
