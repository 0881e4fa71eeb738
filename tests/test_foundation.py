from decimal import Decimal

from odoo.tests import TransactionCase, tagged

from .. import engine


@tagged('post_install', '-at_install')
class TestFoundation(TransactionCase):
    """The addon installs on top of sale_subscription and reaches its engine from Odoo."""

    def test_addon_builds_on_sale_subscription(self):
        modules = self.env['ir.module.module'].search([('name', 'in', ['fusion_billing', 'sale_subscription'])])
        self.assertEqual(set(modules.mapped('state')), {'installed'})
        self.assertIn('sale_subscription', modules.filtered(lambda m: m.name == 'fusion_billing')
                      .dependencies_id.mapped('name'))

    def test_engine_rates_with_the_company_currency_rounding(self):
        currency = self.env.company.currency_id
        terms = engine.ChargeTerms(charge_model='standard', price=Decimal('0.0125'))
        rating = engine.rate(Decimal(1500), terms, Decimal(str(currency.rounding)))
        self.assertEqual(rating.amount, Decimal('18.75'))
        self.assertEqual(currency.round(float(rating.amount)), 18.75)
