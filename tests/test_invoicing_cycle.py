from datetime import date

from odoo import Command
from odoo.tests import freeze_time, tagged

from .common import BillingCycleCase, utc


@tagged('post_install', '-at_install')
class TestInvoicingCycle(BillingCycleCase):
    """Usage -> Enterprise's invoicing (cron or manual) -> reconciliation -> next period."""

    def test_usage_after_the_last_hourly_run_is_on_the_invoice(self):
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        with freeze_time('2026-11-20 10:00:00'):
            self.Usage._cron_rate_open_periods()
        self._record(400, utc(2026, 11, 30, 22), utc(2026, 11, 30, 23))
        invoice = self._invoice_by_cron()
        self.assertEqual(invoice.state, 'posted')
        self.assertEqual(self._invoice_line(invoice).price_subtotal, 15.0)  # 1,200 x 0.0125

    def test_period_never_rated_by_the_cron_is_invoiced_not_skipped(self):
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        self.assertFalse(self._usage_line(), "the hourly cron never ran")
        invoice = self._invoice_by_cron()
        self.assertEqual(len(invoice), 1)
        self.assertEqual(self._invoice_line(invoice).price_subtotal, 10.0)
        self.assertEqual(self.subscription.next_invoice_date, date(2027, 1, 1))

    def test_full_cycle_reconciles_and_starts_the_next_period_at_zero(self):
        self.charge.write({'charge_model': 'graduated', 'tier_ids': [
            Command.create({'up_to': 1000, 'unit_price': 0.013}),
            Command.create({'up_to': 0, 'unit_price': 0.0071, 'flat_fee': 2.5})]})
        self._record(1500, utc(2026, 11, 3), utc(2026, 11, 4), key='nov-3')
        self._record(777, utc(2026, 11, 30, 23), utc(2026, 12, 1), key='nov-30')
        self._record(50, utc(2026, 12, 1), utc(2026, 12, 1, 1), key='dec-1')
        invoice = self._invoice_by_cron()
        invoice_line = self._invoice_line(invoice)
        # 1,000 x 0.013 + 1,277 x 0.0071 + 2.5 = 24.5667 -> 24.57
        self.assertEqual(invoice_line.price_subtotal, 24.57)
        self.assertRecordValues(self._reconciliation(), [{
            'period_start': date(2026, 11, 1), 'period_end': date(2026, 11, 30),
            'aggregated_quantity': 2277, 'included_quantity': 0, 'billable_quantity': 2277,
            'amount': invoice_line.price_subtotal, 'currency_id': self.currency.id, 'state': 'billed',
            'late_quantity': 0, 'invoice_id': invoice.id, 'sale_line_id': self._usage_line().id,
        }])
        # The new period [Dec 1, Jan 1) holds only the row of December 1st.
        self.assertEqual(self._usage_line().fusion_rated_quantity, 50)
        self.assertEqual(self.currency.round(self._usage_line().qty_delivered * self._usage_line().price_unit), 0.65)
        with freeze_time('2026-12-10 10:00:00'):
            self._record(100, utc(2026, 12, 5), utc(2026, 12, 6), key='dec-5')
            self.Usage._cron_rate_open_periods()
        self.assertEqual(self._usage_line().fusion_rated_quantity, 150)

    def test_charge_with_nothing_billable_is_reconciled_at_zero(self):
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        self._invoice_by_cron()
        self.assertRecordValues(self._reconciliation(self.seats_charge), [{
            'period_start': date(2026, 11, 1), 'period_end': date(2026, 11, 30),
            'aggregated_quantity': 0, 'amount': 0, 'state': 'billed'}])

    def test_failed_payment_keeps_the_line_for_the_next_try(self):
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        with freeze_time('2026-12-01 06:00:00'):
            invoice = self.subscription.with_context(recurring_automatic=True)._create_invoices(final=True)
            self.subscription._handle_subscription_payment_failure(invoice, self.env['payment.transaction'])
        self.assertFalse(invoice.exists())
        self.assertFalse(self._reconciliation())
        self.assertEqual(self._usage_line().fusion_rated_quantity, 800)
        self.assertEqual(self.subscription.next_invoice_date, date(2026, 12, 1))
        self.subscription.is_batch = False
        retry = self._invoice_by_cron('2026-12-02 06:00:00')
        self.assertEqual(self._invoice_line(retry).price_subtotal, 10.0)
        self.assertEqual(self._reconciliation().amount, 10.0)

    def test_late_usage_is_kept_and_flagged_for_sum(self):
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4), key='a')
        self._invoice_by_cron()
        late = self._record(200, utc(2026, 11, 15), utc(2026, 11, 16), key='b')[0]
        self.assertTrue(late.exists())
        self.assertRecordValues(self._reconciliation(), [{'state': 'late_usage', 'late_quantity': 200}])
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4), key='a')
        self.assertEqual(self._reconciliation().late_quantity, 200, "a plain re-send adds nothing")
        self.assertEqual(self._usage_line().fusion_rated_quantity, 0, "late rows stay out of the new period")
        self.assertIn(self._reconciliation(), self.Reconciliation.search([('state', '=', 'late_usage')]))

    def test_late_usage_for_max_is_the_new_maximum_minus_the_billed_one(self):
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4), key='calls')
        self._record(10, utc(2026, 11, 3), utc(2026, 11, 4), metric='seats', key='s1')
        self._record(7, utc(2026, 11, 9), utc(2026, 11, 10), metric='seats', key='s2')
        invoice = self._invoice_by_cron()
        self.assertEqual(self._invoice_line(invoice, self.seats_charge).price_subtotal, 40.0)
        self._record(15, utc(2026, 11, 20), utc(2026, 11, 21), metric='seats', key='s3')
        self.assertRecordValues(self._reconciliation(self.seats_charge),
                                [{'aggregated_quantity': 10, 'state': 'late_usage', 'late_quantity': 5}])
        self._record(12, utc(2026, 11, 21), utc(2026, 11, 22), metric='seats', key='s4')
        self.assertEqual(self._reconciliation(self.seats_charge).late_quantity, 5)

    def test_closing_rates_the_last_period_for_manual_invoicing(self):
        with freeze_time('2026-11-20 15:00:00'):
            self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
            self._record(400, utc(2026, 11, 19, 10), utc(2026, 11, 19, 11))
            self._record(100, utc(2026, 11, 20, 8), utc(2026, 11, 20, 9))
            self.subscription.set_close()
            self.assertEqual(self.subscription.subscription_state, '6_churn')
            # Enterprise invoices a closed subscription up to the day before its end date.
            self.assertEqual(self._usage_line().fusion_rated_quantity, 1200)
            wizard = self.env['sale.advance.payment.inv'].with_context(
                active_model='sale.order', active_ids=self.subscription.ids).create(
                {'advance_payment_method': 'delivered'})
            wizard.create_invoices()
            invoice = self.subscription.invoice_ids
            invoice.action_post()
        self.assertEqual(self._invoice_line(invoice).price_subtotal, 15.0)
        self.assertRecordValues(self._reconciliation(), [{
            'period_start': date(2026, 11, 1), 'period_end': date(2026, 11, 19), 'aggregated_quantity': 1200,
            'amount': 15.0, 'state': 'late_usage', 'late_quantity': 100}])
        self._record(50, utc(2026, 11, 25), utc(2026, 11, 26))
        self.assertEqual(self._reconciliation().late_quantity, 150)
        self.assertEqual(self._usage_line().qty_delivered, 0, "a closed subscription bills nothing more")
