from odoo import fields, models

from ..const import BILLING_USER_GROUP, RATING_CONTEXT


class SaleOrderLine(models.Model):
    _inherit = 'sale.order.line'

    # Billing data, for Fusion Billing users: the code reads them as superuser, so a
    # salesperson confirming, invoicing or renewing a subscription is never stopped.
    fusion_charge_id = fields.Many2one('fusion.billing.charge', string="Usage Charge", ondelete='restrict',
                                       index='btree_not_null', copy=False, readonly=True,
                                       groups=BILLING_USER_GROUP,
                                       help="The usage charge this postpaid line is rated for.")

    fusion_rated_quantity = fields.Float(
        string="Rated Usage", digits=(16, 4), copy=False, readonly=True, groups=BILLING_USER_GROUP,
        help="Aggregated quantity of the periods this line bills, as last rated onto it.")
    fusion_rated_periods = fields.Json(
        string="Rated Periods", copy=False, readonly=True, groups=BILLING_USER_GROUP,
        help="Each billing period this line bills, priced on its own: what its invoice line hands to the ledger.")

    _fusion_charge_unique = models.UniqueIndex(
        '(order_id, fusion_charge_id) WHERE fusion_charge_id IS NOT NULL',
        "A subscription has at most one line per usage charge.")

    def _get_invoice_line_parameters(self):
        # Enterprise dates a postpaid line from its own last invoiced date, so a period
        # with nothing billable would pin the line to that period for ever. A usage line
        # bills its window instead: from the day after the last period of its charge in
        # the ledger to the end of the period being invoiced.
        if (self.sudo().fusion_charge_id and self.order_id.subscription_state != '7_upsell'
                and not self.env.context.get('force_postpaid_next_invoice')):
            window = self.env['fusion.billing.rating']._line_window(self.sudo())
            if window and window.periods:
                return window.start, window.last_day, 1, None
        return super()._get_invoice_line_parameters()

    def _get_protected_fields(self):
        # A contract renewed by Enterprise is locked, but its last period may still get
        # late usage before its final invoice: the rating keeps its usage lines right.
        protected = super()._get_protected_fields()
        if self.env.context.get(RATING_CONTEXT) and all(self.sudo().mapped('fusion_charge_id')):
            return [name for name in protected if name not in ('name', 'price_unit')]
        return protected

    def _get_renew_upsell_values(self, subscription_state):
        # Enterprise would copy a usage line with its last rated price and text: the
        # renewal rates its own usage from its own start, on lines of its own.
        return super(SaleOrderLine, self - self.sudo().filtered('fusion_charge_id'))._get_renew_upsell_values(
            subscription_state)

    def _compute_amount(self):
        # A usage line orders nothing: whatever its price and taxes, its totals are 0.
        # Creating thousands of them is otherwise mostly their tax computation.
        usage_ids = set(self.sudo().filtered(lambda line: line.fusion_charge_id and not line.product_uom_qty)._ids)
        usage_lines = self.filtered(lambda line: line.id in usage_ids)
        usage_lines.update({'price_subtotal': 0.0, 'price_tax': 0.0, 'price_total': 0.0})
        return super(SaleOrderLine, self - usage_lines)._compute_amount()

    def _compute_discount(self):
        # The rated amount is the price of the usage: a pricelist discount must not take a
        # share of it a second time.
        usage_ids = set(self.sudo().filtered('fusion_charge_id')._ids)
        usage_lines = self.filtered(lambda line: line.id in usage_ids)
        usage_lines.discount = 0.0
        return super(SaleOrderLine, self - usage_lines)._compute_discount()

    def _prepare_invoice_line(self, **optional_values):
        values = super()._prepare_invoice_line(**optional_values)
        line = self.sudo()
        if line.fusion_charge_id:
            values['discount'] = 0.0
            values['fusion_rated_periods'] = line.fusion_rated_periods
        return values

