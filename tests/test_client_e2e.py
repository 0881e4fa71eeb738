import importlib
import json
from datetime import datetime, timezone

from odoo.tests import tagged

from ..engine.webhooks import build_event_body, delivery_headers
from .common import UsageApiCase, utc


@tagged('post_install', '-at_install')
class TestClientLibrary(UsageApiCase):
    """The client library of source apps (client/) against the real routes."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Put on the path by the test command; a missing library must fail, not skip.
        cls.client_library = importlib.import_module('fusion_billing_client')

    def test_report_read_and_verify_with_the_client(self):
        # The test's HTTP session carries the cookie that routes requests to the test's
        # database transaction.
        client = self.client_library.Client(self.base_url(), self.key, max_retries=0, session=self.opener)
        results = client.report_usage([
            {'subscription_id': self.subscription.id, 'metric': 'api_calls', 'quantity': 1200,
             'period_start': datetime(2026, 11, 3), 'period_end': datetime(2026, 11, 3, 1)},
            {'subscription_id': self.subscription.id, 'metric': 'api_calls', 'quantity': 300,
             'period_start': '2026-11-04T00:00:00Z', 'period_end': '2026-11-04T01:00:00Z'},
        ])
        self.assertEqual([result['result'] for result in results], ['created', 'created'])
        again = client.report_usage([
            {'subscription_id': self.subscription.id, 'metric': 'api_calls', 'quantity': 1500,
             'period_start': datetime(2026, 11, 3), 'period_end': datetime(2026, 11, 3, 1)}])
        self.assertEqual(again[0]['result'], 'updated', "the derived key names the same counter")
        usage = client.get_usage(self.subscription.id)
        self.assertEqual(usage['charges'][0]['aggregated_quantity'], 1800)
        with self.assertRaises(self.client_library.ValidationError) as refused:
            client.report_usage([{'subscription_id': self.subscription.id, 'metric': 'nope', 'quantity': 1,
                                  'period_start': utc(2026, 11, 5), 'period_end': utc(2026, 11, 5, 1)}])
        self.assertEqual(refused.exception.details[0]['field'], 'metric')
        with self.assertRaises(self.client_library.AuthenticationError):
            self.client_library.Client(self.base_url(), 'fbk_wrong', max_retries=0,
                                       session=self.opener).get_usage(self.subscription.id)

    def test_the_client_verifies_what_the_server_signs(self):
        secret = self.service.webhook_secret
        body = build_event_body('evt_1', 'subscription.terminated', datetime(2026, 11, 30, 12),
                                {'subscription_id': self.subscription.id})
        headers = delivery_headers('evt_1', 'subscription.terminated', body, secret, 1, 1700000000)
        event = self.client_library.verify_webhook(body, headers, secret, now=1700000010)
        self.assertEqual(event, json.loads(body))
        legacy_only = {'X-Fusion-Signature': headers['X-Fusion-Signature']}
        with self.assertRaises(self.client_library.WebhookVerificationError):
            self.client_library.verify_webhook(body, legacy_only, secret, now=1700000010)
        created = datetime(2026, 11, 30, 12, tzinfo=timezone.utc).timestamp()
        self.assertEqual(self.client_library.verify_webhook(body, legacy_only, secret, legacy=True, now=created + 5),
                         json.loads(body))
        with self.assertRaises(self.client_library.WebhookVerificationError):
            self.client_library.verify_webhook(body, headers, secret, now=1700000000 + 3600)
