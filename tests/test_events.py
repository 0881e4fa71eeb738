import json
from unittest.mock import patch

from odoo import Command
from odoo.tests import freeze_time, new_test_user, tagged

from .common import FusionBillingCase, UsageApiCase, utc


@tagged('post_install', '-at_install')
class TestSubscriptionEvents(FusionBillingCase):
    """Subscription events follow the state changes Enterprise stores."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._enable_webhooks()
        cls.unsubscribed = cls.env['fusion.billing.service'].create({
            'name': 'Payments only', 'code': 'payments', 'webhook_url': 'http://127.0.0.1:9/other',
            'partner_ids': [Command.link(cls.customer.id)],
            'webhook_event_types': [Command.set(cls.env.ref('fusion_billing.event_type_payment_failed').ids)]})
        cls.unlinked = cls.env['fusion.billing.service'].create({
            'name': 'Other app', 'code': 'unlinked', 'webhook_url': 'http://127.0.0.1:9/unlinked'})

    def test_closing_sends_terminated_once_to_the_interested_service(self):
        self.subscription.set_close()
        [event] = self._events()
        self.assertEqual((event.service_id, event.event_type), (self.service, 'subscription.terminated'))
        data = json.loads(event.body)['data']
        self.assertEqual((data['subscription_id'], data['previous_state'], data['state']),
                         (self.subscription.id, '3_progress', '6_churn'))
        self.assertEqual(data['customer']['name'], 'Acme Analytics')
        self.subscription.set_close()
        self.assertEqual(len(self._events()), 1, "closing a closed subscription changes nothing")

    def test_reopening_or_resuming_sends_reactivated(self):
        self.subscription.set_close()
        self.subscription.reopen_order()
        self.assertEqual(len(self._events('subscription.reactivated')), 1)
        self.subscription.pause_subscription()
        self.assertFalse(self._events('subscription.terminated').filtered(
            lambda event: json.loads(event.body)['data']['state'] == '4_paused'))
        self.subscription.resume_subscription()
        self.assertEqual(len(self._events('subscription.reactivated')), 2)

    def test_terminated_carries_the_close_reason_and_end_date_enterprise_writes_after_the_state(self):
        reason = self.env.ref('sale_subscription.close_reason_auto_close_limit_reached')
        with freeze_time('2026-11-20 10:00:00'):
            self.subscription.set_close(close_reason_id=reason.id)
        data = json.loads(self._events('subscription.terminated').body)['data']
        self.assertEqual((data['close_reason'], data['end_date']), (reason.name, '2026-11-20'))

    def test_reactivated_carries_no_stale_close_reason(self):
        self.subscription.set_close(close_reason_id=self.env.ref('sale_subscription.close_reason_unknown').id)
        self.subscription.reopen_order()
        data = json.loads(self._events('subscription.reactivated').body)['data']
        self.assertEqual((data['close_reason'], data['end_date'], data['previous_state']), (None, None, '6_churn'))

    def test_the_same_change_twice_in_a_transaction_is_two_events(self):
        for _round in range(2):
            self.subscription.pause_subscription()
            self.subscription.resume_subscription()
        self.assertEqual(len(self._events('subscription.reactivated')), 2)

    def test_set_open_on_a_running_subscription_is_no_reactivation(self):
        self.subscription.set_open()
        self.assertFalse(self._events())

    def test_salesperson_without_webhook_rights_closes_and_the_event_is_queued(self):
        salesperson = new_test_user(self.env, login='fb_closer', groups='sales_team.group_sale_salesman_all_leads')
        self.subscription.with_user(salesperson).set_close()
        self.assertEqual(self.subscription.subscription_state, '6_churn')
        self.assertEqual(len(self._events('subscription.terminated')), 1)

    def test_rolled_back_change_queues_nothing(self):
        with self.assertRaises(RuntimeError), self.env.cr.savepoint():
            self.subscription.set_close()
            raise RuntimeError("the transaction fails after the close")
        self.assertFalse(self._events())


@tagged('post_install', '-at_install')
class TestPaymentEvents(FusionBillingCase):
    """Payment events, once per invoice, whatever path reports the payment."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._enable_webhooks()

    def _invoice(self):
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        with freeze_time('2026-12-01 06:00:00'):
            invoice = self.subscription.with_context(recurring_automatic=True)._create_invoices(final=True)
        return invoice

    def test_paid_invoice_sends_payment_succeeded_once(self):
        invoice = self._invoice()
        invoice.action_post()
        self.assertFalse(self._events('invoice.payment_succeeded'))
        self.env['account.payment.register'].with_context(
            active_model='account.move', active_ids=invoice.ids).create({})._create_payments()
        self.assertIn(invoice.payment_state, ('paid', 'in_payment'))
        [event] = self._events('invoice.payment_succeeded')
        data = json.loads(event.body)['data']
        self.assertEqual((data['invoice_id'], data['invoice_number'], data['amount_total'], data['subscription_id']),
                         (invoice.id, invoice.name, '11.50', self.subscription.id))
        invoice.invalidate_recordset(['payment_state'])
        invoice._compute_payment_state()
        self.env.flush_all()
        self.assertEqual(len(self._events('invoice.payment_succeeded')), 1)

    def test_failed_payment_sends_payment_failed_before_the_invoice_is_gone(self):
        invoice = self._invoice()
        number = invoice.name
        invoice_id = invoice.id
        with freeze_time('2026-12-01 06:00:00'):
            self.subscription._handle_subscription_payment_failure(invoice, self.env['payment.transaction'])
        self.assertFalse(invoice.exists())
        [event] = self._events('invoice.payment_failed')
        data = json.loads(event.body)['data']
        self.assertEqual((data['invoice_id'], data['invoice_number'], data['subscription_id']),
                         (invoice_id, number, self.subscription.id))
        self.subscription._fc_notify_payment_failed(data, None, "again")
        self.assertEqual(len(self._events('invoice.payment_failed')), 1, "hooks firing twice give one event")


@tagged('post_install', '-at_install')
@freeze_time('2026-11-20 10:00:00')
class TestThresholdEvent(UsageApiCase):
    """usage.threshold_reached: once per subscription, charge and period."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._enable_webhooks()
        cls.charge.alert_threshold = 1000

    def _report(self, quantity, key):
        response = self._post({'events': [self._event(quantity=quantity, idempotency_key=key,
                                                      period_start='2026-11-05T00:00:00Z',
                                                      period_end='2026-11-05T01:00:00Z')]})
        self.assertEqual(response.status_code, 200, response.text)

    def _threshold_events(self):
        return self._events('usage.threshold_reached')

    def test_two_posts_and_three_cron_runs_give_one_event(self):
        self._report(600, 'a')
        self.assertFalse(self._threshold_events())
        self._report(600, 'b')
        [event] = self._threshold_events()
        data = json.loads(event.body)['data']
        self.assertEqual((data['quantity'], data['threshold'], data['metric']), (1200.0, 1000.0, 'api_calls'))
        self.assertEqual(data['period'], {'start': '2026-11-01T00:00:00Z', 'end': '2026-12-01T00:00:00Z'})
        for _run in range(3):
            self.env['fusion.billing.usage']._cron_rate_open_periods()
        self.assertEqual(len(self._threshold_events()), 1)

    def test_crossing_seen_by_the_cron(self):
        self._record(1500, utc(2026, 11, 5), utc(2026, 11, 6))
        self.env['fusion.billing.usage']._cron_rate_open_periods()
        self.env['fusion.billing.usage']._cron_rate_open_periods()
        self.assertEqual(len(self._threshold_events()), 1)


@tagged('post_install', '-at_install')
class TestPaymentTransactionEvents(FusionBillingCase):
    """A successful token payment goes through Enterprise's transaction post-processing."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._enable_webhooks()
        cls.provider = cls.env['payment.provider'].create({
            'name': 'Test provider', 'code': 'none', 'state': 'test', 'is_published': True,
            'payment_method_ids': [Command.set(cls.env.ref('payment.payment_method_unknown').ids)]})
        # As Odoo's own payment tests do: give the code-less test provider a payment method
        # and a bank journal, so a confirmed transaction can create its payment.
        PaymentMethod = cls.env.registry['account.payment.method']
        information = PaymentMethod._get_payment_method_information

        def with_test_provider(*args, **kwargs):
            return {**information(*args, **kwargs), 'none': {'mode': 'electronic', 'type': ('bank',)}}

        with patch.object(PaymentMethod, '_get_payment_method_information', with_test_provider):
            cls.env['account.payment.method'].sudo().create(
                {'name': 'Test method', 'code': 'none', 'payment_type': 'inbound'})
            cls.provider.journal_id = cls.env['account.journal'].search(
                [('type', '=', 'bank'), ('company_id', '=', cls.company.id)], limit=1)

    def _transaction(self, invoice):
        return self.env['payment.transaction'].sudo().create({
            'provider_id': self.provider.id,
            'payment_method_id': self.env.ref('payment.payment_method_unknown').id,
            'amount': invoice.amount_total, 'currency_id': invoice.currency_id.id,
            'partner_id': self.customer.id, 'operation': 'offline',
            'invoice_ids': [Command.set(invoice.ids)], 'sale_order_ids': [Command.set(self.subscription.ids)],
            'subscription_action': 'automatic_send_mail'})

    def test_successful_payment_is_no_reactivation_and_pays_once(self):
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        with freeze_time('2026-12-01 06:00:00'):
            invoice = self.subscription.with_context(recurring_automatic=True)._create_invoices(final=True)
            invoice.action_post()
            transaction = self._transaction(invoice)
            transaction._set_done()
            transaction._post_process()
            transaction._post_process()
        self.assertIn(invoice.payment_state, ('paid', 'in_payment'))
        self.assertEqual(self.subscription.subscription_state, '3_progress')
        Webhook = self.env['fusion.billing.webhook']
        self.assertEqual(Webhook.search_count([('event_type', '=', 'invoice.payment_succeeded')]), 1)
        self.assertFalse(Webhook.search([('event_type', '=', 'subscription.reactivated')]))

    def test_a_pending_token_payment_that_fails_later_sends_payment_failed(self):
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        with freeze_time('2026-12-01 06:00:00'):
            invoice = self.subscription.with_context(recurring_automatic=True)._create_invoices(final=True)
            transaction = self._transaction(invoice)
            transaction._set_pending()
            transaction._set_error("Card declined by the bank.")
            transaction._post_process()
        self.assertEqual(invoice.state, 'cancel')
        [event] = self.env['fusion.billing.webhook'].search([('event_type', '=', 'invoice.payment_failed')])
        data = json.loads(event.body)['data']
        self.assertEqual((data['invoice_id'], data['subscription_id'], data['payment_reference'], data['reason']),
                         (invoice.id, self.subscription.id, transaction.reference, "Card declined by the bank."))

    def test_a_token_whose_customer_has_no_country_sends_payment_failed(self):
        partner = self.env['res.partner'].create({'name': 'Card holder', 'parent_id': self.customer.id})
        self.subscription.payment_token_id = self.env['payment.token'].create({
            'provider_id': self.provider.id, 'payment_method_id': self.env.ref('payment.payment_method_unknown').id,
            'partner_id': partner.id, 'provider_ref': 'card-1', 'payment_details': '4242'})
        self._set_deferred_settings()
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        with freeze_time('2026-12-01 06:00:00'):
            self.env['sale.order']._cron_recurring_create_invoice()
        self.assertFalse(self.subscription.invoice_ids, "Enterprise deleted the invoice")
        [event] = self.env['fusion.billing.webhook'].search([('event_type', '=', 'invoice.payment_failed')])
        self.assertEqual(json.loads(event.body)['data']['subscription_id'], self.subscription.id)


@tagged('post_install', '-at_install')
@freeze_time('2026-11-20 10:00:00')
class TestThresholdAlertInOdoo(FusionBillingCase):
    """A threshold crossing is told inside Odoo too, once, with or without webhooks."""

    def test_crossing_posts_on_the_chatter_and_plans_an_activity_once(self):
        self.charge.alert_threshold = 1000
        self.subscription.user_id = self.billing_user
        self._record(600, utc(2026, 11, 5), utc(2026, 11, 6), key='a')
        self.assertFalse(self.env['fusion.billing.threshold.crossing'].search([]))
        self._record(600, utc(2026, 11, 6), utc(2026, 11, 7), key='b')
        for _run in range(2):
            self.env['fusion.billing.usage']._cron_rate_open_periods()
        [crossing] = self.env['fusion.billing.threshold.crossing'].search([])
        self.assertRecordValues(crossing, [{'subscription_id': self.subscription.id, 'charge_id': self.charge.id,
                                            'quantity': 1200, 'threshold': 1000}])
        self.assertEqual(str(crossing.period_start), '2026-11-01')
        [activity] = self.subscription.activity_ids
        self.assertEqual(activity.user_id, self.billing_user)
        self.assertIn("1,200", activity.note)
        alerts = self.subscription.message_ids.filtered(lambda message: 'alert threshold' in (message.body or ''))
        self.assertEqual(len(alerts), 1)
        self.assertFalse(self._events('usage.threshold_reached'), "no service has a webhook URL")


@tagged('post_install', '-at_install')
class TestWebhookEventSubject(FusionBillingCase):

    def test_an_event_names_its_subscription(self):
        self._enable_webhooks()
        self.subscription.set_close()
        event = self._events('subscription.terminated')
        self.assertEqual(event.subscription_id, self.subscription)
        Webhook = self.env['fusion.billing.webhook']
        self.assertEqual(Webhook.search([('subscription_id', '=', self.subscription.id)]), event)
        test_event = Webhook._enqueue(self.service, 'webhook.test', {'service': 'analytics'}, 'test:1')
        self.assertFalse(test_event.subscription_id)
