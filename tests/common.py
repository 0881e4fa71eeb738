import json
from datetime import datetime

from odoo import Command
from odoo.tests import HttpCase, TransactionCase, freeze_time, new_test_user


class FusionBillingCase(TransactionCase):
    """Fixtures most Fusion Billing tests need: a monthly plan with a usage charge,
    a service linked to a customer with a running subscription, and users of each role."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.currency = cls.company.currency_id
        cls.plan = cls.env.ref('sale_subscription.subscription_plan_month')
        cls.usage_product = cls.env['product.product'].create({
            'name': 'API calls (metered)', 'type': 'service', 'recurring_invoice': True,
            'invoice_policy': 'delivery', 'list_price': 0.0,
        })
        # Every subscription needs a recurring line; this one is postpaid and never used.
        cls.access_product = cls.env['product.product'].create({
            'name': 'Platform access', 'type': 'service', 'recurring_invoice': True,
            'invoice_policy': 'delivery', 'list_price': 0.0,
        })
        # A prepaid fee, invoiced in advance at each invoice beside the usage billed in arrears.
        cls.fee_product = cls.env['product.product'].create({
            'name': 'Platform fee', 'type': 'service', 'recurring_invoice': True,
            'invoice_policy': 'order', 'list_price': 49.0, 'taxes_id': False,
        })
        cls.metrics = cls.env['fusion.billing.metric'].create([
            {'name': 'API calls', 'code': 'api_calls', 'aggregation': 'sum', 'unit_name': 'calls'},
            {'name': 'Seats', 'code': 'seats', 'aggregation': 'max', 'unit_name': 'seats'},
            {'name': 'Storage', 'code': 'storage', 'aggregation': 'last', 'unit_name': 'GB'},
            {'name': 'Active users', 'code': 'active_users', 'aggregation': 'unique_count'},
        ])
        cls.api_calls, cls.seats, cls.storage, cls.active_users = cls.metrics
        cls.charge = cls.env['fusion.billing.charge'].create({
            'plan_id': cls.plan.id,
            'metric_id': cls.api_calls.id,
            'product_id': cls.usage_product.id,
            'charge_model': 'standard',
            'price': 0.0125,
            'currency_id': cls.currency.id,
        })
        cls.customer = cls.env['res.partner'].create({'name': 'Acme Analytics', 'is_company': True})
        cls.service = cls.env['fusion.billing.service'].create({
            'name': 'Analytics Cloud', 'code': 'analytics', 'partner_ids': [Command.link(cls.customer.id)],
        })
        cls.subscription = cls._create_subscription(cls.customer)

        cls.billing_user = new_test_user(cls.env, login='fb_user', groups='fusion_billing.group_fusion_billing_user')
        cls.billing_manager = new_test_user(
            cls.env, login='fb_manager', groups='fusion_billing.group_fusion_billing_manager')
        cls.salesperson = new_test_user(cls.env, login='fb_salesperson', groups='sales_team.group_sale_salesman')

    @classmethod
    def _set_deferred_settings(cls):
        """The account_accountant settings Enterprise's invoicing cron requires."""
        company = cls.env.company
        company.deferred_revenue_account_id = cls.env['account.account'].search(
            [('account_type', '=', 'liability_current'), ('company_ids', 'in', company.ids)], limit=1)
        company.deferred_revenue_journal_id = cls.env['account.journal'].search(
            [('type', '=', 'general'), ('company_id', '=', company.id)], limit=1)

    @classmethod
    def _enable_webhooks(cls, url='http://127.0.0.1:9/hooks'):
        """Give the service a webhook URL; local URLs need the development parameter."""
        cls.env['ir.config_parameter'].set_param('fusion_billing.allow_private_webhook_urls', 'True')
        cls.service.webhook_url = url

    @classmethod
    def _create_subscription(cls, partner, plan=None, confirm=True, start_date='2026-11-01', fee=False, **values):
        lines = [Command.create({'product_id': cls.access_product.id, 'product_uom_qty': 0, 'price_unit': 0.0})]
        if fee:
            lines.append(Command.create({'product_id': cls.fee_product.id, 'product_uom_qty': 1, 'price_unit': 49.0}))
        order = cls.env['sale.order'].create({
            'partner_id': partner.id,
            'plan_id': (plan or cls.plan).id,
            'require_payment': False,
            'start_date': start_date,
            'order_line': lines,
            **values,
        })
        if confirm:
            order.action_confirm()
        return order

    def _record(self, quantity, start, end, key=None, metric='api_calls', subscription=None, service=None):
        """Record usage through the API's own path (as ``service`` if given); return
        (usage, result)."""
        return self.env['fusion.billing.usage']._record_usage_with_result(
            subscription or self.subscription, metric, quantity, start, end, key, service=service)

    def _events(self, event_type=None):
        """The webhook events queued, of ``event_type`` if given."""
        domain = [('event_type', '=', event_type)] if event_type else []
        return self.env['fusion.billing.webhook'].search(domain)

    def _usage_line(self, charge=None, subscription=None):
        return (subscription or self.subscription).order_line.filtered(
            lambda line: line.fusion_charge_id == (charge or self.charge))

    def _store_row(self, quantity, start, end, metric='api_calls', subscription=None):
        """Write a usage row directly, as an administrator's import would: for rows the
        API refuses, such as usage before the subscription's start."""
        return self.env['fusion.billing.usage'].create({
            'subscription_id': (subscription or self.subscription).id,
            'metric_id': self.env['fusion.billing.metric'].search([('code', '=', metric)]).id,
            'quantity': quantity, 'period_start': start, 'period_end': end})


class BillingCycleCase(FusionBillingCase):
    """Fixtures of the invoicing tests: Enterprise's deferred settings, a second charge
    (seats, a ``max`` metric), and helpers to invoice and read the ledger."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._set_deferred_settings()
        cls.seats_product = cls.env['product.product'].create({
            'name': 'Seats (metered)', 'type': 'service', 'recurring_invoice': True, 'invoice_policy': 'delivery'})
        cls.seats_charge = cls.env['fusion.billing.charge'].create({
            'plan_id': cls.plan.id, 'metric_id': cls.seats.id, 'product_id': cls.seats_product.id,
            'charge_model': 'standard', 'price': 4, 'currency_id': cls.currency.id})
        cls.Usage = cls.env['fusion.billing.usage']
        cls.Reconciliation = cls.env['fusion.billing.reconciliation']

    def _invoice_by_cron(self, when='2026-12-01 06:00:00'):
        with freeze_time(when):
            return self.env['sale.order']._cron_recurring_create_invoice()

    def _invoice_manually(self, subscription=None, when='2026-12-01 09:00:00'):
        """Enterprise's manual invoicing (Create Invoice, delivered quantities): a draft invoice."""
        subscriptions = subscription or self.subscription
        with freeze_time(when):
            wizard = self.env['sale.advance.payment.inv'].with_context(
                active_model='sale.order', active_ids=subscriptions.ids).create({'advance_payment_method': 'delivered'})
            wizard.create_invoices()
        return subscriptions.invoice_ids.filtered(lambda move: move.state == 'draft')

    def _rate_hourly(self, when):
        with freeze_time(when):
            self.Usage._cron_rate_open_periods()

    def _invoice_line(self, invoice, charge=None):
        return invoice.invoice_line_ids.filtered(
            lambda aml: aml.sale_line_ids.fusion_charge_id == (charge or self.charge))

    def _reconciliation(self, charge=None, subscription=None):
        return self.Reconciliation.search([('subscription_id', '=', (subscription or self.subscription).id),
                                           ('charge_id', '=', (charge or self.charge).id)], order='period_start')


class UsageApiCase(FusionBillingCase, HttpCase):
    """Real HTTP requests to the usage API, with the service's API key."""

    URL = '/fusion_billing/v1/usage'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.key = cls.service._generate_api_key()

    def _event(self, **values):
        """One usage event of the request body; a value of ``...`` leaves the field out."""
        event = {'subscription_id': self.subscription.id, 'metric': 'api_calls', 'quantity': 1200,
                 'period_start': '2026-11-01T00:00:00Z', 'period_end': '2026-11-01T01:00:00Z',
                 'idempotency_key': 'app-7:api_calls:2026-11-01T00'}
        event.update(values)
        return {name: value for name, value in event.items() if value is not ...}

    def _post(self, payload=None, raw=None, key=..., content_type='application/json', method='POST'):
        headers = {'Content-Type': content_type} if content_type else {}
        key = self.key if key is ... else key
        if key is not None:
            headers['Authorization'] = f'Bearer {key}'
        data = raw if raw is not None else json.dumps(payload if payload is not None else {}).encode()
        return self.url_open(self.URL, data=data, headers=headers, method=method)


def utc(*args):
    """A naive UTC datetime, as Odoo stores them."""
    return datetime(*args)
