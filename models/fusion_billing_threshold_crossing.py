from psycopg2 import errors

from odoo import api, fields, models
from odoo.tools import SQL


class FusionBillingThresholdCrossing(models.Model):
    """A charge's alert threshold reached in one billing period of a subscription: noted
    once, whoever sees it first (the API or the hourly rating), and told to the
    subscription's salesperson and to the services that want usage.threshold_reached."""

    _name = 'fusion.billing.threshold.crossing'
    _description = 'Fusion Billing Threshold Crossing'
    _order = 'period_start desc, id desc'

    subscription_id = fields.Many2one('sale.order', required=True, ondelete='cascade', index=True, readonly=True)
    charge_id = fields.Many2one('fusion.billing.charge', required=True, ondelete='cascade', readonly=True)
    metric_id = fields.Many2one(related='charge_id.metric_id')
    period_start = fields.Date(required=True, readonly=True)
    quantity = fields.Float(digits=(16, 4), readonly=True, help="The period's quantity when the crossing was seen.")
    threshold = fields.Float(digits=(16, 4), readonly=True)
    company_id = fields.Many2one(related='subscription_id.company_id', store=True, index=True)

    _once_per_period = models.Constraint('UNIQUE(subscription_id, charge_id, period_start)',
                                         "A threshold is crossed once per period.")

    @api.model
    def _note_crossings(self, charge, crossings):
        """Insert ``crossings`` ({subscription id: (period start, quantity)}) of ``charge``
        not noted yet; return the ids of the subscriptions whose crossing is new. One
        statement, safe against the API and the cron noting the same crossing at once."""
        if not crossings:
            return set()
        try:
            with self.env.cr.savepoint(flush=False):
                rows = self._insert_crossings(charge, crossings)
        except errors.SerializationFailure:
            # Noted at this instant by another transaction (the API and the hourly rating
            # saw the same crossing): that one tells it.
            return set()
        self.invalidate_model()
        return {row[0] for row in rows}

    @api.model
    def _insert_crossings(self, charge, crossings):
        # A serialization failure is expected and handled by the caller: not logged as an error.
        self.env.cr.execute(SQL(
            """INSERT INTO fusion_billing_threshold_crossing
                      (subscription_id, charge_id, period_start, quantity, threshold, company_id,
                       create_uid, create_date, write_uid, write_date)
               SELECT sent.subscription_id, %(charge)s, sent.period_start, sent.quantity, %(threshold)s,
                      so.company_id, %(uid)s, %(now)s, %(uid)s, %(now)s
                 FROM unnest(%(subscriptions)s::int[], %(starts)s::date[], %(quantities)s::float8[])
                      AS sent(subscription_id, period_start, quantity)
                 JOIN sale_order so ON so.id = sent.subscription_id
          ON CONFLICT (subscription_id, charge_id, period_start) DO NOTHING
            RETURNING subscription_id""",
            charge=charge.id, threshold=charge.alert_threshold, uid=self.env.uid, now=fields.Datetime.now(),
            subscriptions=list(crossings), starts=[start for start, _quantity in crossings.values()],
            quantities=[quantity for _start, quantity in crossings.values()]), log_exceptions=False)
        return self.env.cr.fetchall()
