import base64
import random
from datetime import timedelta

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .. import engine
from .common import FusionBillingCase, utc

NOV_1, NOV_2, DEC_1 = utc(2026, 11, 1), utc(2026, 11, 2), utc(2026, 12, 1)


@tagged('post_install', '-at_install')
class TestRecordUsage(FusionBillingCase):

    def test_same_key_updates_the_quantity_in_place(self):
        first, result = self._record(100, NOV_1, NOV_2, key='k-1')
        self.assertEqual(result, 'created')
        again, result = self._record(100, NOV_1, NOV_2, key='k-1')
        self.assertEqual((again, result), (first, 'unchanged'))
        changed, result = self._record(250, NOV_1, NOV_2, key='k-1')
        self.assertEqual((changed, result), (first, 'updated'))
        self.assertEqual(first.quantity, 250)
        self.assertEqual(self.env['fusion.billing.usage'].search_count(
            [('subscription_id', '=', self.subscription.id)]), 1)

    def test_same_key_on_another_subscription_or_metric_is_another_row(self):
        other_subscription = self._create_subscription(self.customer)
        first, _ = self._record(1, NOV_1, NOV_2, key='shared')
        on_other_subscription, result_subscription = self._record(
            2, NOV_1, NOV_2, key='shared', subscription=other_subscription)
        on_other_metric, result_metric = self._record(3, NOV_1, NOV_2, key='shared', metric='seats')
        self.assertEqual((result_subscription, result_metric), ('created', 'created'))
        self.assertEqual(len(first | on_other_subscription | on_other_metric), 3)
        self.assertEqual(first.quantity, 1)

    def test_same_key_for_another_period_is_refused(self):
        usage, _ = self._record(10, NOV_1, NOV_2, key='k-period')
        with self.assertRaisesRegex(ValidationError, 'another period'):
            self._record(10, NOV_2, utc(2026, 11, 3), key='k-period')
        self.assertEqual((usage.period_start, usage.period_end, usage.quantity), (NOV_1, NOV_2, 10))

    def test_rows_without_key_are_plain_inserts(self):
        first, _ = self._record(5, NOV_1, NOV_2)
        second, _ = self._record(5, NOV_1, NOV_2)
        self.assertNotEqual(first, second)

    def test_timestamps_with_an_offset_are_stored_as_naive_utc(self):
        usage, _ = self._record(1, '2026-11-01T02:00:00+02:00', '2026-11-01T01:00:00Z')
        self.assertEqual((usage.period_start, usage.period_end), (NOV_1, utc(2026, 11, 1, 1)))

    def test_bad_input_is_refused_with_a_sentence(self):
        with self.assertRaisesRegex(UserError, 'no metric with the code'):
            self._record(1, NOV_1, NOV_2, metric='unknown')
        for quantity in (-1, float('nan'), float('inf'), True, '12', None):
            with self.subTest(quantity=quantity), self.assertRaises(ValidationError):
                self._record(quantity, NOV_1, NOV_2)
        with self.assertRaisesRegex(ValidationError, 'before period_end'):
            self._record(1, NOV_2, NOV_1)
        with self.assertRaises(ValidationError):
            self._record(1, NOV_1, NOV_2, key='x' * 256)
        self.assertFalse(self.subscription.fusion_usage_ids)

    def test_usage_only_on_subscriptions(self):
        order = self.env['sale.order'].create({'partner_id': self.customer.id})
        with self.assertRaisesRegex(ValidationError, 'not one'):
            self._record(1, NOV_1, NOV_2, subscription=order)
        with self.assertRaises(AccessError, msg="the API's answer: not one of the service's subscriptions"):
            self._record(1, NOV_1, NOV_2, subscription=order, service=self.service)
        with self.assertRaisesRegex(ValidationError, 'not one'):
            self._store_row(1, NOV_1, NOV_2, subscription=order)


@tagged('post_install', '-at_install')
class TestAggregate(FusionBillingCase):

    def _aggregate(self, metric, start=NOV_1, end=DEC_1):
        return self.env['fusion.billing.usage']._aggregate(self.subscription, metric, start, end)

    def _store(self, metric, rows):
        for start, quantity in rows:
            self._store_row(quantity, start, utc(2026, 11, 30, 23), metric=metric.code)

    def test_no_rows_is_zero_for_every_aggregation(self):
        for metric in self.metrics:
            self.assertEqual(self._aggregate(metric), 0, metric.aggregation)

    def test_window_is_half_open_on_period_start(self):
        self._store(self.api_calls, [(utc(2026, 10, 31, 23), 1), (NOV_1, 10), (utc(2026, 11, 15), 100)])
        self._record(1000, DEC_1, utc(2026, 12, 2))
        self.assertEqual(self._aggregate(self.api_calls), 110,
                         "a row at the window's start counts, one at its end belongs to the next window")
        self.assertEqual(self._aggregate(self.api_calls, DEC_1, utc(2027, 1, 1)), 1000)

    def test_each_aggregation(self):
        rows = [(NOV_1, 3), (utc(2026, 11, 10), 7), (utc(2026, 11, 20), 5), (utc(2026, 11, 25), 3)]
        expected = {self.api_calls: 18, self.seats: 7, self.storage: 3, self.active_users: 3}
        for metric, value in expected.items():
            self._store(metric, rows)
            self.assertEqual(self._aggregate(metric), value, metric.aggregation)

    def test_last_breaks_ties_with_the_most_recent_write(self):
        self._store(self.storage, [(utc(2026, 11, 20), 40), (utc(2026, 11, 20), 42), (utc(2026, 11, 5), 99)])
        self.assertEqual(self._aggregate(self.storage), 42)

    def test_sql_aggregation_agrees_with_the_engine_oracle(self):
        generator = random.Random(19)
        rated_window = engine.BillingWindow(NOV_1, DEC_1)
        for metric in self.metrics:
            self.env['fusion.billing.usage'].search([('subscription_id', '=', self.subscription.id)]).unlink()
            for _row in range(40):
                start = utc(2026, 10, 25) + timedelta(hours=generator.randrange(0, 24 * 45))
                self._store_row(generator.choice([0, 1, 2.5, 7, 7, 1000, 12345.6789]), start,
                             start + timedelta(hours=1), metric=metric.code)
            rows = self.env['fusion.billing.usage'].search([('subscription_id', '=', self.subscription.id)])
            oracle = engine.aggregate(metric.aggregation, engine.rows_in_window(
                [(row.period_start, row.quantity, row.write_date, row.id) for row in rows], rated_window))
            self.assertEqual(self._aggregate(metric), float(oracle), metric.aggregation)


@tagged('post_install', '-at_install')
class TestAdjustUsage(FusionBillingCase):
    """Reported usage is corrected only through Adjust Usage, which keeps the reason."""

    def _adjust(self, usage, quantity, reason="Customer's app double-reported a retry."):
        wizard = self.env['fusion.billing.usage.adjust'].with_user(self.billing_manager).with_context(
            default_usage_id=usage.id).create({'quantity': quantity, 'reason': reason})
        return wizard.action_adjust()

    def test_reported_rows_cannot_be_edited_by_hand(self):
        usage, _result = self._record(80000, NOV_1, NOV_2, key='k1', service=self.service)
        with self.assertRaisesRegex(UserError, "Adjust Usage"):
            usage.with_user(self.billing_manager).quantity = 80001
        self.assertEqual(usage.quantity, 80000)

    def test_adjusting_replaces_the_quantity_and_posts_the_reason(self):
        usage, _result = self._record(80000, NOV_1, NOV_2, key='k1', service=self.service)
        self._adjust(usage, 79000)
        self.assertRecordValues(usage, [{'quantity': 79000, 'source': 'manual', 'service_id': self.service.id}])
        message = self.subscription.message_ids[0]
        self.assertIn("double-reported", message.body)
        self.assertIn("80,000 → 79,000", message.body)
        with self.assertRaisesRegex(ValidationError, "adjusted in Odoo"):
            self._record(80000, NOV_1, NOV_2, key='k1', service=self.service)
        self.assertRecordValues(usage, [{'quantity': 79000, 'source': 'manual'}])
        self._adjust(usage, 79500)
        self.assertEqual(usage.quantity, 79500, "adjusted again")

    def test_an_adjustment_is_refused_like_the_api_refuses(self):
        usage, _result = self._record(10, NOV_1, NOV_2, key='k1')
        for quantity in (-1, 1e16):
            with self.subTest(quantity=quantity), self.assertRaises(ValidationError):
                self._adjust(usage, quantity)
        with self.assertRaisesRegex(UserError, "reason"):
            self._adjust(usage, 5, reason="  ")
        self.assertEqual(usage.quantity, 10)


@tagged('post_install', '-at_install')
class TestUsageAnalysis(FusionBillingCase):
    """The usage list: the current period, rows never billed, the customer, readable names."""

    def test_current_period_and_rows_outside_the_subscription(self):
        self.assertEqual(str(self.subscription.next_invoice_date), '2026-12-01')
        before = self._store_row(1, utc(2026, 10, 31), utc(2026, 11, 1))
        current, _result = self._record(5, utc(2026, 11, 20), utc(2026, 11, 21))
        Usage = self.env['fusion.billing.usage']
        self.assertEqual(Usage.search([('in_current_period', '=', True)]), current)
        self.assertEqual(Usage.search([('outside_subscription', '=', True)]), before)
        self.assertEqual(Usage.search([('outside_subscription', '!=', True),
                                       ('subscription_id', '=', self.subscription.id)]), current)
        self.assertRecordValues(before | current, [
            {'in_current_period': False, 'outside_subscription': True},
            {'in_current_period': True, 'outside_subscription': False},
        ])
        self.subscription.set_close()
        self.assertFalse(Usage.search([('in_current_period', '=', True)]), "nothing is open once closed")

    def test_rows_know_their_customer_and_read_as_names(self):
        usage, _result = self._record(5, utc(2026, 11, 20), utc(2026, 11, 21))
        grouped = self.env['fusion.billing.usage']._read_group([], ['partner_id'], ['quantity:sum'])
        self.assertEqual(grouped, [(self.customer, 5.0)])
        self.assertEqual(usage.display_name, f"{self.subscription.name} · API calls · 2026-11-20 00:00")


@tagged('post_install', '-at_install')
class TestServerSideUsage(FusionBillingCase):
    """_record_usage without a service: the server's own record, with the API's checks."""

    def test_a_customer_without_service_and_a_key_shared_with_a_service(self):
        other = self.env['res.partner'].create({'name': 'No service'})
        subscription = self._create_subscription(other)
        usage, result = self._record(3, NOV_1, NOV_2, key='k', subscription=subscription)
        self.assertEqual(result, 'created')
        self.assertRecordValues(usage, [{'service_id': False, 'source': 'manual', 'quantity': 3}])
        reported, _result = self._record(10, NOV_1, NOV_2, key='s', service=self.service)
        corrected, result = self._record(12, NOV_1, NOV_2, key='s')
        self.assertEqual((corrected, result), (reported, 'updated'), "the server may correct any row")
        self.assertRecordValues(reported, [{'service_id': self.service.id, 'quantity': 12, 'source': 'manual'}])
        with self.assertRaisesRegex(ValidationError, "adjusted in Odoo"):
            self._record(10, NOV_1, NOV_2, key='s', service=self.service)
        with self.assertRaisesRegex(ValidationError, 'another period'):
            self._record(12, NOV_2, DEC_1, key='s')


@tagged('post_install', '-at_install')
class TestImportUsage(FusionBillingCase):
    """A CSV import goes through the API's checks: every row or none."""

    def _import(self, text):
        wizard = self.env['fusion.billing.usage.import'].with_user(self.billing_manager).create(
            {'file': base64.b64encode(text.encode()), 'filename': 'usage.csv'})
        return wizard.sudo(False).action_import()

    def test_a_valid_file_is_imported_and_a_bad_one_writes_nothing(self):
        self.billing_manager.group_ids |= self.env.ref('sales_team.group_sale_salesman_all_leads')
        name = self.subscription.name
        header = "subscription,metric,quantity,period_start,period_end,idempotency_key\n"
        self._import(header + f"{name},api_calls,1200,2026-11-01T00:00:00Z,2026-11-01T01:00:00Z,k1\n"
                              f"{self.subscription.id},api_calls,300,2026-11-02,2026-11-03,k2\n")
        usage = self.subscription.fusion_usage_ids
        self.assertEqual(sorted(usage.mapped('quantity')), [300, 1200])
        self.assertEqual(set(usage.mapped('source')), {'manual'})
        bad = (header + f"{name},api_calls,5,2026-11-04,2026-11-05,k3\n"
                        f"S99999,api_calls,5,2026-11-04,2026-11-05,k4\n"
                        f"{name},nope,5,2026-11-04,2026-11-05,k5\n"
                        f"{name},api_calls,-1,2026-11-04,2026-11-05,k6\n")
        with self.assertRaises(UserError) as refused:
            self._import(bad)
        message = str(refused.exception)
        self.assertIn("Line 3, subscription", message)
        self.assertIn("Line 4, metric", message)
        self.assertIn("Line 5, quantity", message)
        self.assertEqual(len(self.subscription.fusion_usage_ids), 2, "nothing of the bad file was written")

    def test_a_file_without_the_header_is_refused(self):
        with self.assertRaisesRegex(UserError, "header line"):
            self._import("S00001;api_calls;5\n")

    def test_a_manager_of_another_company_cannot_adjust(self):
        usage, _result = self._record(10, NOV_1, NOV_2, key='k1', service=self.service)
        other_company = self.env['res.company'].create({'name': 'Other Co'})
        self.billing_manager.write({'company_ids': [Command.set(other_company.ids)], 'company_id': other_company.id})
        with self.assertRaises(AccessError):
            self.env['fusion.billing.usage.adjust'].with_user(self.billing_manager).with_context(
                default_usage_id=usage.id).create({'quantity': 5, 'reason': "wrong"}).action_adjust()
        self.assertEqual(usage.quantity, 10)
