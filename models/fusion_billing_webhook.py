import uuid

from odoo import fields, models

from ..engine.const import EVENT_TYPES

WEBHOOK_STATES = [('pending', "Pending"), ('sent', "Sent"), ('failed', "Failed"), ('dead', "Dead")]


class FusionBillingWebhook(models.Model):
    """An event queued for a service's webhook URL, with its delivery history."""

    _name = 'fusion.billing.webhook'
    _description = 'Fusion Billing Webhook Event'
    _order = 'create_date desc, id desc'
    _rec_name = 'event_id'

    service_id = fields.Many2one('fusion.billing.service', required=True, ondelete='cascade',
                                 index=True, readonly=True)
    event_type = fields.Selection([(code, code) for code in EVENT_TYPES], required=True, readonly=True)
    event_id = fields.Char(required=True, readonly=True, copy=False,
                           default=lambda self: str(uuid.uuid4()), help="Sent as X-Fusion-Event-Id.")
    event_key = fields.Char(required=True, readonly=True, copy=False,
                            help="The cause of the event: one cause never queues the same event twice.")
    payload = fields.Json(readonly=True)
    body = fields.Text(readonly=True, help="The exact bytes that were signed and are sent, as text.")
    signature = fields.Char(readonly=True)
    state = fields.Selection(WEBHOOK_STATES, required=True, default='pending', index=True, readonly=True)
    attempts = fields.Integer(readonly=True)
    next_retry_at = fields.Datetime(readonly=True, index=True)
    last_error = fields.Text(readonly=True)
    response_status = fields.Integer(readonly=True)
    sent_at = fields.Datetime(readonly=True)
    company_id = fields.Many2one(related='service_id.company_id', store=True, index=True)

    _event_key_unique = models.Constraint('UNIQUE(service_id, event_key)',
                                          "This event was already queued for this service.")
    _event_id_unique = models.Constraint('UNIQUE(event_id)', "Event ids are unique.")

    def action_retry_now(self):
        """Button: make failed events due now."""
        self.filtered(lambda event: event.state == 'failed').sudo().write({'next_retry_at': fields.Datetime.now()})

    def action_requeue(self):
        """Button: give dead events a fresh round of attempts."""
        self.filtered(lambda event: event.state == 'dead').sudo().write({
            'state': 'pending', 'attempts': 0, 'next_retry_at': False})
