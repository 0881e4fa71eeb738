from odoo import fields, models


class FusionBillingWebhookSecretShow(models.TransientModel):
    """Shows a service's webhook signing secret to a Manager, to copy into the receiver.

    Opened with the secret in its default values and never saved, like the API key dialog.
    """

    _name = 'fusion.billing.webhook.secret.show'
    _description = 'Fusion Billing: show the webhook secret'

    service_id = fields.Many2one('fusion.billing.service', readonly=True)
    secret = fields.Char(readonly=True)
    replaced = fields.Boolean(readonly=True)
