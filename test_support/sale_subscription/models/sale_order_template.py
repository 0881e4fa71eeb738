from odoo import api, fields, models
from odoo.tools.date_utils import get_timedelta


class SaleOrderTemplate(models.Model):
    _inherit = 'sale.order.template'

    plan_id = fields.Many2one('sale.subscription.plan', string="Recurring Plan", index='btree_not_null')
    is_subscription = fields.Boolean(compute='_compute_is_subscription', store=True)
    is_unlimited = fields.Boolean(string="Last Forever", default=True)
    duration_value = fields.Integer(string="Duration", default=1)
    duration_unit = fields.Selection([('month', 'Months'), ('year', 'Years')], default='month', required=True)

    @property
    def duration(self):
        return get_timedelta(self.duration_value, self.duration_unit)

    @api.depends('plan_id')
    def _compute_is_subscription(self):
        for template in self:
            template.is_subscription = bool(template.plan_id)
