from odoo import api, fields, models


class ProductTemplate(models.Model):
    _inherit = 'product.template'

    recurring_invoice = fields.Boolean(
        string="Subscription Product",
        help="If set, confirming a sale order with this product creates a subscription.")
    allow_one_time_sale = fields.Boolean(string="One-time sale")
    allow_prorated_price = fields.Boolean(compute='_compute_allow_prorated_price', store=True, readonly=False)

    @api.depends('recurring_invoice', 'type', 'invoice_policy')
    def _compute_allow_prorated_price(self):
        for template in self:
            template.allow_prorated_price = (
                template.recurring_invoice and template.type == 'service' and template.invoice_policy != 'delivery')
