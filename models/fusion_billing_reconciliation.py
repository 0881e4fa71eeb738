from odoo import fields, models


class FusionBillingReconciliation(models.Model):
    """What was billed for one charge of one subscription over one invoiced period,
    and how much usage arrived for that period after it was billed."""

    _name = 'fusion.billing.reconciliation'
    _description = 'Fusion Billing Reconciliation'
    _order = 'period_start desc, id desc'

    subscription_id = fields.Many2one('sale.order', required=True, ondelete='cascade',
                                      index=True, readonly=True)
    charge_id = fields.Many2one('fusion.billing.charge', required=True, ondelete='restrict',
                                index=True, readonly=True)
    metric_id = fields.Many2one('fusion.billing.metric', required=True, ondelete='restrict',
                                readonly=True)
    period_start = fields.Date(required=True, readonly=True)
    period_end = fields.Date(required=True, readonly=True, help="Last day of the invoiced period.")
    aggregated_quantity = fields.Float(digits=(16, 4), readonly=True)
    included_quantity = fields.Float(digits=(16, 4), readonly=True)
    billable_quantity = fields.Float(digits=(16, 4), readonly=True)
    amount = fields.Monetary(readonly=True)
    currency_id = fields.Many2one('res.currency', required=True, readonly=True)
    invoice_id = fields.Many2one('account.move', ondelete='set null', index='btree_not_null',
                                 readonly=True)
    sale_line_id = fields.Many2one('sale.order.line', string="Subscription Line", ondelete='set null',
                                   readonly=True)
    state = fields.Selection([('billed', "Billed"), ('late_usage', "Late usage")], required=True,
                             default='billed', readonly=True)
    late_quantity = fields.Float(digits=(16, 4), readonly=True,
                                 help="The period's aggregated quantity now minus the quantity billed.")
    company_id = fields.Many2one(related='subscription_id.company_id', store=True, index=True)
    partner_id = fields.Many2one(related='subscription_id.partner_id', string="Customer")

    _one_row_per_period = models.Constraint(
        'UNIQUE(subscription_id, charge_id, period_start)',
        "A charge is reconciled once per billing period of a subscription.")
    _period_ordered = models.Constraint('CHECK(period_start <= period_end)',
                                        "A reconciled period must start before it ends.")
