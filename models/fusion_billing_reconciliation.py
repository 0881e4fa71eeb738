from collections import defaultdict

from dateutil.relativedelta import relativedelta

from odoo import fields, models
from odoo.tools import float_compare

from .. import engine

# Quantities are stored with 4 decimals; smaller differences are noise.
QUANTITY_DIGITS = 4


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

    def _fc_record_billed_usage(self, entries):
        """Write one reconciliation row per billed (subscription, charge, period) of
        ``entries`` (see account.move._fc_billed_usage), then start each usage line over
        for the subscription's new period."""
        rows = []
        for entry in entries:
            charge, subscription = entry['charge'], entry['subscription']
            period_start, period_end = entry['period']
            rating = charge._rate(entry['quantity'])
            rows.append({
                'subscription_id': subscription.id,
                'charge_id': charge.id,
                'metric_id': charge.metric_id.id,
                'period_start': period_start,
                'period_end': period_end,
                'aggregated_quantity': float(rating.aggregated_quantity),
                'included_quantity': float(rating.included_quantity),
                'billable_quantity': float(rating.billable_quantity),
                'amount': float(rating.amount),
                'currency_id': charge.currency_id.id,
                'invoice_id': entry['invoice'].id,
                'sale_line_id': entry['sale_line'].id,
            })
        existing = {(row.subscription_id.id, row.charge_id.id, row.period_start): row for row in self.search([
            ('subscription_id', 'in', [row['subscription_id'] for row in rows]),
            ('charge_id', 'in', [row['charge_id'] for row in rows]),
        ])}
        records = self.browse()
        for values in rows:
            # A credit note and a new invoice for the same period replace the first record.
            previous = existing.get((values['subscription_id'], values['charge_id'], values['period_start']))
            if previous:
                previous.write(values)
                records |= previous
            else:
                records |= self.create(values)
        records._fc_check_late_usage()
        self._fc_start_new_periods(entries)
        return records

    def _fc_start_new_periods(self, entries):
        """After an invoice, the usage lines it billed hold the new period's usage (often
        none yet): rate that period now rather than leave the billed amount on them."""
        running, closed = defaultdict(set), defaultdict(set)
        for entry in entries:
            if entry['sale_line']:
                subscription = entry['subscription']
                target = running if subscription.subscription_state in ('3_progress', '4_paused') else closed
                target[entry['charge']].add(subscription.id)
        # A closed subscription has no new period: what comes after its last invoice is
        # late usage, not something to bill again.
        quantities = {charge: charge._fc_open_period_quantities(list(subscription_ids))
                      for charge, subscription_ids in running.items()}
        for charge, subscription_ids in closed.items():
            quantities.setdefault(charge, {}).update(dict.fromkeys(subscription_ids, 0.0))
        self.env['sale.order'].sudo()._fc_apply_ratings(quantities)

    def _fc_check_late_usage(self):
        """Compare each row's billed quantity with the period's aggregated quantity now:
        more usage than billed puts the row in ``late_usage`` with the difference."""
        Usage = self.env['fusion.billing.usage']
        for row in self:
            period_end = row._fc_late_usage_horizon()
            aggregated_now = Usage._aggregate(row.subscription_id, row.metric_id,
                                              engine.midnight_utc(row.period_start), period_end)
            late_quantity = aggregated_now - row.aggregated_quantity
            if float_compare(late_quantity, 0, precision_digits=QUANTITY_DIGITS) > 0:
                row.write({'state': 'late_usage', 'late_quantity': late_quantity})
            elif row.state != 'billed' or row.late_quantity:
                row.write({'state': 'billed', 'late_quantity': 0.0})

    def _fc_late_usage_horizon(self):
        """End of the usage window of this billed period: the day after its last day, or,
        for the last billed period of a closed subscription, no end at all."""
        self.ensure_one()
        subscription = self.subscription_id
        if subscription.subscription_state in ('5_renewed', '6_churn'):
            later = self.search_count([('subscription_id', '=', subscription.id), ('charge_id', '=', self.charge_id.id),
                                       ('period_start', '>', self.period_start)], limit=1)
            if not later:
                return engine.midnight_utc(self.period_end + relativedelta(years=100))
        return engine.midnight_utc(self.period_end + relativedelta(days=1))
