import decimal
from datetime import date

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import freeze_time, tagged
from odoo.tools import mute_logger

from .. import engine
from .common import BillingCycleCase, utc


@tagged('post_install', '-at_install')
class TestBillingLedger(BillingCycleCase):
    """Every usage period billed exactly once, whatever Enterprise's path: empty periods,
    prepaid fees, accountants' changes, re-posting, credit notes, closing, discounts, taxes."""

    def _ledger(self, charge=None, subscription=None):
        """The ledger rows of a charge as (first day, last day, billed amount, state) tuples."""
        return [(row.period_start, row.period_end, row.amount, row.state)
                for row in self._reconciliation(charge, subscription)]

    def _assert_january_bills_november_again(self):
        """November (800 calls, 10.00) was handed back: January's invoice bills it with December."""
        self._record(400, utc(2026, 12, 10), utc(2026, 12, 11))
        january = self._invoice_by_cron('2027-01-01 06:00:00')
        self.assertEqual(self._invoice_line(january).price_subtotal, 15.0)
        self.assertEqual(self._ledger(), [
            (date(2026, 11, 1), date(2026, 11, 30), 10.0, 'billed'),
            (date(2026, 12, 1), date(2026, 12, 31), 5.0, 'billed'),
        ])
        return january

    def test_an_empty_period_does_not_stop_the_charge(self):
        self.charge.included_quantity = 100
        self._record(900, utc(2026, 11, 3), utc(2026, 11, 4))
        self.assertEqual(self._invoice_line(self._invoice_by_cron()).price_subtotal, 10.0)
        self._record(60, utc(2026, 12, 8), utc(2026, 12, 9))  # all of it included
        self.assertFalse(self._invoice_by_cron('2027-01-01 06:00:00'), "nothing billable in December")
        self.assertEqual(self.subscription.next_invoice_date, date(2027, 2, 1))
        self._record(1100, utc(2027, 1, 10), utc(2027, 1, 11))
        invoice = self._invoice_by_cron('2027-02-01 06:00:00')
        invoice_line = self._invoice_line(invoice)
        self.assertEqual(invoice_line.price_subtotal, 12.5)
        self.assertEqual((invoice_line.deferred_start_date, invoice_line.deferred_end_date),
                         (date(2026, 12, 1), date(2027, 1, 31)))
        self.assertEqual(self._ledger(), [
            (date(2026, 11, 1), date(2026, 11, 30), 10.0, 'billed'),
            (date(2026, 12, 1), date(2026, 12, 31), 0.0, 'billed'),
            (date(2027, 1, 1), date(2027, 1, 31), 12.5, 'billed'),
        ])
        self.assertRecordValues(self._reconciliation()[1], [{'aggregated_quantity': 60, 'billable_quantity': 0}])
        # March bills February only.
        self._record(400, utc(2027, 2, 3), utc(2027, 2, 4))
        invoice = self._invoice_by_cron('2027-03-01 06:00:00')
        self.assertEqual(self._invoice_line(invoice).price_subtotal, 3.75)  # 300 billable

    def test_prepaid_fee_beside_usage_bills_each_usage_period_once_in_arrears(self):
        subscription = self._create_subscription(self.customer, fee=True)
        # Usage of the first hours must wait for the period's end, not go on the first invoice.
        self._record(100, utc(2026, 11, 1), utc(2026, 11, 1, 1), subscription=subscription)
        first = self._invoice_by_cron('2026-11-01 06:00:00')
        self.assertEqual(first.amount_untaxed, 49.0)
        self.assertFalse(self._invoice_line(first), "the usage period has only just started")
        self._record(700, utc(2026, 11, 20), utc(2026, 11, 21), subscription=subscription)
        december = self._invoice_by_cron()
        self.assertEqual(self._invoice_line(december).price_subtotal, 10.0)  # 800 calls
        self.assertEqual(december.amount_untaxed, 59.0)
        january = self._invoice_by_cron('2027-01-01 06:00:00')
        self.assertEqual(january.amount_untaxed, 49.0, "a quiet December: the fee only")
        self._record(1000, utc(2027, 1, 10), utc(2027, 1, 11), subscription=subscription)
        february = self._invoice_by_cron('2027-02-01 06:00:00')
        february_line = self._invoice_line(february)
        self.assertEqual(february_line.price_subtotal, 12.5)
        self.assertEqual(february_line.deferred_start_date, date(2027, 1, 1))
        self.assertEqual(self._ledger(subscription=subscription), [
            (date(2026, 11, 1), date(2026, 11, 30), 10.0, 'billed'),
            (date(2026, 12, 1), date(2026, 12, 31), 0.0, 'billed'),
            (date(2027, 1, 1), date(2027, 1, 31), 12.5, 'billed'),
        ])

    def test_a_quiet_month_is_in_the_ledger_and_its_late_usage_is_flagged(self):
        subscription = self._create_subscription(self.customer, fee=True, start_date='2026-10-01')
        self._invoice_by_cron('2026-10-01 06:00:00')
        november = self._invoice_by_cron('2026-11-01 06:00:00')
        self.assertEqual(november.amount_untaxed, 49.0)
        self.assertEqual(self._ledger(subscription=subscription),
                         [(date(2026, 10, 1), date(2026, 10, 31), 0.0, 'billed')])
        self.assertEqual(self._ledger(self.seats_charge, subscription),
                         [(date(2026, 10, 1), date(2026, 10, 31), 0.0, 'billed')])
        self._record(250, utc(2026, 10, 15), utc(2026, 10, 16), subscription=subscription)
        self.assertRecordValues(self._reconciliation(subscription=subscription),
                                [{'state': 'late_usage', 'late_quantity': 250}])

    def test_ledger_says_what_the_posted_invoice_billed(self):
        self._record(2400, utc(2026, 11, 3), utc(2026, 11, 4))
        invoice = self._invoice_manually()
        self._invoice_line(invoice).discount = 10
        invoice.action_post()
        self.assertRecordValues(self._reconciliation(), [{
            'amount': 27.0, 'rated_amount': 30.0, 'aggregated_quantity': 2400, 'state': 'billed',
            'invoice_id': invoice.id}])

    def test_posting_the_same_invoice_again_leaves_the_ledger_alone(self):
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        invoice = self._invoice_by_cron()
        self._record(50, utc(2026, 12, 2), utc(2026, 12, 3))
        self._record(30, utc(2026, 11, 29), utc(2026, 11, 30))  # late for November
        before = self._reconciliation().read(['period_start', 'aggregated_quantity', 'amount', 'state',
                                              'late_quantity', 'invoice_id'])
        with freeze_time('2026-12-03 09:00:00'):
            invoice.button_draft()
            invoice.action_post()
        self.assertEqual(self._reconciliation().read(['period_start', 'aggregated_quantity', 'amount', 'state',
                                                      'late_quantity', 'invoice_id']), before)
        self.assertRecordValues(self._reconciliation(), [
            {'aggregated_quantity': 800, 'amount': 10.0, 'state': 'late_usage', 'late_quantity': 30}])
        self._rate_hourly('2026-12-03 10:00:00')
        self.assertEqual(self._usage_line().fusion_rated_quantity, 50, "the new period holds December only")

    def test_a_full_credit_note_credits_the_period_and_the_next_invoice_bills_it_again(self):
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        invoice = self._invoice_by_cron()
        with freeze_time('2026-12-05 09:00:00'):
            invoice._reverse_moves(cancel=True)
        self.assertEqual(self._ledger(), [(date(2026, 11, 1), date(2026, 11, 30), 10.0, 'credited')])
        january = self._assert_january_bills_november_again()
        self.assertEqual(self._reconciliation()[0].invoice_id, january)

    def test_closing_right_after_an_invoice_leaves_nothing_to_bill_twice(self):
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        self._invoice_by_cron()
        self._record(50, utc(2026, 12, 1, 1), utc(2026, 12, 1, 2))
        self._rate_hourly('2026-12-01 08:00:00')
        self.assertEqual(self._usage_line().fusion_rated_quantity, 50)
        with freeze_time('2026-12-01 12:00:00'):
            self.subscription.set_close()
            self.assertEqual(self._usage_line().qty_delivered, 0, "the closing window is empty")
            # Not account_accountant's "start date later than the end date": nothing is left.
            with self.assertRaisesRegex(UserError, 'No items are available to invoice'):
                self.subscription._create_invoices()
        self.assertRecordValues(self._reconciliation(), [{'state': 'late_usage', 'late_quantity': 50}])

    def test_usage_billed_at_closing_is_not_also_late_on_the_previous_period(self):
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        self._invoice_by_cron()
        with freeze_time('2026-12-10 12:00:00'):
            self._record(400, utc(2026, 12, 5), utc(2026, 12, 6))
            self.subscription.set_close()
            self.assertEqual(self._usage_line().fusion_rated_quantity, 400)
            self.assertEqual(self._reconciliation().state, 'billed', "December is not billed yet, not late")
        final = self._invoice_manually(when='2026-12-10 13:00:00')
        final.action_post()
        self.assertEqual(self._invoice_line(final).price_subtotal, 5.0)
        self.assertRecordValues(self._reconciliation(), [
            {'period_start': date(2026, 11, 1), 'period_end': date(2026, 11, 30), 'amount': 10.0, 'state': 'billed',
             'late_quantity': 0},
            {'period_start': date(2026, 12, 1), 'period_end': date(2026, 12, 9), 'amount': 5.0, 'state': 'billed',
             'late_quantity': 0},
        ])

    def test_pricelist_discount_never_applies_to_usage(self):
        self.env.ref('base.group_user').implied_ids |= self.env.ref('sale.group_discount_per_so_line')
        pricelist = self.env['product.pricelist'].create({'name': 'Ten off', 'currency_id': self.currency.id,
                                                          'item_ids': [Command.create({
                                                              'applied_on': '3_global', 'compute_price': 'percentage',
                                                              'percent_price': 10})]})
        self.usage_product.list_price = 0.02  # a percentage rule discounts any product with a sales price
        subscription = self._create_subscription(self.customer, pricelist_id=pricelist.id)
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4), subscription=subscription)
        self._rate_hourly('2026-11-20 10:00:00')
        self.assertEqual(self._usage_line(subscription=subscription).discount, 0)
        invoice = self._invoice_by_cron()
        invoice_line = self._invoice_line(invoice)
        self.assertEqual((invoice_line.discount, invoice_line.price_subtotal), (0, 10.0))
        self.assertEqual(self._reconciliation(subscription=subscription)[0].amount, 10.0)

    def test_tax_included_prices_still_invoice_the_rated_amount_untaxed(self):
        tax = self.env['account.tax'].create({'name': 'VAT 21% incl.', 'amount': 21, 'amount_type': 'percent',
                                              'type_tax_use': 'sale', 'price_include_override': 'tax_included'})
        self.usage_product.taxes_id = tax
        self._record(1234, utc(2026, 11, 3), utc(2026, 11, 4))  # 15.425 -> 15.43
        invoice = self._invoice_by_cron()
        invoice_line = self._invoice_line(invoice)
        self.assertEqual(invoice_line.tax_ids, tax)
        self.assertEqual(invoice_line.price_subtotal, 15.43)
        self.assertEqual(self._reconciliation()[0].amount, 15.43)

    def test_fiscal_position_mapping_keeps_the_rated_amount(self):
        excluded = self.env['account.tax'].create({'name': 'VAT 21%', 'amount': 21, 'amount_type': 'percent',
                                                   'type_tax_use': 'sale', 'price_include_override': 'tax_excluded'})
        reduced = self.env['account.tax'].create({'name': 'Reduced 10% incl.', 'amount': 10, 'amount_type': 'percent',
                                                  'type_tax_use': 'sale', 'price_include_override': 'tax_included'})
        self.usage_product.taxes_id = excluded
        fiscal_position = self.env['account.fiscal.position'].create({'name': 'Reduced rate'})
        reduced.fiscal_position_ids = fiscal_position
        reduced.original_tax_ids = excluded
        subscription = self._create_subscription(self.customer, fiscal_position_id=fiscal_position.id)
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4), subscription=subscription)
        invoice = self._invoice_by_cron()
        invoice_line = self._invoice_line(invoice)
        self.assertEqual(invoice_line.tax_ids, reduced)
        self.assertEqual(invoice_line.price_subtotal, 10.0)
        self.assertEqual(self._reconciliation(subscription=subscription)[0].amount, 10.0)

    def test_read_paths_never_write_usage_lines(self):
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        self._rate_hourly('2026-11-20 10:00:00')
        self._record(400, utc(2026, 11, 21), utc(2026, 11, 22))
        with freeze_time('2026-11-21 10:00:00'):
            details = self.subscription._next_billing_details()
        self.assertIn(self._usage_line(), details['display_lines'])
        self.assertEqual(self._usage_line().fusion_rated_quantity, 800, "the portal page rated nothing")
        with freeze_time('2026-11-21 10:00:00'):
            self.subscription.invalidate_recordset()
            self.assertIn('15.00', self.subscription.fusion_usage_summary, "the Usage tab shows what is billable")
            report = self.subscription._fc_usage_report()
        self.assertEqual(report['charges'][0]['amount'], '15.00')
        self.assertEqual(self._usage_line().fusion_rated_quantity, 800, "the Usage tab and the API rated nothing")

    @mute_logger('odoo.addons.fusion_billing.models.fusion_billing_rating',
                 'odoo.addons.sale_subscription.models.sale_order')
    def test_a_subscription_that_cannot_be_rated_is_not_invoiced_and_says_why(self):
        other = self._create_subscription(self.customer)
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4), subscription=other)
        self._record(666, utc(2026, 11, 5), utc(2026, 11, 6))
        rate = engine.rate

        def rate_failing_on_666(quantity, terms, rounding):
            # Any error, not only the engine's: an arithmetic one escaping from pricing.
            if quantity == 666:
                raise decimal.InvalidOperation([decimal.InvalidOperation])
            return rate(quantity, terms, rounding)

        self.patch(engine, 'rate', rate_failing_on_666)
        self._rate_hourly('2026-11-20 10:00:00')
        self.assertEqual(self._usage_line(subscription=other).fusion_rated_quantity, 800,
                         "one broken subscription never stops the others")
        invoices = self._invoice_by_cron()
        self.assertEqual(invoices.invoice_line_ids.subscription_id, other)
        self.assertFalse(self.subscription.invoice_ids)
        self.assertEqual(self.subscription.next_invoice_date, date(2026, 12, 1), "tried again tomorrow")
        self.assertTrue(self.subscription.activity_ids.filtered(lambda activity: 'usage' in activity.summary.lower()))
        with freeze_time('2026-12-01 09:00:00'), self.assertRaisesRegex(UserError, 'usage'):
            self.subscription._create_invoices()

    def test_an_invoice_reset_and_cancelled_gives_its_periods_back(self):
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        invoice = self._invoice_by_cron()
        with freeze_time('2026-12-02 09:00:00'):
            invoice.button_draft()
            invoice.button_cancel()
        self.assertEqual(self._ledger(), [(date(2026, 11, 1), date(2026, 11, 30), 10.0, 'credited')])
        self.assertEqual(self._usage_line().fusion_rated_quantity, 800, "November is to bill again")
        self._assert_january_bills_november_again()

    def test_crediting_an_older_invoice_bills_that_period_again_and_only_it(self):
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        november = self._invoice_by_cron()
        self._record(400, utc(2026, 12, 10), utc(2026, 12, 11))
        self._invoice_by_cron('2027-01-01 06:00:00')
        with freeze_time('2027-01-05 09:00:00'):
            november._reverse_moves(cancel=True)
        self._record(200, utc(2027, 1, 10), utc(2027, 1, 11))
        february = self._invoice_by_cron('2027-02-01 06:00:00')
        self.assertEqual(self._invoice_line(february).price_subtotal, 12.5, "November again, and January")
        self.assertEqual(self._ledger(), [
            (date(2026, 11, 1), date(2026, 11, 30), 10.0, 'billed'),
            (date(2026, 12, 1), date(2026, 12, 31), 5.0, 'billed'),
            (date(2027, 1, 1), date(2027, 1, 31), 2.5, 'billed'),
        ])

    def test_a_cancelled_credit_note_credits_nothing(self):
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        invoice = self._invoice_by_cron()
        with freeze_time('2026-12-05 09:00:00'):
            credit_note = invoice._reverse_moves(cancel=True)
            credit_note.button_draft()
            credit_note.button_cancel()
        self.assertEqual(self._ledger(), [(date(2026, 11, 1), date(2026, 11, 30), 10.0, 'billed')])
        self._record(400, utc(2026, 12, 10), utc(2026, 12, 11))
        january = self._invoice_by_cron('2027-01-01 06:00:00')
        self.assertEqual(self._invoice_line(january).price_subtotal, 5.0, "December only")

    def test_a_partial_credit_note_leaves_the_period_billed(self):
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        invoice = self._invoice_by_cron()
        with freeze_time('2026-12-05 09:00:00'):
            credit_note = invoice._reverse_moves()
            self._invoice_line(credit_note).price_unit /= 2
            credit_note.action_post()
        self.assertEqual(self._ledger(), [(date(2026, 11, 1), date(2026, 11, 30), 10.0, 'billed')])
        january = self._invoice_by_cron('2027-01-01 06:00:00')
        self.assertFalse(self._invoice_line(january), "November is not billed a second time")

    def test_an_archived_charge_is_not_billed_again(self):
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        self._rate_hourly('2026-11-20 10:00:00')
        self.charge.active = False
        self._record(10, utc(2026, 11, 3), utc(2026, 11, 4), metric='seats')
        invoice = self._invoice_by_cron()
        self.assertFalse(self._invoice_line(invoice))
        self.assertEqual(self._usage_line().qty_delivered, 0)
        january = self._invoice_by_cron('2027-01-01 06:00:00')
        self.assertFalse(self._invoice_line(january))

    def test_a_charge_added_later_bills_from_the_current_period(self):
        self._record(10, utc(2026, 11, 3), utc(2026, 11, 4), metric='storage')
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        self._invoice_by_cron()
        storage_product = self.env['product.product'].create({
            'name': 'Storage (metered)', 'type': 'service', 'recurring_invoice': True, 'invoice_policy': 'delivery'})
        storage_charge = self.env['fusion.billing.charge'].create({
            'plan_id': self.plan.id, 'metric_id': self.storage.id, 'product_id': storage_product.id,
            'charge_model': 'standard', 'price': 1, 'currency_id': self.currency.id})
        self._record(3, utc(2026, 12, 3), utc(2026, 12, 4), metric='storage')
        january = self._invoice_by_cron('2027-01-01 06:00:00')
        storage_line = self._invoice_line(january, storage_charge)
        self.assertEqual(storage_line.price_subtotal, 3.0, "November's storage was never a charge")
        self.assertEqual(storage_line.deferred_start_date, date(2026, 12, 1))

    def test_usage_that_arrives_while_the_invoice_is_draft_is_late_usage(self):
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        invoice = self._invoice_manually()
        self._record(5, utc(2026, 11, 20), utc(2026, 11, 21), metric='seats')  # after the draft was made
        with freeze_time('2026-12-02 09:00:00'):
            invoice.action_post()
        self.assertRecordValues(self._reconciliation(self.seats_charge), [{
            'period_start': date(2026, 11, 1), 'amount': 0.0, 'rated_amount': 20.0, 'aggregated_quantity': 0,
            'state': 'late_usage', 'late_quantity': 5}])
        self.assertEqual(self._usage_line(self.seats_charge).fusion_rated_quantity, 0,
                         "December starts empty: November is the admin's to bill")


@tagged('post_install', '-at_install')
class TestLateUsageNextStep(BillingCycleCase):
    """Late usage is billed once on the next invoice, or marked reviewed; the ledger says so."""

    def _billed_november(self):
        subscription = self._create_subscription(self.customer, fee=True)
        self._invoice_by_cron('2026-11-01 06:00:00')
        self._record(1000, utc(2026, 11, 5), utc(2026, 11, 6), subscription=subscription)
        december = self._invoice_by_cron()
        self.assertEqual(self._invoice_line(december).price_subtotal, 12.5)
        with freeze_time('2026-12-03 10:00:00'):
            self._record(200, utc(2026, 11, 20), utc(2026, 11, 21), subscription=subscription)
        [row] = self._reconciliation(subscription=subscription)
        self.assertRecordValues(row, [{'state': 'late_usage', 'late_quantity': 200, 'late_amount': 2.5}])
        return subscription, row

    def test_late_usage_is_billed_once_on_the_next_invoice(self):
        subscription, row = self._billed_november()
        with freeze_time('2026-12-03 10:00:00'):
            row.with_user(self.billing_manager).action_bill_late_usage()
        self.assertRecordValues(row, [{'state': 'billed', 'late_quantity': 0, 'late_settled_quantity': 200,
                                       'late_billed_amount': 2.5}])
        self.assertIn("Late usage", row.late_sale_line_ids.name)
        january = self._invoice_by_cron('2027-01-01 06:00:00')
        late_lines = january.invoice_line_ids.filtered(lambda line: line.sale_line_ids == row.late_sale_line_ids)
        self.assertEqual(late_lines.price_subtotal, 2.5)
        self.assertEqual(january.amount_untaxed, 49 + 2.5, "the fee and November's late usage; a quiet December")
        february = self._invoice_by_cron('2027-02-01 06:00:00')
        self.assertFalse(february.invoice_line_ids.filtered(lambda line: line.sale_line_ids == row.late_sale_line_ids),
                         "billed once")
        with freeze_time('2027-02-03 10:00:00'):
            self._record(40, utc(2026, 11, 25), utc(2026, 11, 26), subscription=subscription)
        self.assertRecordValues(row, [{'state': 'late_usage', 'late_quantity': 40, 'late_amount': 0.5}])

    def test_reviewed_late_usage_is_settled_without_a_line(self):
        subscription, row = self._billed_november()
        lines_before = subscription.order_line
        row.with_user(self.billing_manager).action_mark_late_usage_reviewed()
        self.assertRecordValues(row, [{'state': 'billed', 'late_quantity': 0, 'late_settled_quantity': 200,
                                       'late_billed_amount': 0}])
        self.assertEqual(subscription.order_line, lines_before)
        self.assertIn("reviewed by", subscription.message_ids[0].body)

    def test_only_managers_settle_late_usage_and_only_late_rows(self):
        _subscription, row = self._billed_november()
        with self.assertRaises(AccessError):
            row.with_user(self.billing_user).action_bill_late_usage()
        row.with_user(self.billing_manager).action_mark_late_usage_reviewed()
        with self.assertRaisesRegex(UserError, "Only rows with late usage"):
            row.with_user(self.billing_manager).action_bill_late_usage()

    def test_a_credited_period_whose_late_usage_was_billed_is_not_billed_twice(self):
        _subscription, row = self._billed_november()
        with freeze_time('2026-12-03 10:00:00'):
            row.with_user(self.billing_manager).action_bill_late_usage()
        january = self._invoice_by_cron('2027-01-01 06:00:00')
        self.assertEqual(january.amount_untaxed, 49 + 2.5)
        december = row.invoice_id
        with freeze_time('2027-01-05 09:00:00'):
            december._reverse_moves(cancel=True)
        self.assertEqual(row.state, 'credited')
        february = self._invoice_by_cron('2027-02-01 06:00:00')
        november_again = self._invoice_line(february)
        self.assertEqual(november_again.price_subtotal, 15.0, "1,200 calls: the whole period billed again")
        compensation = february.invoice_line_ids.filtered(lambda line: line.price_subtotal < 0)
        self.assertEqual(compensation.price_subtotal, -2.5, "the late usage January billed")
        self.assertEqual(february.amount_untaxed, 49 + 15 - 2.5)
        self.assertRecordValues(row, [{'state': 'billed', 'late_settled_quantity': 0, 'late_billed_amount': 0,
                                       'aggregated_quantity': 1200}])
        march = self._invoice_by_cron('2027-03-01 06:00:00')
        self.assertEqual(march.amount_untaxed, 49, "compensated once")
