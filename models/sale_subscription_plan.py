from odoo import fields, models

from ..const import BILLING_USER_GROUP


class SaleSubscriptionPlan(models.Model):
    _inherit = 'sale.subscription.plan'

    fusion_charge_ids = fields.One2many('fusion.billing.charge', 'plan_id', string="Usage Charges",
                                        groups=BILLING_USER_GROUP)
