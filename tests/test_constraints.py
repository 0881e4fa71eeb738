from psycopg2 import IntegrityError

from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import FusionBillingCase, utc


@tagged('post_install', '-at_install')
class TestConstraints(FusionBillingCase):

    def _charge_values(self, **values):
        return {'plan_id': self.env.ref('sale_subscription.subscription_plan_year').id, 'metric_id': self.seats.id,
                'product_id': self.usage_product.id, 'currency_id': self.currency.id, **values}

    def assertDatabaseRefuses(self, create_or_write):
        with mute_logger('odoo.sql_db'), self.assertRaises(IntegrityError):
            with self.env.cr.savepoint():
                create_or_write()
                self.env.flush_all()

    def test_charge_database_constraints(self):
        Charge = self.env['fusion.billing.charge']
        for values in ({'price': -1}, {'unit_batch': 0}, {'included_quantity': -0.5}, {'alert_threshold': -1}):
            with self.subTest(values=values):
                self.assertDatabaseRefuses(lambda: Charge.create(self._charge_values(**values)))
        self.assertDatabaseRefuses(lambda: self.charge.write({'currency_id': False}))

    def test_usage_database_constraints(self):
        Usage = self.env['fusion.billing.usage']
        base = {'subscription_id': self.subscription.id, 'metric_id': self.api_calls.id,
                'period_start': utc(2026, 11, 1), 'period_end': utc(2026, 11, 2), 'quantity': 1}
        for values in ({'quantity': -1}, {'period_end': utc(2026, 11, 1)}, {'period_end': utc(2026, 10, 31)}):
            with self.subTest(values=values):
                self.assertDatabaseRefuses(lambda: Usage.create({**base, **values}))
        usage = Usage.create({**base, 'idempotency_key': 'dup'})
        self.assertDatabaseRefuses(lambda: Usage.create({**base, 'idempotency_key': 'dup'}))
        # The ORM cannot even round NaN; set-based SQL writes meet the database check.
        for value in ('NaN', 'Infinity'):
            with self.subTest(quantity=value):
                self.assertDatabaseRefuses(lambda: self.env.cr.execute(
                    "UPDATE fusion_billing_usage SET quantity = %s::float8 WHERE id = %s", [value, usage.id]))

    def test_reconciliation_needs_a_currency(self):
        self.assertDatabaseRefuses(lambda: self.env['fusion.billing.reconciliation'].create({
            'subscription_id': self.subscription.id, 'charge_id': self.charge.id, 'metric_id': self.api_calls.id,
            'period_start': '2026-11-01', 'period_end': '2026-11-30', 'currency_id': False}))

    def test_codes_are_unique(self):
        self.assertDatabaseRefuses(lambda: self.env['fusion.billing.metric'].create(
            {'name': 'Again', 'code': 'api_calls'}))
        self.assertDatabaseRefuses(lambda: self.env['fusion.billing.service'].create(
            {'name': 'Again', 'code': 'analytics'}))

    def test_webhook_event_key_is_unique_per_service(self):
        Webhook = self.env['fusion.billing.webhook']
        values = {'service_id': self.service.id, 'event_type': 'subscription.terminated', 'event_key': 'so-1:churn'}
        Webhook.create(values)
        self.assertDatabaseRefuses(lambda: Webhook.create(values))
        other_service = self.env['fusion.billing.service'].create({'name': 'Other', 'code': 'other'})
        Webhook.create({**values, 'service_id': other_service.id})

    def test_one_usage_line_per_charge_on_a_subscription(self):
        line_values = {'order_id': self.subscription.id, 'product_id': self.usage_product.id,
                       'product_uom_qty': 0, 'fusion_charge_id': self.charge.id}
        self.env['sale.order.line'].create(line_values)
        self.assertDatabaseRefuses(lambda: self.env['sale.order.line'].create(line_values))

    def test_tiers_are_validated(self):
        Charge = self.env['fusion.billing.charge']
        invalid_tables = {
            'no tier': [],
            'no open-ended tier': [(100, 1.0)],
            'two open-ended tiers': [(100, 1.0), (0, 0.5), (0, 0.2)],
            'bounds not strictly increasing': [(100, 1.0), (100, 0.5), (0, 0.2)],
        }
        for label, table in invalid_tables.items():
            for model in ('graduated', 'volume'):
                with self.subTest(table=label, model=model), self.assertRaises(ValidationError):
                    with self.env.cr.savepoint():
                        Charge.create(self._charge_values(charge_model=model, tier_ids=[
                            Command.create({'up_to': up_to, 'unit_price': price}) for up_to, price in table]))
        charge = Charge.create(self._charge_values(charge_model='graduated', tier_ids=[
            Command.create({'up_to': 0, 'unit_price': 0.5}), Command.create({'up_to': 100, 'unit_price': 1.0})]))
        self.assertEqual(charge._rate(150).amount, 125)
        with self.assertRaises(ValidationError):
            charge.tier_ids.filtered('is_open_ended').up_to = 50

    def test_prices_keep_fractions_of_a_cent(self):
        self.assertEqual(self.charge._rate(1500).amount, 18.75)
        charge = self.env['fusion.billing.charge'].create(self._charge_values(charge_model='volume', tier_ids=[
            Command.create({'up_to': 1000, 'unit_price': 0.0125, 'flat_fee': 0.5}),
            Command.create({'up_to': 0, 'unit_price': 0.004})]))
        self.assertEqual(charge.tier_ids.mapped('unit_price'), [0.0125, 0.004])
        self.assertEqual(charge._rate(1000).amount, 13)
        self.assertEqual(charge._rate(1001).amount, 4)

    def test_charge_product_must_be_postpaid_and_recurring(self):
        prepaid = self.env['product.product'].create({
            'name': 'Prepaid', 'type': 'service', 'recurring_invoice': True, 'invoice_policy': 'order'})
        with self.assertRaisesRegex(ValidationError, 'delivered quantities'):
            self.env['fusion.billing.charge'].create(self._charge_values(product_id=prepaid.id))

    def test_one_active_charge_per_metric_and_plan(self):
        with mute_logger('odoo.sql_db'), self.assertRaises(IntegrityError), self.env.cr.savepoint():
            self.env['fusion.billing.charge'].create({**self._charge_values(), 'plan_id': self.plan.id,
                                                      'metric_id': self.api_calls.id})
        archived = self.env['fusion.billing.charge'].create({
            **self._charge_values(), 'plan_id': self.plan.id, 'metric_id': self.api_calls.id, 'active': False})
        with mute_logger('odoo.sql_db'), self.assertRaises(IntegrityError), self.env.cr.savepoint():
            archived.active = True
            archived.flush_recordset()
        self.charge.active = False
        archived.active = True
        archived.flush_recordset()

    def test_a_metric_in_use_keeps_its_code_and_aggregation(self):
        with self.assertRaisesRegex(UserError, "cannot change"):
            self.api_calls.code = 'api_requests'
        with self.assertRaisesRegex(UserError, "cannot change"):
            self.api_calls.aggregation = 'max'
        self.api_calls.write({'code': 'api_calls', 'name': 'API requests'})
        self.assertEqual(self.api_calls.name, 'API requests', "the same code and other fields may be written")
        self.storage.code = 'disk'
        self._record(5, utc(2026, 11, 3), utc(2026, 11, 4), metric='disk')
        with self.assertRaisesRegex(UserError, "usage was recorded"):
            self.storage.aggregation = 'max'

    def test_tier_changes_are_posted_on_the_charge(self):
        self.charge.write({'charge_model': 'graduated', 'tier_ids': [
            Command.create({'up_to': 1000, 'unit_price': 0.02}), Command.create({'up_to': 0, 'unit_price': 0.01})]})
        self.charge.tier_ids.filtered('is_open_ended').unit_price = 0.005
        body = self.charge.message_ids[0].body
        self.assertIn("above 1,000 calls at", body)
        self.assertIn("0.01", body)
        self.assertIn("0.005", body)

    def test_tiers_read_as_ranges_the_open_one_and_above(self):
        self.charge.write({'charge_model': 'volume', 'tier_ids': [
            Command.create({'up_to': 1000, 'unit_price': 0.02}), Command.create({'up_to': 0, 'unit_price': 0.01})]})
        self.assertEqual(self.charge.tier_ids.mapped('range_label'), ['0 to 1,000', '1,000 and above'])
