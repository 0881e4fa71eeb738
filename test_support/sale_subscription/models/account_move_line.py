from odoo import fields, models


class AccountMoveLine(models.Model):
    _inherit = 'account.move.line'

    subscription_id = fields.Many2one('sale.order', index=True)
    # Defined by account_accountant in Enterprise.
    deferred_start_date = fields.Date(copy=False)
    deferred_end_date = fields.Date(copy=False)

    def copy_data(self, default=None):
        # A credit note must carry the period it cancels.
        vals_list = super().copy_data(default=default)
        for line, vals in zip(self, vals_list):
            if line.subscription_id:
                vals['deferred_start_date'] = line.deferred_start_date
                vals['deferred_end_date'] = line.deferred_end_date
        return vals_list

    def _get_max_invoiced_date(self):
        """Latest period end invoiced by these lines; fully refunded periods do not count."""
        quantity_by_end = {}
        for line in self:
            if line.move_id.state in ('draft', 'cancel') or not line.deferred_end_date:
                continue
            target_uom = line.sale_line_ids.product_uom_id[:1] or line.product_uom_id
            if not target_uom:
                continue
            sign = 1 if line.move_id.move_type == 'out_invoice' else -1
            quantity_by_end.setdefault(line.deferred_end_date, 0.0)
            quantity_by_end[line.deferred_end_date] += sign * line.product_uom_id._compute_quantity(
                line.quantity, target_uom, round=False)
        invoiced_ends = [end for end, quantity in quantity_by_end.items() if quantity > 0.0]
        return invoiced_ends and max(invoiced_ends)
