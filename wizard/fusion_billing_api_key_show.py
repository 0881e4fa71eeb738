from odoo import fields, models


class FusionBillingApiKeyShow(models.TransientModel):
    """Shows a freshly generated API key once.

    The dialog is opened with the key in its default values and is never saved, so the
    plaintext key is not written to the database.
    """

    _name = 'fusion.billing.api.key.show'
    _description = 'Fusion Billing: show a new API key once'

    service_id = fields.Many2one('fusion.billing.service', readonly=True)
    key = fields.Char(readonly=True)
