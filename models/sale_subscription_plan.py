from odoo import fields, models


class SaleSubscriptionPlan(models.Model):
    _inherit = 'sale.subscription.plan'

    fusion_charge_ids = fields.One2many('fusion.billing.charge', 'plan_id', string="Usage Charges")
