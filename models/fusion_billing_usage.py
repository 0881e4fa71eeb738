import logging

from psycopg2 import errors

from odoo import api, fields, models, modules
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from odoo.addons.sale_subscription.models.sale_order import SUBSCRIPTION_CLOSED_STATE

from .. import engine

_logger = logging.getLogger(__name__)

# Subscriptions rated per query and per commit.
RATING_BATCH_SIZE = 1000
# Claims of a rating batch tried before the cron gives up until its next run.
CLAIM_ATTEMPTS = 3

# Usage in the billing period that ends on the subscription's next invoice date (none
# once it is closed): what the Current Period filter shows.
CURRENT_PERIOD = SQL("""
    so.next_invoice_date IS NOT NULL AND so.subscription_state IN ('3_progress', '4_paused')
    AND usage.period_start < so.next_invoice_date
    AND usage.period_start >= so.next_invoice_date - make_interval(
        weeks => CASE WHEN plan.billing_period_unit = 'week' THEN plan.billing_period_value ELSE 0 END,
        months => CASE WHEN plan.billing_period_unit = 'month' THEN plan.billing_period_value ELSE 0 END,
        years => CASE WHEN plan.billing_period_unit = 'year' THEN plan.billing_period_value ELSE 0 END)""")
# Usage before the subscription's start or after its end: never billed.
OUTSIDE_SUBSCRIPTION = SQL("usage.period_start < so.start_date OR usage.period_start >= so.end_date + 1")

# What a service reported: changed only through the ingestion path (the API, Adjust Usage).
REPORTED_FIELDS = {'subscription_id', 'metric_id', 'service_id', 'period_start', 'period_end', 'quantity',
                   'idempotency_key'}

class FusionBillingUsage(models.Model):
    """An aggregated usage counter pushed by a service for one subscription and metric.

    Services send periodic counters, not raw events. A counter re-sent with the same
    idempotency key replaces the stored quantity instead of adding to it.
    """

    _name = 'fusion.billing.usage'
    _description = 'Fusion Billing Usage'
    _order = 'period_start desc, id desc'

    subscription_id = fields.Many2one('sale.order', required=True, ondelete='cascade',
                                      index=True, domain=[('is_subscription', '=', True)])
    metric_id = fields.Many2one('fusion.billing.metric', required=True, ondelete='restrict',
                                index=True)
    service_id = fields.Many2one('fusion.billing.service', string="Reported By", ondelete='set null', index=True)
    period_start = fields.Datetime(required=True, help="Start of the counted period (UTC).")
    period_end = fields.Datetime(required=True, help="End of the counted period (UTC), excluded.")
    quantity = fields.Float(digits=(16, 4), required=True, default=0.0)
    source = fields.Selection([('push', "API"), ('manual', "Manual")], required=True, default='push')
    idempotency_key = fields.Char(size=engine.IDEMPOTENCY_KEY_MAX_LENGTH, copy=False)
    company_id = fields.Many2one(related='subscription_id.company_id', store=True, index=True)
    partner_id = fields.Many2one(related='subscription_id.partner_id', string="Customer", store=True, index=True)
    unit_name = fields.Char(related='metric_id.unit_name')
    in_current_period = fields.Boolean(
        string="Current Period", compute='_compute_period_flags', search='_search_in_current_period',
        help="In the subscription's current billing period (the one its next invoice closes).")
    outside_subscription = fields.Boolean(
        string="Outside the Subscription", compute='_compute_period_flags', search='_search_outside_subscription',
        help="Before the subscription's start or after its end: never billed.")

    _idempotency_key_unique = models.Constraint(
        'UNIQUE(subscription_id, metric_id, idempotency_key)',
        "This idempotency key was already used for this subscription and metric.")
    _period_ordered = models.Constraint('CHECK(period_start < period_end)',
                                        "A usage period must start before it ends.")
    # NaN compares above every number in PostgreSQL: the upper bound refuses it too.
    _quantity_finite_not_negative = models.Constraint(
        "CHECK(quantity >= 0 AND quantity <= 1e15)",
        "A usage quantity must be a number from 0 to 10^15.")
    _window_index = models.Index('(subscription_id, metric_id, period_start)')

    @api.model_create_multi
    def create(self, vals_list):
        usages = super().create(vals_list)
        usages._flag_late_usage()
        return usages

    def write(self, vals):
        if REPORTED_FIELDS & set(vals) and not self.env.su:
            raise UserError(self.env._(
                "Usage rows keep what the services reported. To correct a row, use Adjust Usage: the new "
                "quantity goes through the same checks as the API and the reason is kept."))
        result = super().write(vals)
        if {'subscription_id', 'metric_id', 'period_start', 'quantity'} & set(vals):
            self._flag_late_usage()
        return result

    def _flag_late_usage(self):
        """Usage for a period that was already billed is kept; the ledger row of that
        period shows how much more there is now than was billed. One query finds, for
        each row, the latest ledger row starting on or before it (the only one it can be
        late for), whatever the number of usage rows, and keeps it if the row falls in
        its period, or after it on a closed subscription (see _late_usage_horizons):
        usage of the open period is never looked at twice."""
        if not self:
            return
        self.flush_recordset(['subscription_id', 'metric_id', 'period_start', 'quantity'])
        self.env['fusion.billing.reconciliation'].flush_model(['subscription_id', 'metric_id', 'charge_id',
                                                               'period_start', 'period_end'])
        self.env['sale.order'].flush_model(['subscription_state'])
        reconciliation_ids = {row_id for row_id, in self.env.execute_query(SQL(
            """SELECT latest.id
                 FROM (SELECT DISTINCT ON (usage.id, rec.charge_id) rec.id, rec.period_end, usage.period_start,
                              usage.subscription_id
                         FROM fusion_billing_usage usage
                         JOIN fusion_billing_reconciliation rec
                           ON rec.subscription_id = usage.subscription_id
                          AND rec.metric_id = usage.metric_id
                          AND rec.period_start <= usage.period_start
                        WHERE usage.id IN %(usage_ids)s
                     ORDER BY usage.id, rec.charge_id, rec.period_start DESC) latest
                 JOIN sale_order so ON so.id = latest.subscription_id
                WHERE latest.period_start < latest.period_end + 1
                   OR so.subscription_state IN %(closed)s""",
            usage_ids=tuple(self.ids), closed=tuple(SUBSCRIPTION_CLOSED_STATE),
        ))}
        if reconciliation_ids:
            self.env['fusion.billing.reconciliation'].sudo().browse(reconciliation_ids)._update_late_usage()

    @api.depends('period_start', 'subscription_id.start_date', 'subscription_id.end_date',
                 'subscription_id.next_invoice_date', 'subscription_id.subscription_state')
    def _compute_period_flags(self):
        if not self.ids:
            self.in_current_period = self.outside_subscription = False
            return
        self.env['sale.order'].flush_model(['start_date', 'end_date', 'next_invoice_date', 'plan_id',
                                            'subscription_state'])
        self.flush_model(['subscription_id', 'period_start'])
        flags = {usage_id: (current, outside) for usage_id, current, outside in self.env.execute_query(SQL(
            """SELECT usage.id, usage.id IN (%(current)s), usage.id IN (%(outside)s)
                 FROM fusion_billing_usage usage WHERE usage.id IN %(ids)s""",
            current=self._rows_where(CURRENT_PERIOD), outside=self._rows_where(OUTSIDE_SUBSCRIPTION),
            ids=tuple(self.ids)))}
        for usage in self:
            usage.in_current_period, usage.outside_subscription = flags.get(usage.id, (False, False))

    @api.model
    def _rows_where(self, condition):
        """The ids of the usage rows whose subscription ``so`` and plan ``plan`` meet
        ``condition``, as an SQL subquery."""
        return SQL("""SELECT usage.id
                        FROM fusion_billing_usage usage
                        JOIN sale_order so ON so.id = usage.subscription_id
                   LEFT JOIN sale_subscription_plan plan ON plan.id = so.plan_id
                       WHERE %s""", condition)

    def _search_in_current_period(self, operator, value):
        return self._search_rows_where(CURRENT_PERIOD, operator, value)

    def _search_outside_subscription(self, operator, value):
        return self._search_rows_where(OUTSIDE_SUBSCRIPTION, operator, value)

    def _search_rows_where(self, condition, operator, value):
        if operator not in ('in', 'not in'):
            return NotImplemented
        self.env['sale.order'].flush_model(['start_date', 'end_date', 'next_invoice_date', 'plan_id',
                                            'subscription_state'])
        positive = (operator == 'in') == (True in value)
        return [('id', 'in' if positive else 'not in', self._rows_where(condition))]

    @api.depends('subscription_id', 'metric_id', 'period_start')
    def _compute_display_name(self):
        for usage in self:
            usage.display_name = " · ".join(filter(None, [
                usage.subscription_id.name, usage.metric_id.name,
                usage.period_start and fields.Datetime.to_string(usage.period_start)[:16]]))

    @api.constrains('subscription_id')
    def _check_subscription(self):
        for usage in self:
            if not usage.subscription_id.is_subscription:
                raise ValidationError(self.env._("Usage can only be recorded on a subscription; %s is not one.",
                                                 usage.subscription_id.name))

    @api.model
    def _aggregate(self, subscription, metric, period_start, period_end):
        """Return the quantity of ``metric`` for ``subscription`` over ``[period_start, period_end)``
        (dates, or datetimes at 00:00 UTC). A row belongs to the period that holds its
        period_start. Returns a float (0 when there is no row)."""
        subscription.ensure_one()
        metric.ensure_one()
        return self.env['fusion.billing.rating']._aggregate_periods(
            [(subscription.id, metric, period_start, period_end)])[0]

    @api.model
    def _claim_subscriptions_to_rate(self, plan, company, after_id, batch_size, auto_commit):
        """The next batch of the hourly rating (see _subscriptions_to_rate). A claim that
        meets a subscription another transaction changed after its snapshot is made
        again in a new transaction (as the cron commits as it goes)."""
        Rating = self.env['fusion.billing.rating']
        for attempt in range(CLAIM_ATTEMPTS):
            try:
                return Rating._subscriptions_to_rate(plan, company, after_id, batch_size)
            except errors.SerializationFailure:
                if not auto_commit or attempt == CLAIM_ATTEMPTS - 1:
                    raise
                self.env.cr.rollback()
        return []

    @api.model
    def _cron_rate_open_periods(self, batch_size=RATING_BATCH_SIZE):
        """Hourly: rate the usage windows of the running subscriptions of every plan with
        an active charge onto their usage lines.

        The subscriptions of a plan are read in batches; each batch is rated at once
        (one aggregation query per kind of aggregation) and committed. A subscription in
        another currency than a charge's is not rated for that charge, and is logged; a
        subscription that cannot be rated is logged and skipped, whatever the error.
        """
        auto_commit = not modules.module.current_test
        Rating = self.env['fusion.billing.rating']
        charges = self.env['fusion.billing.charge'].search([('active', '=', True)])
        charges.fetch(['plan_id', 'company_id', 'currency_id'])
        for (plan, company), plan_charges in charges.grouped(lambda c: (c.plan_id, c.company_id)).items():
            after_id = 0
            if auto_commit:
                # Each batch is claimed by the first statement of its transaction.
                self.env['ir.cron']._commit_progress()
            while rows := self._claim_subscriptions_to_rate(plan, company, after_id, batch_size, auto_commit):
                after_id = rows[-1][0]
                for charge in plan_charges:
                    other_currency = [subscription_id for subscription_id, currency_id in rows
                                      if currency_id != charge.currency_id.id]
                    if other_currency:
                        _logger.warning(
                            "Fusion Billing: charge %s (%s) not rated on subscriptions %s: their currency is not %s.",
                            charge.id, charge.display_name, other_currency, charge.currency_id.name)
                subscriptions = self.env['sale.order'].with_company(company).browse(
                    [subscription_id for subscription_id, _currency_id in rows])
                ratings, _problems = Rating.with_company(company)._rate_subscriptions(subscriptions)
                for charge in plan_charges:
                    charge._notify_thresholds_crossed({
                        subscription_id: rating.period_ratings[-1]
                        for (subscription_id, charge_id), rating in ratings.items()
                        if charge_id == charge.id and rating.period_ratings})
                if auto_commit:
                    self.env['ir.cron']._commit_progress(processed=len(rows))
