import json
from datetime import date

from odoo.tests import freeze_time, tagged

from .. import engine
from .common import BillingCycleCase, utc


@tagged('post_install', '-at_install')
class TestContractLife(BillingCycleCase):
    """Renewals, upsells and consolidated invoices, run through Enterprise's own flows:
    every unit billed once, on the contract that used it, and every app told."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._enable_webhooks()

    def _send(self, subscription_id, quantity, start, end, key):
        """Usage as the API stores it (the batch path), for ``subscription_id``."""
        return self.Usage._record_usage_batch(self.service, [engine.UsageEvent(
            0, subscription_id, 'api_calls', quantity, start, end, key)])

    def _renew(self, subscription, when='2026-12-20 10:00:00'):
        with freeze_time(when):
            action = subscription.prepare_renewal_order()
            renewal = self.env['sale.order'].browse(action['res_id'])
            renewal.action_confirm()
        return renewal

    def test_renewal_end_to_end_bills_every_unit_once_on_the_contract_that_used_it(self):
        old = self.subscription
        self._send(old.id, 800, utc(2026, 11, 3), utc(2026, 11, 4), 'nov')
        self.assertEqual(self._invoice_line(self._invoice_by_cron()).price_subtotal, 10.0)
        self._send(old.id, 300, utc(2026, 12, 10), utc(2026, 12, 11), 'dec-10')
        self._rate_hourly('2026-12-15 10:00:00')
        self._send(old.id, 100, utc(2026, 12, 19), utc(2026, 12, 20), 'dec-19')

        renewal = self._renew(old)
        self.assertEqual((old.subscription_state, old.locked, renewal.subscription_state),
                         ('5_renewed', True, '3_progress'))
        self.assertEqual(self._usage_line(subscription=old).fusion_rated_quantity, 400,
                         "the last period is rated before the contract is locked")
        self.assertFalse(renewal.order_line.filtered(lambda line: line.product_id == self.usage_product),
                         "no stale copy of the old usage line: the renewal rates its own")
        [renewed] = self._events('subscription.renewed')
        data = json.loads(renewed.body)['data']
        self.assertEqual((data['subscription_id'], data['renewal_id'], data['renewal_reference'],
                          data['renewal_start_date']), (old.id, renewal.id, renewal.name, '2027-01-01'))

        # The app still posts to the old id: December stays on the old contract (its late
        # usage is rated on the locked contract), January goes to the renewal.
        late = self._send(old.id, 200, utc(2026, 12, 28), utc(2026, 12, 29), 'dec-28')
        moved = self._send(old.id, 500, utc(2027, 1, 5), utc(2027, 1, 6), 'jan-5')
        self.assertEqual(late.results[0]['subscription_id'], old.id)
        self.assertEqual(moved.results[0]['subscription_id'], renewal.id)
        self.assertEqual(self.Usage.browse(moved.results[0]['id']).subscription_id, renewal)

        final = self._invoice_manually(old, when='2027-01-02 09:00:00')
        final.action_post()
        self.assertEqual(self._invoice_line(final).price_subtotal, 7.5)  # 600 calls in December
        self.assertEqual(self._usage_line(subscription=old).qty_delivered, 0, "nothing left to bill on it")
        first = self._invoice_by_cron('2027-02-01 06:00:00')
        first_line = self._invoice_line(first)
        self.assertEqual(first.invoice_line_ids.subscription_id, renewal)
        self.assertEqual((first_line.price_subtotal, first_line.deferred_start_date), (6.25, date(2027, 1, 1)))
        billed = self.Reconciliation.search([('charge_id', '=', self.charge.id)])
        self.assertEqual(sorted((row.subscription_id.id, row.period_start, row.amount) for row in billed), [
            (old.id, date(2026, 11, 1), 10.0), (old.id, date(2026, 12, 1), 7.5), (renewal.id, date(2027, 1, 1), 6.25)])

    def test_usage_sent_twice_for_one_renewal_under_both_ids_is_refused(self):
        old = self.subscription
        self._send(old.id, 800, utc(2026, 11, 3), utc(2026, 11, 4), 'nov')
        self._invoice_by_cron()
        renewal = self._renew(old)
        result = self.Usage._record_usage_batch(self.service, [
            engine.UsageEvent(0, old.id, 'api_calls', 5, utc(2027, 1, 5), utc(2027, 1, 6), 'same'),
            engine.UsageEvent(1, renewal.id, 'api_calls', 5, utc(2027, 1, 5), utc(2027, 1, 6), 'same')])
        self.assertEqual(result.status, 'validation_error')
        self.assertEqual([(problem.index, problem.field) for problem in result.problems], [(1, 'idempotency_key')])

    def test_a_renewed_contract_back_in_progress_is_reactivated(self):
        old = self.subscription
        self._send(old.id, 800, utc(2026, 11, 3), utc(2026, 11, 4), 'nov')
        self._invoice_by_cron()
        renewal = self._renew(old)
        with freeze_time('2026-12-21 10:00:00'):
            renewal._action_cancel()
            old.set_open()
        self.assertEqual(old.subscription_state, '3_progress')
        [event] = self._events('subscription.reactivated')
        data = json.loads(event.body)['data']
        self.assertEqual((data['subscription_id'], data['previous_state']), (old.id, '5_renewed'))

    def test_an_upsell_leaves_the_usage_lines_and_their_billing_alone(self):
        subscription = self._create_subscription(self.customer, fee=True)
        self._invoice_by_cron('2026-11-01 06:00:00')
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4), subscription=subscription)
        self._invoice_by_cron()
        self._record(400, utc(2026, 12, 5), utc(2026, 12, 6), subscription=subscription)
        self._rate_hourly('2026-12-08 10:00:00')
        usage_line = self._usage_line(subscription=subscription)
        before = usage_line.read(['qty_delivered', 'price_unit', 'name', 'fusion_rated_periods'])
        with freeze_time('2026-12-10 10:00:00'):
            upsell = self.env['sale.order'].browse(subscription.prepare_upsell_order()['res_id'])
            self.assertFalse(upsell.order_line.filtered(lambda line: line.product_id == self.usage_product))
            upsell.order_line.filtered(lambda line: line.product_id == self.fee_product).product_uom_qty = 1
            upsell.action_confirm()
            upsell_invoice = upsell._create_invoices()
            upsell_invoice.action_post()
        self.assertEqual(subscription.order_line.filtered(lambda line: line.product_id == self.fee_product)
                         .product_uom_qty, 2)
        self.assertEqual(usage_line.read(['qty_delivered', 'price_unit', 'name', 'fusion_rated_periods']), before)
        self.assertFalse(self.Reconciliation.search([('invoice_id', '=', upsell_invoice.id)]))
        january = self._invoice_by_cron('2027-01-01 06:00:00')
        self.assertEqual(self._invoice_line(january).price_subtotal, 5.0, "December's 400 calls, once")

    def test_one_consolidated_invoice_tells_and_reconciles_each_subscription(self):
        self.env['ir.config_parameter'].set_param('sale_subscription.invoice_consolidation', 'True')
        other = self._create_subscription(self.customer)
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        self._record(400, utc(2026, 11, 3), utc(2026, 11, 4), subscription=other)
        invoice = self._invoice_by_cron()
        self.assertEqual(len(invoice), 1)
        self.assertEqual(invoice.invoice_line_ids.subscription_id, self.subscription | other)
        self.assertEqual([row.amount for row in self._reconciliation() | self._reconciliation(subscription=other)],
                         [10.0, 5.0])
        self.env['account.payment.register'].with_context(
            active_model='account.move', active_ids=invoice.ids).create({})._create_payments()
        told = self._events('invoice.payment_succeeded')
        self.assertEqual(sorted(json.loads(event.body)['data']['subscription_id'] for event in told),
                         sorted([self.subscription.id, other.id]))

    def test_a_failed_payment_of_a_consolidated_invoice_tells_each_subscription(self):
        other = self._create_subscription(self.customer)
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        self._record(400, utc(2026, 11, 3), utc(2026, 11, 4), subscription=other)
        subscriptions = self.subscription | other
        with freeze_time('2026-12-01 06:00:00'):
            invoice = subscriptions.with_context(recurring_automatic=True)._create_invoices(final=True)
            self.assertEqual(len(invoice), 1)
            subscriptions._handle_subscription_payment_failure(invoice, self.env['payment.transaction'])
        told = self._events('invoice.payment_failed')
        self.assertEqual(sorted(json.loads(event.body)['data']['subscription_id'] for event in told),
                         sorted(subscriptions.ids))
