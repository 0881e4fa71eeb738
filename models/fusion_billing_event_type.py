from odoo import fields, models

from ..engine.const import EVENT_TYPES


class FusionBillingEventType(models.Model):
    """A webhook event type a service can subscribe to (one record per type, from data)."""

    _name = 'fusion.billing.event.type'
    _description = 'Fusion Billing Webhook Event Type'
    _order = 'sequence, id'
    _rec_name = 'code'

    code = fields.Selection([(code, code) for code in EVENT_TYPES], required=True, readonly=True)
    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)

    _code_unique = models.Constraint('UNIQUE(code)', "Each event type exists once.")
