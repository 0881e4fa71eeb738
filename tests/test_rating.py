from odoo import Command
from odoo.tests import freeze_time, tagged
from odoo.tools import mute_logger

from .common import FusionBillingCase, utc


@tagged('post_install', '-at_install')
@freeze_time('2026-11-20 10:00:00')
class TestRating(FusionBillingCase):
    """Usage rows -> hourly cron -> the charge's postpaid line on each subscription."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Usage = cls.env['fusion.billing.usage']

    def _rate(self):
        self.Usage._cron_rate_open_periods()

    def _set_charge(self, **values):
        self.charge.write(values)
        return self.charge

    def assertLineAmount(self, line, amount):
        self.assertEqual(line.product_uom_qty, 0, "a usage line is postpaid: nothing is ordered")
        self.assertEqual(self.currency.round(line.qty_delivered * line.price_unit), amount)
        self.assertEqual(line.qty_delivered * line.price_unit, amount, "delivered x price is the amount, exactly")

    def test_standard_charge_end_to_end(self):
        self._record(1000, utc(2026, 11, 1), utc(2026, 11, 2), key='h1')
        self._record(500, utc(2026, 11, 2), utc(2026, 11, 3), key='h2')
        self._rate()
        line = self._usage_line()
        self.assertRecordValues(line, [{'product_id': self.usage_product.id, 'fusion_charge_id': self.charge.id,
                                        'qty_delivered': 1, 'price_unit': 18.75}])
        self.assertLineAmount(line, 18.75)
        self.assertEqual(line.name, "API calls: 1,500 calls, 0 included, 1,500 billable\n"
                                    "1,500 calls × $\N{NO-BREAK SPACE}0.0125")

    def test_line_text_is_written_in_the_customers_language(self):
        self.env['res.lang']._activate_lang('fr_FR')
        french = self.env['res.lang']._lang_get('fr_FR')
        self.customer.lang = 'fr_FR'
        self.api_calls.with_context(lang='fr_FR').write({'name': "Appels API", 'unit_name': "appels"})
        self._record(1500, utc(2026, 11, 1), utc(2026, 11, 2), key='h1')
        self._rate()
        name = self._usage_line().name
        self.assertTrue(name.startswith("Appels API: "), "the metric in the customer's language")
        self.assertIn(f"1{french.thousands_sep}500 appels", name, "numbers in the customer's format")
        self.assertIn(f"0{french.decimal_point}0125", name, "the price keeps all its decimals")
        self.assertNotIn("1,500", name)

    def test_a_customer_language_no_longer_active_falls_back(self):
        self.env.cr.execute("UPDATE res_partner SET lang = 'de_DE' WHERE id = %s", [self.customer.id])
        self.customer.invalidate_recordset(['lang'])
        self._record(1500, utc(2026, 11, 1), utc(2026, 11, 2), key='h1')
        self._rate()
        self.assertIn("1,500 calls", self._usage_line().name)

    def test_standard_price_that_fits_keeps_units_and_unit_price(self):
        self._set_charge(price=0.5, included_quantity=100)
        self._record(1600, utc(2026, 11, 3), utc(2026, 11, 4))
        self._rate()
        self.assertRecordValues(self._usage_line(), [{'qty_delivered': 1500, 'price_unit': 0.5}])

    def test_package_charge_end_to_end(self):
        self._set_charge(charge_model='package', unit_batch=100, price=5, included_quantity=50)
        self._record(251, utc(2026, 11, 3), utc(2026, 11, 4))
        self._rate()
        self.assertLineAmount(self._usage_line(), 15)  # 201 billable -> 3 packages

    def test_graduated_charge_end_to_end(self):
        self._set_charge(charge_model='graduated', included_quantity=1000, tier_ids=[
            Command.create({'up_to': 10000, 'unit_price': 0.01}),
            Command.create({'up_to': 0, 'unit_price': 0.005, 'flat_fee': 10})])
        self._record(20700, utc(2026, 11, 3), utc(2026, 11, 4))
        self._rate()
        # 10,000 x 0.01 + 9,700 x 0.005 + 10 = 158.5
        line = self._usage_line()
        self.assertLineAmount(line, 158.5)
        self.assertEqual(line.name.splitlines()[1:], [
            "Graduated tiers:", "0 to 10,000 calls at $\N{NO-BREAK SPACE}0.01",
            "above 10,000 calls at $\N{NO-BREAK SPACE}0.005 + $\N{NO-BREAK SPACE}10.00"])

    def test_volume_charge_end_to_end(self):
        self._set_charge(charge_model='volume', tier_ids=[
            Command.create({'up_to': 1000, 'unit_price': 0.02, 'flat_fee': 1}),
            Command.create({'up_to': 0, 'unit_price': 0.013})])
        self._record(1000, utc(2026, 11, 3), utc(2026, 11, 4), key='v')
        self._rate()
        self.assertLineAmount(self._usage_line(), 21)
        self._record(1001, utc(2026, 11, 3), utc(2026, 11, 4), key='v')
        self._rate()
        self.assertLineAmount(self._usage_line(), 13.01)  # 1,001 x 0.013 = 13.013

    def test_window_edges(self):
        self._store_row(1, utc(2026, 10, 31, 23, 59), utc(2026, 11, 1))
        self._record(10, utc(2026, 11, 1), utc(2026, 11, 1, 1), key='first')
        self._record(100, utc(2026, 11, 30, 23), utc(2026, 12, 1), key='last')
        self._record(1000, utc(2026, 12, 1), utc(2026, 12, 1, 1), key='next')
        self.charge.price = 1
        self._rate()
        self.assertRecordValues(self._usage_line(), [{'qty_delivered': 110, 'price_unit': 1}])

    def test_charge_only_rates_its_plan_and_running_subscriptions(self):
        yearly = self.env.ref('sale_subscription.subscription_plan_year')
        other_plan = self._create_subscription(self.customer, plan=yearly)
        paused = self._create_subscription(self.customer)
        churned = self._create_subscription(self.customer)
        paused.pause_subscription()
        churned.set_close()
        for subscription in (other_plan, paused, churned):
            self._record(100, utc(2026, 11, 3), utc(2026, 11, 4), subscription=subscription)
        self._record(100, utc(2026, 11, 3), utc(2026, 11, 4))
        self._rate()
        self.assertTrue(self._usage_line())
        for subscription in (other_plan, paused, churned):
            self.assertFalse(subscription.order_line.fusion_charge_id, subscription.subscription_state)

    def test_nothing_to_bill_creates_no_line_and_zeroes_an_existing_one(self):
        self._rate()
        self.assertFalse(self._usage_line())
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4), key='k')
        self._rate()
        self.assertLineAmount(self._usage_line(), 10)
        self._record(0, utc(2026, 11, 3), utc(2026, 11, 4), key='k')
        self._rate()
        self.assertRecordValues(self._usage_line(), [{'qty_delivered': 0}])

    def test_rating_again_updates_the_same_line_quietly(self):
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        self._rate()
        messages, logs = len(self.subscription.message_ids), len(self.subscription.order_log_ids)
        mrr = self.subscription.recurring_monthly
        self._record(800, utc(2026, 11, 4), utc(2026, 11, 5))
        self._rate()
        self._rate()
        self.assertEqual(len(self._usage_line()), 1)
        self.assertLineAmount(self._usage_line(), 20)
        self.assertEqual(len(self.subscription.message_ids), messages, "no chatter noise")
        self.assertEqual(len(self.subscription.order_log_ids), logs, "no MRR log")
        self.assertEqual(self.subscription.recurring_monthly, mrr)

    def test_subscription_with_a_draft_invoice_is_left_alone(self):
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4), key='k')
        self._rate()
        self.subscription._create_invoices(final=True)
        self._record(1600, utc(2026, 11, 3), utc(2026, 11, 4), key='k')
        self._rate()
        self.assertLineAmount(self._usage_line(), 10)

    def test_subscription_in_another_currency_is_skipped(self):
        other_currency = self.env.ref('base.EUR' if self.currency.name != 'EUR' else 'base.USD')
        other_currency.active = True
        pricelist = self.env['product.pricelist'].create({'name': 'Other', 'currency_id': other_currency.id})
        subscription = self._create_subscription(self.customer, confirm=False)
        subscription.pricelist_id = pricelist
        subscription.action_confirm()
        self.assertNotEqual(subscription.currency_id, self.charge.currency_id)
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4), subscription=subscription)
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        with self.assertLogs('odoo.addons.fusion_billing.models.fusion_billing_usage', 'WARNING') as logs:
            self._rate()
        self.assertIn(str(subscription.id), logs.output[0])
        self.assertFalse(subscription.order_line.fusion_charge_id)
        self.assertTrue(self._usage_line())

    def test_one_broken_subscription_does_not_stop_the_batch(self):
        broken = self._create_subscription(self.customer)
        healthy = self._create_subscription(self.customer)
        for subscription in (self.subscription, broken, healthy):
            self._record(800, utc(2026, 11, 3), utc(2026, 11, 4), subscription=subscription)
        line_class = type(self.env['sale.order.line'])
        create = line_class.create

        def create_failing_for_broken(lines, vals_list):
            if any(values.get('order_id') == broken.id for values in vals_list):
                raise ValueError("broken subscription")
            return create(lines, vals_list)

        self.patch(line_class, 'create', create_failing_for_broken)
        with mute_logger('odoo.addons.fusion_billing.models.fusion_billing_rating'):
            self._rate()
        self.assertFalse(broken.order_line.fusion_charge_id)
        for subscription in (self.subscription, healthy):
            self.assertLineAmount(self._usage_line(subscription=subscription), 10)

    def test_period_after_an_invoice_starts_after_the_invoiced_days(self):
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        self._rate()
        with freeze_time('2026-12-01 01:00:00'):
            invoice = self.subscription._create_invoices(final=True)
            invoice.action_post()
            self.assertEqual(self.subscription.next_invoice_date.isoformat(), '2027-01-01')
            self._record(80, utc(2026, 12, 5), utc(2026, 12, 6))
            self._rate()
        # The line was not reset yet (that is the invoicing cycle's job): it now holds
        # the December usage only, rated over [2026-12-01, 2027-01-01).
        self.assertLineAmount(self._usage_line(), 1)

    def test_new_usage_lines_follow_analytic_distribution_models(self):
        analytic_plan = self.env['account.analytic.plan'].create({'name': 'Projects'})
        account = self.env['account.analytic.account'].create({'name': 'Acme', 'plan_id': analytic_plan.id})
        self.env['account.analytic.distribution.model'].create({
            'partner_id': self.customer.id, 'analytic_distribution': {str(account.id): 100}})
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        self._rate()
        self.assertEqual(self._usage_line().analytic_distribution, {str(account.id): 100})

    def test_rate_usage_for_given_subscriptions_and_window(self):
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        other = self._create_subscription(self.customer)
        ratings = (self.subscription | other)._fc_rate_usage(self.charge, utc(2026, 11, 1), utc(2026, 12, 1))
        self.assertEqual({key: float(rating.amount) for key, rating in ratings.items()},
                         {self.subscription.id: 10.0, other.id: 0.0})
        self.assertLineAmount(self._usage_line(), 10)
        self.assertFalse(self._usage_line(subscription=other))

    def _stored_and_recomputed(self, records, names):
        """``names`` of ``records`` as stored, then as Odoo computes them from scratch."""
        stored = records.read(names)
        for name in names:
            self.env.add_to_compute(records._fields[name], records)
        self.env.flush_all()
        records.invalidate_recordset(names)
        return stored, records.read(names)

    def assertTotalsAsOdooComputesThem(self, order):
        order_totals = [name for name in ('amount_untaxed', 'amount_tax', 'amount_total', 'recurring_total',
                                          'recurring_monthly') if name in order._fields]
        stored, recomputed = self._stored_and_recomputed(order, order_totals)
        self.assertEqual(stored, recomputed, "the order's totals")
        line_totals = ['price_subtotal', 'price_tax', 'price_total', 'untaxed_amount_to_invoice', 'qty_to_invoice']
        stored, recomputed = self._stored_and_recomputed(order.order_line, line_totals)
        self.assertEqual(stored, recomputed, "the lines' totals")

    def test_rating_keeps_the_totals_odoo_computes(self):
        tax = self.env['account.tax'].create({'name': "VAT 10%", 'amount': 10, 'amount_type': 'percent'})
        self.usage_product.taxes_id = tax
        subscription = self._create_subscription(self.customer)
        # A line with an ordered quantity, so that the order has totals to keep right.
        subscription.order_line.write({'product_uom_qty': 1, 'price_unit': 49.0, 'tax_ids': [Command.set(tax.ids)]})
        self._record(1800, utc(2026, 11, 3), utc(2026, 11, 4), key='h1', subscription=subscription)
        self._rate()
        line = self._usage_line(subscription=subscription)
        self.assertLineAmount(line, 22.5)
        self.assertRecordValues(subscription, [{'amount_untaxed': 49.0, 'amount_tax': 4.9, 'amount_total': 53.9}])
        self.assertEqual(line.untaxed_amount_to_invoice, 22.5)
        self.assertTotalsAsOdooComputesThem(subscription)
        self._record(2400, utc(2026, 11, 3), utc(2026, 11, 4), key='h1', subscription=subscription)
        self._rate()
        self.assertLineAmount(line, 30)
        self.assertEqual(line.untaxed_amount_to_invoice, 30)
        self.assertTotalsAsOdooComputesThem(subscription)

    def test_a_usage_line_given_an_ordered_quantity_has_its_totals_recomputed(self):
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4), key='h1')
        self._rate()
        line = self._usage_line()
        line.product_uom_qty = 2
        self._record(1600, utc(2026, 11, 3), utc(2026, 11, 4), key='h1')
        self._rate()
        self.assertEqual(line.price_unit, 20.0)
        self.assertEqual(line.price_subtotal, 40.0, "ordered quantity x the new price")
        self.assertTotalsAsOdooComputesThem(self.subscription)

    def test_a_usage_line_totals_are_what_odoo_taxes_give_an_ordered_quantity_of_0(self):
        fixed = self.env['account.tax'].create({'name': "Eco fee", 'amount': 5, 'amount_type': 'fixed'})
        percent = self.env['account.tax'].create({'name': "VAT 21%", 'amount': 21, 'amount_type': 'percent'})
        self.usage_product.taxes_id = fixed | percent
        self._record(1600, utc(2026, 11, 3), utc(2026, 11, 4), key='h1')
        self._rate()
        line = self._usage_line()
        self.assertEqual(line.tax_ids, fixed | percent)
        self.assertRecordValues(line, [{'price_subtotal': 0.0, 'price_tax': 0.0, 'price_total': 0.0}])
        AccountTax = self.env['account.tax']
        base_line = line._prepare_base_line_for_taxes_computation()
        AccountTax._add_tax_details_in_base_line(base_line, self.company)
        AccountTax._round_base_lines_tax_details([base_line], self.company)
        self.assertEqual((base_line['tax_details']['total_excluded_currency'],
                          base_line['tax_details']['total_included_currency']), (0.0, 0.0))
