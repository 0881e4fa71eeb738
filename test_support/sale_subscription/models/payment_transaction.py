from odoo import api, fields, models


class PaymentTransaction(models.Model):
    _inherit = 'payment.transaction'

    renewal_state = fields.Selection(
        [('draft', 'Draft'), ('pending', 'Pending'), ('authorized', 'Authorized'), ('cancel', 'Refused')],
        compute='_compute_renewal_state')
    subscription_action = fields.Selection([
        ('automatic_send_mail', 'Send Mail (automatic payment)'),
        ('manual_send_mail', 'Send Mail (manual payment)'),
        ('assign_token', 'Assign Token'),
    ])

    @api.depends('state')
    def _compute_renewal_state(self):
        for transaction in self:
            if transaction.state in ('draft', 'pending'):
                transaction.renewal_state = transaction.state
            elif transaction.state in ('done', 'authorized'):
                transaction.renewal_state = 'authorized'
            else:
                transaction.renewal_state = 'cancel'
