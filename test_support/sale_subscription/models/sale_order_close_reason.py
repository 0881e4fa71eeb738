from odoo import api, fields, models
from odoo.exceptions import UserError


class SaleOrderCloseReason(models.Model):
    _name = 'sale.order.close.reason'
    _description = 'Subscription Close Reason'
    _order = 'sequence, id'

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    visible_in_portal = fields.Boolean(default=True)
    retention_message = fields.Html(translate=True)
    retention_button_text = fields.Char(translate=True)
    retention_button_link = fields.Char()
    is_protected = fields.Boolean(default=False)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_protected(self):
        if any(reason.is_protected for reason in self):
            raise UserError(self.env._("You cannot delete a close reason that the system uses."))
