from odoo import fields, models


class SaleOrderLine(models.Model):
    _inherit = 'sale.order.line'

    fusion_charge_id = fields.Many2one('fusion.billing.charge', string="Usage Charge", ondelete='restrict',
                                       index='btree_not_null', copy=False, readonly=True,
                                       help="The usage charge this postpaid line is rated for.")

    fusion_rated_quantity = fields.Float(
        string="Rated Usage", digits=(16, 4), copy=False, readonly=True,
        help="Aggregated quantity of the period, as last rated onto this line: what its invoice bills.")

    _fusion_charge_unique = models.UniqueIndex(
        '(order_id, fusion_charge_id) WHERE fusion_charge_id IS NOT NULL',
        "A subscription has at most one line per usage charge.")
