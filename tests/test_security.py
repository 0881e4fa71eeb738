from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import Form, freeze_time, new_test_user, tagged

from .common import FusionBillingCase, utc


@tagged('post_install', '-at_install')
class TestAccessRights(FusionBillingCase):

    def test_billing_user_reads_but_cannot_configure_or_see_secrets(self):
        service = self.service.with_user(self.billing_user)
        self.assertEqual(service.name, 'Analytics Cloud')
        with self.assertRaises(AccessError):
            service.read(['webhook_secret'])
        with self.assertRaises(AccessError):
            service.read(['api_key_hash'])
        with self.assertRaises(AccessError):
            self.charge.with_user(self.billing_user).write({'price': 0})
        with self.assertRaises(AccessError):
            service._generate_api_key()

    def test_manager_sees_the_webhook_secret(self):
        secret = self.service.with_user(self.billing_manager).webhook_secret
        self.assertEqual(len(secret), 64)
        shown = self.service.with_user(self.billing_manager).action_show_webhook_secret()
        self.assertEqual((shown['res_model'], shown['context']['default_secret']),
                         ('fusion.billing.webhook.secret.show', secret))
        with self.assertRaises(AccessError):
            self.service.with_user(self.billing_user).action_show_webhook_secret()

    def test_a_new_webhook_secret_is_shown_once_replaced(self):
        before = self.service.webhook_secret
        shown = self.service.with_user(self.billing_manager).action_regenerate_webhook_secret()
        self.assertNotEqual(self.service.webhook_secret, before)
        self.assertEqual(shown['context']['default_secret'], self.service.webhook_secret)
        self.assertTrue(shown['context']['default_replaced'])
        dialog = self.env['fusion.billing.webhook.secret.show'].with_user(self.billing_manager).with_context(
            **shown['context']).new({})
        self.assertEqual(dialog.secret, self.service.webhook_secret)

    def test_salesperson_sees_no_api_key_hash(self):
        self.service._generate_api_key()
        with self.assertRaises(AccessError):
            self.service.with_user(self.salesperson).read(['api_key_hash'])
        with self.assertRaises(AccessError):
            self.env['fusion.billing.usage'].with_user(self.salesperson).search([])

    def test_user_of_another_company_sees_nothing(self):
        self._record(5, utc(2026, 11, 1), utc(2026, 11, 2))
        other_company = self.env['res.company'].create({'name': 'Other Co'})
        outsider = new_test_user(self.env, login='fb_outsider', groups='fusion_billing.group_fusion_billing_manager',
                                 company_id=other_company.id, company_ids=[Command.set(other_company.ids)])
        for model in ('fusion.billing.service', 'fusion.billing.charge', 'fusion.billing.usage',
                      'fusion.billing.webhook', 'fusion.billing.reconciliation'):
            self.assertFalse(self.env[model].with_user(outsider).search([]), model)
        self.assertEqual(self.env['fusion.billing.service'].with_user(self.billing_manager).search([]), self.service)

    def test_technical_api_user_is_inactive_with_minimal_rights(self):
        api_user = self.env.ref('fusion_billing.user_fusion_billing_api')
        self.assertFalse(api_user.active)
        self.assertEqual(api_user.all_group_ids, self.env.ref('fusion_billing.group_fusion_billing_api'))
        as_api = self.env['fusion.billing.usage'].with_user(api_user).with_company(self.company)
        usage = as_api.create({'subscription_id': self.subscription.id, 'metric_id': self.api_calls.id,
                               'period_start': utc(2026, 11, 1), 'period_end': utc(2026, 11, 2), 'quantity': 3})
        self.assertEqual(usage.create_uid, api_user)
        for model in ('fusion.billing.webhook', 'fusion.billing.reconciliation'):
            with self.assertRaises(AccessError):
                self.env[model].with_user(api_user).search([])
        with self.assertRaises(AccessError):
            self.service.with_user(api_user).read(['api_key_hash'])
        with self.assertRaises(AccessError):
            usage.with_user(api_user).unlink()
        with self.assertRaises(AccessError):
            self.charge.with_user(api_user).write({'price': 1})

    def test_api_user_may_work_in_every_company_with_a_service(self):
        other_company = self.env['res.company'].create({'name': 'Other Co'})
        self.env['fusion.billing.service'].create({'name': 'B', 'code': 'b', 'company_id': other_company.id})
        self.assertIn(other_company, self.env.ref('fusion_billing.user_fusion_billing_api').company_ids)


@tagged('post_install', '-at_install')
class TestManagerOnlyButtons(FusionBillingCase):
    """Buttons are public methods: a Fusion Billing User calling them over RPC is refused
    by the server, whatever the view shows."""

    def test_a_billing_user_cannot_requeue_retry_or_send_test_events(self):
        self._enable_webhooks()
        event = self.env['fusion.billing.webhook']._enqueue(
            self.service, 'subscription.terminated', {'subscription_id': 1}, 'cause-rpc')
        event.write({'state': 'dead', 'attempts': 8})
        as_user = event.with_user(self.billing_user)
        for method in (as_user.action_requeue, as_user.action_retry_now,
                       self.service.with_user(self.billing_user).action_send_test_webhook,
                       self.service.with_user(self.billing_user).action_regenerate_webhook_secret):
            with self.subTest(method=method.__name__), self.assertRaises(AccessError):
                method()
        self.assertEqual((event.state, event.attempts), ('dead', 8))
        self.assertEqual(self.env['fusion.billing.webhook'].search_count([('event_type', '=', 'webhook.test')]), 0)
        event.with_user(self.billing_manager).action_requeue()
        self.assertEqual(event.state, 'pending')


@tagged('post_install', '-at_install')
class TestSalesUsersAndSubscriptions(FusionBillingCase):
    """Salespeople without Fusion Billing rights read, export and open subscriptions and
    invoices as they would without the addon: nothing the addon adds gets in the way."""

    def test_salespeople_read_export_and_open_a_subscription_with_usage(self):
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        self.env['fusion.billing.usage']._cron_rate_open_periods()
        self.assertTrue(self.subscription.order_line.fusion_charge_id)
        self.subscription.user_id = self.salesperson  # a salesperson sees their own documents
        manager = new_test_user(self.env, login='fb_sales_manager', groups='sales_team.group_sale_manager')
        (self.salesperson | manager).group_ids = [Command.link(self.env.ref('base.group_allow_export').id)]
        for user in (self.salesperson, manager):
            with self.subTest(user=user.login):
                order = self.subscription.with_user(user)
                order.read()
                fields = [name for name, field in order.fields_get().items() if field['type'] != 'binary']
                self.assertTrue(order.export_data(fields)['datas'])
                self.assertFalse([name for name in fields if name.startswith('fusion_')], "billing data")
                lines = order.order_line
                lines.read(['name', 'product_id', 'qty_delivered', 'price_unit', 'price_subtotal'])
                self.assertFalse([name for name in lines.fields_get() if name.startswith('fusion_')])
                with Form(order) as form:
                    self.assertEqual(form.partner_id, self.customer)

    def test_a_sales_manager_invoices_and_renews_a_metered_subscription(self):
        self._set_deferred_settings()
        manager = new_test_user(self.env, login='fb_sales_boss',
                                groups='sales_team.group_sale_manager,account.group_account_invoice')
        self._record(800, utc(2026, 11, 3), utc(2026, 11, 4))
        subscription = self.subscription.with_user(manager)
        with freeze_time('2026-12-01 09:00:00'):
            invoice = subscription._create_invoices().with_user(manager)
            invoice.action_post()
        self.assertEqual(invoice.sudo().amount_untaxed, 10.0)
        with freeze_time('2026-12-10 09:00:00'):
            renewal = self.env['sale.order'].with_user(manager).browse(subscription.prepare_renewal_order()['res_id'])
            renewal.action_confirm()
        self.assertEqual(self.subscription.subscription_state, '5_renewed')
