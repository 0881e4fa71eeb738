from odoo import fields, models
from odoo.exceptions import UserError

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

    def write(self, vals):
        for field in ('code', 'aggregation'):
            if field in vals:
                changed = self.filtered(lambda metric, field=field: metric[field] != vals[field])
                used = changed._used_metrics()
                if used:
                    raise UserError(self.env._(
                        "The code and the aggregation of %(metrics)s cannot change: usage was recorded for it or "
                        "a charge prices it. Services send the code with every event, and billed periods were "
                        "added up with the aggregation. Create a new metric (and archive this one) instead.",
                        metrics=", ".join(used.mapped('display_name'))))
        return super().write(vals)

    def _used_metrics(self):
        """The metrics among these that usage rows or charges (archived ones too) refer to."""
        Usage = self.env['fusion.billing.usage'].sudo()
        Charge = self.env['fusion.billing.charge'].sudo().with_context(active_test=False)
        return self.filtered(lambda metric: Usage.search_count([('metric_id', '=', metric.id)], limit=1)
                             or Charge.search_count([('metric_id', '=', metric.id)], limit=1))
