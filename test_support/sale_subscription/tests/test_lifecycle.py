from datetime import date

from psycopg2 import IntegrityError

from odoo.exceptions import UserError
from odoo.tests import freeze_time, tagged
from odoo.tools import mute_logger

from .common import SubscriptionCase

SEVEN_STATES = ['1_draft', '2_renewal', '3_progress', '4_paused', '5_renewed', '6_churn', '7_upsell']
CLOSE_REASONS = ['close_reason_renew', 'close_reason_end_of_contract', 'close_reason_auto_close_limit_reached',
                 'close_reason_unpaid_subscription', 'close_reason_unknown']


@tagged('post_install', '-at_install')
class TestSubscriptionLifecycle(SubscriptionCase):

    def test_data_model_mirrors_enterprise(self):
        order_fields = self.env['sale.order']._fields
        self.assertEqual([value for value, _label in order_fields['subscription_state'].selection], SEVEN_STATES)
        for name in ('start_date', 'next_invoice_date', 'last_invoice_date', 'end_date'):
            self.assertEqual(order_fields[name].type, 'date', name)
        self.assertFalse(order_fields['last_invoice_date'].store)
        for xmlid in CLOSE_REASONS:
            self.assertTrue(self.env.ref(f'sale_subscription.{xmlid}').is_protected, xmlid)
        self.assertEqual(self.plan.billing_period_unit, 'month')
        self.assertEqual(self.env.ref('sale_subscription.account_analytic_cron_for_invoice').code,
                         'model._cron_recurring_create_invoice()')

    def test_quotation_is_a_draft_subscription(self):
        quotation = self._create_subscription([(self.prepaid_product, 1, 49.0)], confirm=False)
        self.assertTrue(quotation.is_subscription)
        self.assertEqual(quotation.subscription_state, '1_draft')
        self.assertFalse(quotation.next_invoice_date)

    def test_plan_needs_a_positive_billing_period(self):
        with mute_logger('odoo.sql_db'), self.assertRaises(IntegrityError):
            self.env['sale.subscription.plan'].create({'name': 'Broken', 'billing_period_value': 0})

    def test_subscription_needs_a_recurring_line(self):
        with self.assertRaises(UserError):
            self._create_subscription([(self.env['product.product'].create({'name': 'One-off'}), 1, 5.0)])

    @freeze_time('2026-11-10')
    def test_close_then_reopen(self):
        subscription = self._create_subscription([(self.postpaid_product, 0, 1.0)])
        subscription.set_close()
        self.assertRecordValues(subscription, [{
            'subscription_state': '6_churn', 'end_date': date(2026, 11, 10),
            'close_reason_id': self.env.ref('sale_subscription.close_reason_unknown').id}])
        subscription.reopen_order()
        self.assertRecordValues(subscription, [{
            'subscription_state': '3_progress', 'end_date': False, 'close_reason_id': False}])

    def test_reopen_refuses_a_running_subscription(self):
        subscription = self._create_subscription([(self.postpaid_product, 0, 1.0)])
        with self.assertRaises(UserError):
            subscription.reopen_order()

    def test_set_open_on_a_running_subscription_changes_nothing(self):
        subscription = self._create_subscription([(self.postpaid_product, 0, 1.0)])
        subscription.set_open()
        self.assertEqual(subscription.subscription_state, '3_progress')

    def test_pause_and_resume(self):
        subscription = self._create_subscription([(self.postpaid_product, 0, 1.0)])
        subscription.pause_subscription()
        self.assertEqual(subscription.subscription_state, '4_paused')
        subscription.resume_subscription()
        self.assertEqual(subscription.subscription_state, '3_progress')

    def test_expiration_cron_closes_a_subscription_past_its_end_date(self):
        with freeze_time('2026-11-10'):
            subscription = self._create_subscription([(self.postpaid_product, 0, 1.0)])
            subscription.end_date = date(2026, 12, 3)
        with freeze_time('2026-12-02'):
            self.env['sale.order']._cron_subscription_expiration()
            self.assertEqual(subscription.subscription_state, '3_progress')
        with freeze_time('2026-12-05'):
            self.env['sale.order']._cron_subscription_expiration()
        self.assertRecordValues(subscription, [{
            'subscription_state': '6_churn', 'end_date': date(2026, 12, 3),
            'close_reason_id': self.env.ref('sale_subscription.close_reason_end_of_contract').id}])
