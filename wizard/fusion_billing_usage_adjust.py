from odoo import api, fields, models
from odoo.exceptions import UserError


class FusionBillingUsageAdjust(models.TransientModel):
    """Corrects one reported counter: the new quantity replaces the stored one through the
    API's own path (same checks, late usage flagged), and the subscription's chatter keeps
    who changed what, and why."""

    _name = 'fusion.billing.usage.adjust'
    _description = 'Fusion Billing: adjust usage'

    usage_id = fields.Many2one('fusion.billing.usage', required=True, readonly=True, ondelete='cascade')
    subscription_id = fields.Many2one(related='usage_id.subscription_id')
    metric_id = fields.Many2one(related='usage_id.metric_id')
    period_start = fields.Datetime(related='usage_id.period_start')
    period_end = fields.Datetime(related='usage_id.period_end')
    current_quantity = fields.Float(related='usage_id.quantity', string="Reported Quantity")
    quantity = fields.Float(string="Corrected Quantity", digits=(16, 4), required=True)
    reason = fields.Text(required=True, help="Kept in the subscription's chatter with the change.")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        usage = self.env['fusion.billing.usage'].browse(values.get('usage_id'))
        if usage and 'quantity' in fields_list:
            values['quantity'] = usage.quantity
        return values

    def action_adjust(self):
        self.ensure_one()
        self.usage_id.check_access('read')
        usage = self.usage_id.sudo()
        if not self.reason or not self.reason.strip():
            raise UserError(self.env._("Say why the usage is adjusted: the reason is kept with the change."))
        if not usage.idempotency_key:
            raise UserError(self.env._(
                "This row was reported without an idempotency key, so it cannot be replaced. Ask the service to "
                "send the counter again with a key, or record the missing usage as a new row."))
        before = usage.quantity
        Rating = self.env['fusion.billing.rating']
        # Recorded by the server: the row becomes "Manual" and its service no longer changes it.
        self.env['fusion.billing.usage'].sudo()._record_usage_with_result(
            usage.subscription_id, usage.metric_id.code, self.quantity, usage.period_start, usage.period_end,
            usage.idempotency_key)
        usage.subscription_id.message_post(body=self.env._(
            "Usage adjusted by %(user)s: %(metric)s from %(start)s to %(end)s, %(before)s → %(after)s. "
            "Reason: %(reason)s",
            user=self.env.user.display_name, metric=usage.metric_id.display_name,
            start=fields.Datetime.to_string(usage.period_start), end=fields.Datetime.to_string(usage.period_end),
            before=Rating._format_quantity(before), after=Rating._format_quantity(self.quantity),
            reason=self.reason.strip()))
        return {'type': 'ir.actions.act_window_close'}
