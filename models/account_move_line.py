from odoo import fields, models

from ..const import BILLING_USER_GROUP


class AccountMoveLine(models.Model):
    _inherit = 'account.move.line'

    fusion_rated_periods = fields.Json(
        string="Rated Usage Periods", copy=False, readonly=True, groups=BILLING_USER_GROUP,
        help="The billing periods of usage this line bills, each as it was priced: read into the ledger "
             "when the invoice is posted.")
