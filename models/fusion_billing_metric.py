from odoo import fields, models

from ..engine.const import AGGREGATIONS

AGGREGATION_LABELS = {
    'sum': "Sum of the quantities",
    'max': "Largest quantity",
    'last': "Latest quantity",
    'unique_count': "Number of distinct quantities",
}


class FusionBillingMetric(models.Model):
    """Something a service measures, and how a period's rows add up."""

    _name = 'fusion.billing.metric'
    _description = 'Fusion Billing Metric'
    _order = 'name, id'

    name = fields.Char(required=True, translate=True)
    code = fields.Char(required=True, copy=False, help="Identifier the services send in usage events.")
    aggregation = fields.Selection([(code, AGGREGATION_LABELS[code]) for code in AGGREGATIONS],
                                   required=True, default='sum',
                                   help="How the usage rows of a billing period add up to one quantity.")
    unit_name = fields.Char(string="Unit", translate=True, help="e.g. API calls, GB")
    description = fields.Text(translate=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one('res.company', index=True, help="Leave empty to share the metric between companies.")

    _code_unique = models.Constraint('UNIQUE(code)', "Another metric already uses this code.")
