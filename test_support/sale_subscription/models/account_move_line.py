from odoo import api, fields, models
from odoo.exceptions import UserError


class AccountMoveLine(models.Model):
    _inherit = 'account.move.line'

    subscription_id = fields.Many2one('sale.order', index=True)
    # Defined by account_accountant in Enterprise.
    deferred_start_date = fields.Date(copy=False)
    deferred_end_date = fields.Date(copy=False)

    @api.constrains('deferred_start_date', 'deferred_end_date', 'account_id')
    def _check_deferred_dates(self):
        # account_accountant's check, run whenever the dates are written (invoice creation included).
        for line in self:
            if line.deferred_start_date and not line.deferred_end_date:
                raise UserError(self.env._("You cannot create a deferred entry with a start date but no end date."))
            if line.deferred_start_date and line.deferred_end_date and line.deferred_start_date > line.deferred_end_date:
                raise UserError(self.env._(
                    "You cannot create a deferred entry with a start date later than the end date."))

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
