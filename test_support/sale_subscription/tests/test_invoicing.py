from datetime import date

from odoo.exceptions import UserError, ValidationError
from odoo.tests import freeze_time, tagged

from .common import SubscriptionCase


@tagged('post_install', '-at_install')
class TestRecurringInvoicing(SubscriptionCase):

    @freeze_time('2026-11-01')
    def _create_postpaid_subscription(self):
        return self._create_subscription([(self.postpaid_product, 0, 0.25)])

    def test_postpaid_subscription_is_invoiced_in_arrears(self):
        subscription = self._create_postpaid_subscription()
        self.assertEqual(subscription.subscription_state, '3_progress')
        self.assertEqual(subscription.start_date, date(2026, 11, 1))
        self.assertEqual(subscription.next_invoice_date, date(2026, 12, 1))
        self.assertEqual(subscription.last_invoice_date, date(2026, 11, 1))

    def test_postpaid_line_at_zero_is_skipped_and_the_period_moves_on(self):
        subscription = self._create_postpaid_subscription()
        with freeze_time('2026-12-01'):
            invoices = self.env['sale.order']._cron_recurring_create_invoice()
        self.assertFalse(invoices)
        self.assertFalse(subscription.invoice_ids)
        self.assertEqual(subscription.next_invoice_date, date(2027, 1, 1))

    def test_postpaid_line_is_invoiced_at_delivered_quantity(self):
        subscription = self._create_postpaid_subscription()
        line = subscription.order_line
        line.qty_delivered = 1500
        with freeze_time('2026-12-01'):
            invoices = self.env['sale.order']._cron_recurring_create_invoice()
        self.assertEqual(len(invoices), 1)
        self.assertEqual(invoices.state, 'posted')
        invoice_line = invoices.invoice_line_ids
        self.assertRecordValues(invoice_line, [{
            'quantity': 1500,
            'price_unit': 0.25,
            'price_subtotal': 375.0,
            'deferred_start_date': date(2026, 11, 1),
            'deferred_end_date': date(2026, 11, 30),
            'subscription_id': subscription.id,
        }])
        self.assertEqual(line.product_uom_qty, 0, "a postpaid line keeps its ordered quantity")
        self.assertEqual(subscription.next_invoice_date, date(2027, 1, 1),
                         "posting an all-postpaid invoice moves one more period on")
        self.assertEqual(line.last_invoiced_date, date(2026, 11, 30))

    def test_prepaid_line_is_invoiced_at_ordered_quantity_in_advance(self):
        with freeze_time('2026-11-01'):
            subscription = self._create_subscription([(self.prepaid_product, 2, 49.0)])
            self.assertEqual(subscription.next_invoice_date, date(2026, 11, 1))
            invoices = self.env['sale.order']._cron_recurring_create_invoice()
        self.assertRecordValues(invoices.invoice_line_ids, [{
            'quantity': 2, 'deferred_start_date': date(2026, 11, 1), 'deferred_end_date': date(2026, 11, 30)}])
        self.assertEqual(subscription.next_invoice_date, date(2026, 12, 1))

    def test_paused_subscription_is_not_invoiced(self):
        subscription = self._create_postpaid_subscription()
        subscription.order_line.qty_delivered = 10
        subscription.pause_subscription()
        with freeze_time('2026-12-01'):
            self.assertFalse(self.env['sale.order']._cron_recurring_create_invoice())
        self.assertEqual(subscription.next_invoice_date, date(2026, 12, 1))

    def test_batch_collects_every_invoiceable_line_before_invoicing(self):
        first = self._create_postpaid_subscription()
        second = self._create_postpaid_subscription()
        (first | second).order_line.qty_delivered = 3
        calls = []
        order_class = type(self.env['sale.order'])
        collect, invoice = order_class._get_invoiceable_lines, order_class._create_invoices

        def recording_collect(orders, *args, **kwargs):
            calls.append(('collect', orders.ids))
            return collect(orders, *args, **kwargs)

        def recording_invoice(orders, *args, **kwargs):
            calls.append(('invoice', orders.ids))
            return invoice(orders, *args, **kwargs)

        self.patch(order_class, '_get_invoiceable_lines', recording_collect)
        self.patch(order_class, '_create_invoices', recording_invoice)
        with freeze_time('2026-12-01'):
            invoices = self.env['sale.order']._cron_recurring_create_invoice()
        self.assertEqual(len(invoices), 2)
        kinds = [kind for kind, _ids in calls]
        first_invoice = kinds.index('invoice')
        self.assertEqual(sorted(ids[0] for kind, ids in calls[:first_invoice] if kind == 'collect'),
                         sorted((first | second).ids))

    def test_cron_refuses_to_run_without_deferred_settings(self):
        self.env.company.deferred_revenue_journal_id = False
        with self.assertRaises(ValidationError):
            self.env['sale.order']._cron_recurring_create_invoice()

    def test_failed_payment_deletes_the_invoice(self):
        subscription = self._create_postpaid_subscription()
        subscription.order_line.qty_delivered = 100
        with freeze_time('2026-12-01'):
            invoice = subscription.with_context(recurring_automatic=True)._create_invoices(final=True)
            subscription._handle_subscription_payment_failure(invoice, self.env['payment.transaction'])
        self.assertFalse(invoice.exists())
        self.assertRecordValues(subscription, [{
            'payment_exception': False, 'is_batch': True, 'pending_transaction': False,
            'subscription_state': '3_progress', 'next_invoice_date': date(2026, 12, 1)}])
        self.assertEqual(subscription.order_line.qty_delivered, 100)

    def test_failed_payment_past_the_close_limit_closes_the_subscription(self):
        subscription = self._create_postpaid_subscription()
        subscription.order_line.qty_delivered = 100
        with freeze_time('2026-12-20'):
            invoice = subscription.with_context(recurring_automatic=True)._create_invoices(final=True)
            subscription._handle_subscription_payment_failure(invoice, self.env['payment.transaction'])
        self.assertEqual(subscription.subscription_state, '6_churn')
        self.assertEqual(subscription.close_reason_id,
                         self.env.ref('sale_subscription.close_reason_auto_close_limit_reached'))

    def test_deferred_dates_in_the_wrong_order_are_refused_as_account_accountant_does(self):
        subscription = self._create_postpaid_subscription()
        subscription.order_line.qty_delivered = 10
        with freeze_time('2026-12-01'):
            invoice = subscription._create_invoices()
        with self.assertRaisesRegex(UserError, 'start date later than the end date'):
            invoice.invoice_line_ids.write({'deferred_start_date': date(2026, 12, 1),
                                            'deferred_end_date': date(2026, 11, 30)})

    def test_a_fully_refunded_line_falls_back_on_the_subscription_last_invoiced_day(self):
        with freeze_time('2026-11-01'):
            subscription = self._create_subscription([(self.prepaid_product, 1, 49.0), (self.postpaid_product, 0, 1)])
        fee_line, usage_line = subscription.order_line
        with freeze_time('2026-11-01'):
            self.env['sale.order']._cron_recurring_create_invoice()
        usage_line.qty_delivered = 10
        with freeze_time('2026-12-01'):
            december = self.env['sale.order']._cron_recurring_create_invoice()
            self.assertEqual(usage_line.last_invoiced_date, date(2026, 11, 30))
            refund = december._reverse_moves()
            refund.invoice_line_ids.filtered(lambda line: line.sale_line_ids == fee_line).unlink()
            refund.action_post()
        self.assertEqual(fee_line.last_invoiced_date, date(2026, 12, 31))
        self.assertEqual(usage_line.last_invoiced_date, date(2026, 12, 31),
                         "the usage line's period is refunded: the subscription's latest day stands in")

    def test_pricelist_discount_applies_to_recurring_lines(self):
        self.env.ref('base.group_user').implied_ids |= self.env.ref('sale.group_discount_per_so_line')
        pricelist = self.env['product.pricelist'].create({
            'name': 'Ten off', 'item_ids': [(0, 0, {'applied_on': '3_global', 'compute_price': 'percentage',
                                                   'percent_price': 10})]})
        with freeze_time('2026-11-01'):
            subscription = self._create_subscription([(self.prepaid_product, 1, 49.0)], pricelist_id=pricelist.id)
        self.assertEqual(subscription.order_line.discount, 10)
