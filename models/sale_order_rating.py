import logging
from decimal import Decimal

from odoo import api, models
from odoo.tools import SQL

from .. import engine
from .fusion_billing_usage import AGGREGATION_SQL

_logger = logging.getLogger(__name__)

# Usage lines sit below the lines a salesperson adds.
USAGE_LINE_SEQUENCE = 1000


class SaleOrder(models.Model):
    _inherit = 'sale.order'

    @api.model
    def _fc_subscriptions_to_rate(self, plan, company, after_id=0, limit=1000):
        """Return one batch of (subscription id, currency id) that the hourly rating covers
        for ``plan`` in ``company``: in progress, with a next invoice date and no draft
        invoice; ordered by id, those after ``after_id``. One query."""
        self.flush_model(['plan_id', 'company_id', 'is_subscription', 'state', 'subscription_state',
                          'next_invoice_date', 'currency_id'])
        self.env['account.move.line'].flush_model(['subscription_id', 'move_id'])
        self.env['account.move'].flush_model(['state', 'move_type'])
        return self.env.execute_query(SQL(
            """SELECT so.id, so.currency_id
                 FROM sale_order so
                WHERE so.plan_id = %(plan)s
                  AND so.company_id = %(company)s
                  AND so.is_subscription
                  AND so.state = 'sale'
                  AND so.subscription_state = '3_progress'
                  AND so.next_invoice_date IS NOT NULL
                  AND so.id > %(after_id)s
                  AND NOT EXISTS (
                      SELECT 1
                        FROM account_move_line aml
                        JOIN account_move move ON move.id = aml.move_id
                       WHERE aml.subscription_id = so.id
                         AND move.state = 'draft'
                         AND move.move_type IN ('out_invoice', 'out_refund'))
             ORDER BY so.id
                LIMIT %(limit)s""",
            plan=plan.id, company=company.id, after_id=after_id, limit=limit,
        ))

    def _fc_rate_usage(self, charge, period_start, period_end):
        """Rate ``charge`` over ``[period_start, period_end)`` onto the charge's line of
        each subscription in ``self``; return {subscription id: engine Rating}.

        The quantities of all the subscriptions are aggregated in one query.
        """
        if not self:
            return {}
        self.env['fusion.billing.usage'].flush_model()
        rows = self.env.execute_query(SQL(
            """SELECT usage.subscription_id, %(aggregate)s
                 FROM fusion_billing_usage usage
                WHERE usage.subscription_id IN %(subscriptions)s
                  AND usage.metric_id = %(metric)s
                  AND usage.period_start >= %(start)s
                  AND usage.period_start < %(end)s
             GROUP BY usage.subscription_id""",
            aggregate=AGGREGATION_SQL[charge.metric_id.aggregation],
            subscriptions=tuple(self.ids),
            metric=charge.metric_id.id,
            start=period_start,
            end=period_end,
        ))
        quantities = dict.fromkeys(self.ids, 0.0)
        quantities.update({subscription_id: float(quantity) for subscription_id, quantity in rows})
        return self._fc_apply_ratings({charge: quantities})[charge]

    @api.model
    def _fc_apply_ratings(self, quantities_by_charge):
        """Price the aggregated quantities ({charge: {subscription id: quantity}}) and
        upsert each charge's postpaid line on each subscription, all in one write.

        The line's ordered quantity stays 0; its delivered quantity times its unit price
        is the rated amount, exactly. A zero amount creates no line but zeroes an existing
        one. A subscription that cannot be rated is logged and skipped.
        Returns {charge: {subscription id: engine Rating}} for what was rated.
        """
        price_digits = self.env['decimal.precision'].precision_get('Product Price')
        quantity_digits = self.env['decimal.precision'].precision_get('Product Unit')
        subscription_ids = {sid for quantities in quantities_by_charge.values() for sid in quantities}
        charges = self.env['fusion.billing.charge'].concat(*quantities_by_charge)
        existing = {(line.fusion_charge_id.id, line.order_id.id): line for line in self.env['sale.order.line'].search(
            [('order_id', 'in', list(subscription_ids)), ('fusion_charge_id', 'in', charges.ids)])}

        ratings, updates, creates = {}, {}, []
        for charge, quantities in quantities_by_charge.items():
            ratings[charge] = {}
            terms = charge._get_charge_terms()
            rounding = Decimal(repr(charge.currency_id.rounding))
            for subscription_id, quantity in quantities.items():
                try:
                    rating = engine.rate(quantity, terms, rounding)
                    line_quantity, price = engine.line_quantity_and_price(
                        rating.amount, rating.billable_quantity, engine.natural_unit_price(terms, rating),
                        price_digits, quantity_digits)
                    values = {
                        'fusion_rated_quantity': float(rating.aggregated_quantity),
                        'qty_delivered': float(line_quantity),
                        'price_unit': float(price),
                        'name': engine.describe_rating(charge.metric_id.name, charge.metric_id.unit_name, terms,
                                                       rating),
                    }
                except engine.EngineError as error:
                    _logger.error("Fusion Billing: charge %s not rated on subscription %s: %s",
                                  charge.id, subscription_id, error)
                    continue
                ratings[charge][subscription_id] = rating
                line = existing.get((charge.id, subscription_id))
                if line:
                    changed = {name: value for name, value in values.items() if line[name] != value}
                    if changed:
                        updates[line] = changed
                elif rating.amount:
                    creates.append({
                        **values,
                        'order_id': subscription_id,
                        'product_id': charge.product_id.id,
                        'product_uom_qty': 0.0,
                        'fusion_charge_id': charge.id,
                        'sequence': USAGE_LINE_SEQUENCE,
                    })
        failed = self._fc_write_usage_lines(updates, creates)
        return {charge: {sid: rating for sid, rating in charge_ratings.items() if sid not in failed}
                for charge, charge_ratings in ratings.items()}

    @api.model
    def _fc_write_usage_lines(self, updates, creates):
        """Write ``updates`` ({line: values}) and create ``creates`` (line values) together;
        if that fails, again one subscription at a time so that only the broken ones are
        skipped. Returns the ids of the subscriptions left unwritten."""
        Line = self.env['sale.order.line'].with_context(sale_no_log_for_new_lines=True)
        if creates and not self.env['account.analytic.distribution.model'].sudo().search_count([], limit=1):
            # Without distribution models the computed distribution is empty: say so
            # rather than have it looked up line by line.
            creates = [{**values, 'analytic_distribution': False} for values in creates]
        try:
            with self.env.cr.savepoint():
                # Order totals are recomputed order by order; read every line's taxes at
                # once instead of one query per order.
                order_ids = {line.order_id.id for line in updates} | {values['order_id'] for values in creates}
                self.browse(order_ids).order_line.fetch(['tax_ids'])
                for line, values in updates.items():
                    line.write(values)
                Line.create(creates)
                self.env.flush_all()
            return set()
        except Exception:  # pylint: disable=broad-exception-caught  # retried one by one below
            self.env.invalidate_all()
        failed = set()
        work = [(line.order_id.id, line.write, values) for line, values in updates.items()]
        work += [(values['order_id'], lambda values: Line.create([values]), values) for values in creates]
        for subscription_id, method, values in work:
            if subscription_id in failed:
                continue
            try:
                with self.env.cr.savepoint():
                    method(values)
                    self.env.flush_all()
            except Exception:  # pylint: disable=broad-exception-caught  # one subscription never stops the rest
                self.env.invalidate_all()
                _logger.exception("Fusion Billing: usage line of subscription %s not written", subscription_id)
                failed.add(subscription_id)
        return failed
