from odoo.tests import TransactionCase


class SubscriptionCase(TransactionCase):
    """Fixtures shared by the stand-in's tests: a monthly plan, a prepaid and a
    postpaid recurring product, a customer, and the deferred-revenue settings the
    invoicing cron requires."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env.company
        company.deferred_revenue_account_id = cls.env['account.account'].search(
            [('account_type', '=', 'liability_current'), ('company_ids', 'in', company.ids)], limit=1)
        company.deferred_revenue_journal_id = cls.env['account.journal'].search(
            [('type', '=', 'general'), ('company_id', '=', company.id)], limit=1)
        cls.plan = cls.env.ref('sale_subscription.subscription_plan_month')
        cls.customer = cls.env['res.partner'].create({'name': 'Acme Corp'})
        cls.prepaid_product = cls.env['product.product'].create({
            'name': 'Platform fee', 'type': 'service', 'recurring_invoice': True,
            'invoice_policy': 'order', 'list_price': 49.0,
        })
        cls.postpaid_product = cls.env['product.product'].create({
            'name': 'API calls', 'type': 'service', 'recurring_invoice': True,
            'invoice_policy': 'delivery', 'list_price': 0.0,
        })

    @classmethod
    def _create_subscription(cls, lines, confirm=True, **values):
        order = cls.env['sale.order'].create({
            'partner_id': cls.customer.id,
            'plan_id': cls.plan.id,
            'require_payment': False,
            'order_line': [(0, 0, {'product_id': product.id, 'product_uom_qty': quantity, 'price_unit': price})
                           for product, quantity, price in lines],
            **values,
        })
        if confirm:
            order.action_confirm()
        return order
