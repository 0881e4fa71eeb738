from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import freeze_time, tagged

from .common import BillingCycleCase, utc


@tagged('post_install', '-at_install')
class TestUpcomingInvoice(BillingCycleCase):
    """The upcoming invoice is the invoice Enterprise's cron then creates, to the cent."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vat = cls.env['account.tax'].create({
            'name': 'VAT 10%', 'amount': 10, 'amount_type': 'percent', 'type_tax_use': 'sale'})
        (cls.usage_product | cls.seats_product | cls.fee_product).taxes_id = cls.vat
        cls.Rating = cls.env['fusion.billing.rating']

    def _upcoming(self, subscription, when='2026-11-20 12:00:00'):
        with freeze_time(when):
            return self.Rating._upcoming_invoice(subscription)

    def assertUpcomingIsInvoice(self, upcoming, invoice):
        currency = invoice.currency_id
        invoiced = sorted((line.product_id.id, line.quantity, line.price_unit, line.price_subtotal)
                          for line in invoice.invoice_line_ids.filtered(lambda line: line.display_type == 'product'))
        announced = sorted((line['product_id'], line['quantity'], line['price_unit'], line['price_subtotal'])
                           for line in upcoming['lines'])
        self.assertEqual(announced, invoiced, "line by line")
        for field in ('amount_untaxed', 'amount_tax', 'amount_total'):
            self.assertEqual(currency.compare_amounts(upcoming[field], invoice[field]), 0, field)
        self.assertEqual(upcoming['date'], invoice.invoice_date)

    def test_upcoming_invoice_equals_the_cron_invoice_with_fee_usage_and_taxes(self):
        subscription = self._create_subscription(self.customer, fee=True)
        self._invoice_by_cron('2026-11-01 06:00:00')
        self._record(2345, utc(2026, 11, 5), utc(2026, 11, 6), subscription=subscription)
        self._record(7, utc(2026, 11, 10), utc(2026, 11, 11), metric='seats', subscription=subscription)
        upcoming = self._upcoming(subscription)
        self.assertFalse(self._usage_line(subscription=subscription), "announcing the invoice writes no line")
        self.assertEqual(upcoming['amount_untaxed'], 49 + 29.31 + 28)  # 2,345 x 0.0125 rounded, 7 seats x 4
        invoice = self._invoice_by_cron()
        self.assertUpcomingIsInvoice(upcoming, invoice)

    def test_upcoming_invoice_uses_the_usage_since_the_last_hourly_rating(self):
        subscription = self._create_subscription(self.customer, fee=True)
        self._invoice_by_cron('2026-11-01 06:00:00')
        self._record(1000, utc(2026, 11, 5), utc(2026, 11, 6), subscription=subscription)
        self._rate_hourly('2026-11-10 10:00:00')
        self._record(500, utc(2026, 11, 12), utc(2026, 11, 13), subscription=subscription)
        upcoming = self._upcoming(subscription)
        line = self._usage_line(subscription=subscription)
        self.assertEqual(line.qty_delivered * line.price_unit, 12.5,
                         "the line still holds the last hourly figures")
        invoice = self._invoice_by_cron()
        self.assertEqual(self._invoice_line(invoice).price_subtotal, 18.75)
        self.assertUpcomingIsInvoice(upcoming, invoice)

    def test_price_included_tax_and_pricelist_discount(self):
        included = self.env['account.tax'].create({
            'name': 'VAT 20% included', 'amount': 20, 'amount_type': 'percent', 'type_tax_use': 'sale',
            'price_include_override': 'tax_included'})
        self.usage_product.taxes_id = included
        pricelist = self.env['product.pricelist'].create({'name': 'Minus 10%', 'item_ids': [Command.create({
            'compute_price': 'percentage', 'percent_price': 10, 'applied_on': '3_global'})]})
        subscription = self._create_subscription(self.customer, fee=True, pricelist_id=pricelist.id)
        self._invoice_by_cron('2026-11-01 06:00:00')
        self._record(3333, utc(2026, 11, 5), utc(2026, 11, 6), subscription=subscription)
        upcoming = self._upcoming(subscription)
        invoice = self._invoice_by_cron()
        self.assertUpcomingIsInvoice(upcoming, invoice)
        self.assertEqual(self._invoice_line(invoice).price_subtotal, 41.66)  # 3,333 x 0.0125, no discount

    def test_nothing_upcoming_once_closed(self):
        subscription = self._create_subscription(self.customer, fee=True)
        self._invoice_by_cron('2026-11-01 06:00:00')
        subscription.set_close()
        self.assertIsNone(self._upcoming(subscription))

    def test_the_form_shows_the_upcoming_invoice_and_rate_now_stamps_the_time(self):
        subscription = self._create_subscription(self.customer, fee=True)
        self._invoice_by_cron('2026-11-01 06:00:00')
        self._record(2345, utc(2026, 11, 5), utc(2026, 11, 6), subscription=subscription)
        with freeze_time('2026-11-20 12:00:00'):
            shown = subscription.with_user(self.billing_user).fusion_upcoming_invoice
            self.assertIn('29.31', shown)
            self.assertIn('49.00', shown)
            self.assertEqual(str(subscription.fusion_rated_at), '2026-11-01 06:00:00', "rated at the first invoice")
            subscription.with_user(self.billing_user).action_fusion_rate_now()
            self.assertEqual(str(subscription.fusion_rated_at), '2026-11-20 12:00:00')
        line = self._usage_line(subscription=subscription)
        self.assertEqual(line.qty_delivered * line.price_unit, 29.31, "Rate Now wrote the usage line")

    def test_the_usage_tab_keeps_the_billed_periods_and_the_days_of_the_open_one(self):
        subscription = self._create_subscription(self.customer, fee=True)
        self._invoice_by_cron('2026-11-01 06:00:00')
        self._record(2345, utc(2026, 11, 5), utc(2026, 11, 6), subscription=subscription)
        invoice = self._invoice_by_cron()
        self.assertEqual(invoice.state, 'posted', "the cron posts it")
        self._record(700, utc(2026, 12, 3), utc(2026, 12, 4), subscription=subscription)
        with freeze_time('2026-12-10 12:00:00'):
            history = subscription.with_user(self.billing_user).fusion_usage_history
        self.assertIn(invoice.name, history)
        self.assertIn(f'/odoo/account.move/{invoice.id}', history)
        self.assertIn('29.31', history, "the billed amount of November")
        self.assertIn('700', history, "December 3 in the chart of the open period")
        self.assertEqual(history.count('o_fusion_usage_chart'), 2, "one chart per charge")

    def test_nothing_open_once_closed_and_invoiced(self):
        subscription = self._create_subscription(self.customer, fee=True)
        self._invoice_by_cron('2026-11-01 06:00:00')
        self._record(100, utc(2026, 11, 5), utc(2026, 11, 6), subscription=subscription)
        with freeze_time('2026-11-20 10:00:00'):
            subscription.set_close()
            final = self._invoice_manually(subscription, when='2026-11-20 10:00:00')
            final.action_post()
            subscription.invalidate_recordset()
            self.assertFalse(subscription.fusion_period_start)
            self.assertIn("No usage is waiting to be billed", subscription.fusion_usage_summary)
            self.assertIn("No invoice is due", subscription.fusion_upcoming_invoice)

    def test_charge_prices_read_with_their_currency_and_decimals(self):
        self.assertEqual(self.charge.price_display, "$\N{NO-BREAK SPACE}0.0125")
        self.seats_charge.price = 4
        self.assertEqual(self.seats_charge.price_display, "$\N{NO-BREAK SPACE}4.00")

    def test_nothing_upcoming_when_the_cron_will_not_invoice(self):
        subscription = self._create_subscription(self.customer, fee=True)
        self._invoice_by_cron('2026-11-01 06:00:00')
        self._record(100, utc(2026, 11, 5), utc(2026, 11, 6), subscription=subscription)
        subscription.subscription_state = '4_paused'
        self.assertIsNone(self._upcoming(subscription), "Enterprise's cron skips paused subscriptions")
        subscription.subscription_state = '3_progress'
        subscription.end_date = '2026-11-25'
        self.assertIsNone(self._upcoming(subscription), "closed by the cron on its end date, not invoiced")

    def test_rate_now_is_for_billing_users(self):
        with self.assertRaises(AccessError):
            self.subscription.with_user(self.salesperson).action_fusion_rate_now()
