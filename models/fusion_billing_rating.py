import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, format_date, formatLang
from odoo.tools.misc import get_lang

from odoo.addons.sale_subscription.models.sale_order import (
    SUBSCRIPTION_CLOSED_STATE,
    SUBSCRIPTION_PROGRESS_STATE,
)

from .. import engine
from ..const import RATING_CONTEXT
from ..sql_arrays import array_text

_logger = logging.getLogger(__name__)

# Usage lines sit below the lines a salesperson adds.
USAGE_LINE_SEQUENCE = 1000

# What a usage line's price and delivered quantity never change while its ordered
# quantity is 0: its subtotal, taxes and MRR share stay 0, and so do the order totals
# they add up to. Rating leaves them alone rather than have Odoo recompute them, order
# by order, for every rated line (most of the rating's time otherwise). Fields a
# database does not have (Enterprise's or the stand-in's) are skipped.
UNCHANGED_LINE_FIELDS = ('price_subtotal', 'price_tax', 'price_total', 'price_reduce_taxexcl', 'price_reduce_taxinc',
                         'recurring_monthly')
UNCHANGED_ORDER_FIELDS = ('amount_untaxed', 'amount_tax', 'amount_total', 'recurring_total', 'recurring_monthly',
                          'non_recurring_total')

# Subscription states whose usage lines Enterprise may still invoice.
RATED_STATES = tuple(SUBSCRIPTION_PROGRESS_STATE + SUBSCRIPTION_CLOSED_STATE)

# How each aggregation reads the rows of one period: the SQL twin of engine.aggregate,
# which the tests use as an oracle. "last" takes the row with the latest period_start,
# ties going to the latest write.
AGGREGATION_SQL = {
    'sum': SQL("COALESCE(SUM(usage.quantity), 0)"),
    'max': SQL("COALESCE(MAX(usage.quantity), 0)"),
    'last': SQL("COALESCE((ARRAY_AGG(usage.quantity ORDER BY usage.period_start DESC, usage.write_date DESC,"
                " usage.id DESC))[1], 0)"),
    'unique_count': SQL("COUNT(DISTINCT usage.quantity)"),
}


def _as_datetime(day):
    """A day as the naive UTC datetime of its 00:00; a datetime is kept as it is."""
    return day if isinstance(day, datetime) else engine.midnight_utc(day)


@dataclass(frozen=True)
class UsageWindow:
    """The days one usage line bills: from the day after its charge's last billed period
    in the ledger to the end of the period being invoiced (``end`` excluded), cut into
    billing periods that are priced one by one. An empty window has no period."""

    subscription_id: int
    charge_id: int
    start: date
    end: date
    periods: tuple

    @property
    def last_day(self):
        return self.end - timedelta(days=1)


@dataclass(frozen=True)
class ChargeRating:
    """The usage of one window priced period by period: [(first day, day after the last, Rating)]."""

    window: UsageWindow
    terms: engine.ChargeTerms
    period_ratings: tuple

    @property
    def amount(self):
        return sum((rating.amount for _start, _end, rating in self.period_ratings), Decimal(0))

    @property
    def aggregated_quantity(self):
        return sum((rating.aggregated_quantity for _start, _end, rating in self.period_ratings), Decimal(0))

    @property
    def billable_quantity(self):
        return sum((rating.billable_quantity for _start, _end, rating in self.period_ratings), Decimal(0))

    def periods_for_invoice(self):
        """The breakdown an invoice line carries to the ledger (JSON-safe)."""
        return [{
            'start': fields.Date.to_string(start),
            'end': fields.Date.to_string(end - timedelta(days=1)),
            'aggregated_quantity': float(rating.aggregated_quantity),
            'included_quantity': float(rating.included_quantity),
            'billable_quantity': float(rating.billable_quantity),
            'amount': str(rating.amount),
        } for start, end, rating in self.period_ratings]


class FusionBillingRating(models.AbstractModel):
    """The one place that knows which usage a subscription line bills and for how much.

    A usage line's window starts the day after the last period of its charge in the
    billing ledger and ends with the period being invoiced (the subscription's next
    invoice date, or its end date once closed). Each billing period inside it is priced
    on its own and the sum goes on the line, whose invoice line carries the window as
    its dates. The hourly cron, the invoicing hooks, closing, posting, the Usage tab
    and the read API all ask this model; only the first four write.
    """

    _name = 'fusion.billing.rating'
    _description = 'Fusion Billing Rating'

    # ------------------------------------------------------------------
    # Windows
    # ------------------------------------------------------------------

    @api.model
    def _rated_charges(self, subscriptions):
        """{subscription: the active charges of its plan in its company and currency}."""
        charges = self.env['fusion.billing.charge'].sudo().search(
            [('plan_id', 'in', subscriptions.plan_id.ids), ('active', '=', True)])
        by_plan = charges.grouped('plan_id')
        no_charge = self.env['fusion.billing.charge'].sudo()
        return {subscription: by_plan.get(subscription.plan_id, no_charge).filtered(
            lambda charge: (charge.company_id, charge.currency_id) == (subscription.company_id,
                                                                       subscription.currency_id))
            for subscription in subscriptions}

    @api.model
    def _ledger_positions(self, subscriptions):
        """{(subscription id, charge id): (last day billed, first credited day, days that
        start a billed period)} from the ledger. A credited period is not billed: a full
        credit note bills it again."""
        if not subscriptions:
            return {}
        self.env['fusion.billing.reconciliation'].flush_model(['subscription_id', 'charge_id', 'period_start',
                                                               'period_end', 'state'])
        return {(subscription_id, charge_id): (last_billed, first_credited, set(billed_starts or ()))
                for subscription_id, charge_id, last_billed, first_credited, billed_starts in
                self.env.execute_query(SQL(
                    """SELECT subscription_id, charge_id,
                              MAX(period_end) FILTER (WHERE state != 'credited'),
                              MIN(period_start) FILTER (WHERE state = 'credited'),
                              ARRAY_AGG(period_start) FILTER (WHERE state != 'credited')
                         FROM fusion_billing_reconciliation
                        WHERE subscription_id IN %(subscriptions)s
                     GROUP BY subscription_id, charge_id""",
                    subscriptions=tuple(subscriptions.ids)))}

    @api.model
    def _next_period_start(self, plan):
        """The plan's recurrence: the first day of the period after the one starting on a day."""
        def next_period_start(day):
            following = day + plan.billing_period
            if plan.billing_first_day and plan.billing_period_unit == 'month':
                following += relativedelta(day=1)
            elif plan.billing_first_day and plan.billing_period_unit == 'year':
                following += relativedelta(day=1, month=1)
            return following
        return next_period_start

    @api.model
    def _usage_windows(self, subscriptions):
        """{(subscription id, charge id): UsageWindow} for the rated charges of ``subscriptions``.

        A window starts the day after the last period of its charge in the ledger, or on
        the first credited period when there is one (billed periods inside the window are
        left out). A charge with no ledger row yet starts where Enterprise starts a
        postpaid line: after the line's last invoiced day, or at the subscription's current
        period (so a charge added later, or a subscription older than the addon, does not
        bill its history). The window ends with the period being invoiced: the next invoice
        date, or the end date once closed.
        """
        subscriptions = subscriptions.sudo().filtered(
            lambda order: order.is_subscription and order.state == 'sale'
            and order.subscription_state in RATED_STATES and order.next_invoice_date and order.start_date)
        ledger = self._ledger_positions(subscriptions)
        lines = {(line.order_id.id, line.fusion_charge_id.id): line
                 for line in subscriptions.order_line.filtered('fusion_charge_id')}
        windows = {}
        for subscription, charges in self._rated_charges(subscriptions).items():
            end = min(day for day in (subscription.next_invoice_date, subscription.end_date) if day)
            next_period_start = self._next_period_start(subscription.plan_id)
            for charge in charges:
                key = subscription.id, charge.id
                last_billed, first_credited, billed_starts = ledger.get(key, (None, None, set()))
                if last_billed or first_credited:
                    start = last_billed + timedelta(days=1) if last_billed else first_credited
                    if first_credited:
                        start = min(start, first_credited)
                else:
                    line = lines.get(key)
                    start = (line and line.last_invoiced_date and line.last_invoiced_date + timedelta(days=1)
                             or subscription.last_invoice_date or subscription.start_date)
                periods = tuple(period for period in engine.billing_periods(start, end, next_period_start)
                                if period[0] not in billed_starts)
                windows[key] = UsageWindow(subscription.id, charge.id, periods[0][0] if periods else start, end,
                                           periods)
        return windows

    @api.model
    def _given_window(self, subscription, charge, start, end):
        """The UsageWindow of the days [start, end) chosen by the caller, cut into the plan's periods."""
        return UsageWindow(subscription.id, charge.id, start, end, tuple(
            engine.billing_periods(start, end, self._next_period_start(subscription.plan_id))))

    @api.model
    def _line_window(self, line):
        """The UsageWindow of the usage line ``line``, or None."""
        return self._usage_windows(line.order_id).get((line.order_id.id, line.fusion_charge_id.id))

    # ------------------------------------------------------------------
    # Aggregation and pricing
    # ------------------------------------------------------------------

    @api.model
    def _aggregate_periods(self, requests):
        """Aggregate usage for each (subscription id, metric, first day, day after the last)
        of ``requests``; return the quantities (floats) in the same order. A row belongs to
        the period holding its period_start (days at 00:00 UTC). One query per kind of
        aggregation, whatever the number of periods."""
        self.env['fusion.billing.usage'].flush_model(['subscription_id', 'metric_id', 'period_start', 'quantity'])
        quantities = [0.0] * len(requests)
        positions = defaultdict(list)
        for position, (_subscription_id, metric, _start, _end) in enumerate(requests):
            positions[metric.aggregation].append(position)
        for aggregation, group in positions.items():
            rows = self.env.execute_query(SQL(
                """SELECT requested.position,
                          (SELECT %(aggregate)s
                             FROM fusion_billing_usage usage
                            WHERE usage.subscription_id = requested.subscription_id
                              AND usage.metric_id = requested.metric_id
                              AND usage.period_start >= requested.period_start
                              AND usage.period_start < requested.period_end)
                     FROM unnest(%(positions)s::int[], %(subscriptions)s::int[], %(metrics)s::int[],
                                 %(starts)s::timestamp[], %(ends)s::timestamp[])
                          AS requested(position, subscription_id, metric_id, period_start, period_end)""",
                aggregate=AGGREGATION_SQL[aggregation],
                positions=array_text(group),
                subscriptions=array_text(requests[position][0] for position in group),
                metrics=array_text(requests[position][1].id for position in group),
                starts=array_text(_as_datetime(requests[position][2]) for position in group),
                ends=array_text(_as_datetime(requests[position][3]) for position in group),
            ))
            for position, quantity in rows:
                quantities[position] = float(quantity)
        return quantities

    @api.model
    def _rate_windows(self, windows):
        """Price every period of ``windows`` ({key: UsageWindow}). Returns ({key:
        ChargeRating}, {subscription id: problem}) : a subscription whose usage cannot be
        priced (absurd quantities, broken terms) is reported, never raised."""
        charges = self.env['fusion.billing.charge'].sudo().browse({charge_id for _sid, charge_id in windows})
        charges = {charge.id: charge for charge in charges}
        requests = [(window.subscription_id, charges[window.charge_id].metric_id, start, end)
                    for window in windows.values() for start, end in window.periods]
        quantities = iter(self._aggregate_periods(requests))
        terms, roundings = {}, {}
        ratings, problems = {}, {}
        for key, window in windows.items():
            charge = charges[window.charge_id]
            period_quantities = [next(quantities) for _period in window.periods]
            try:
                if charge.id not in terms:
                    terms[charge.id] = charge._get_charge_terms()
                    roundings[charge.id] = Decimal(repr(charge.currency_id.rounding))
                ratings[key] = ChargeRating(window, terms[charge.id], tuple(
                    (start, end, engine.rate(quantity, terms[charge.id], roundings[charge.id]))
                    for (start, end), quantity in zip(window.periods, period_quantities)))
            except Exception as error:  # pylint: disable=broad-exception-caught  # reported per subscription
                problems[window.subscription_id] = self.env._("charge %(charge)s: %(error)s",
                                                              charge=charge.display_name, error=error)
        return ratings, problems

    @api.model
    def _preview(self, subscription):
        """The usage windows of ``subscription`` priced as they stand, without writing:
        a list of ChargeRating, one per rated charge (what the Usage tab and the read API
        show, and what the next invoice will bill)."""
        ratings, _problems = self._rate_windows(self._usage_windows(subscription))
        return list(ratings.values())

    # ------------------------------------------------------------------
    # Writing the usage lines
    # ------------------------------------------------------------------

    @api.model
    def _rate_subscriptions(self, subscriptions, raise_errors=False):
        """Rate the usage windows of ``subscriptions`` onto their usage lines.

        A zero amount creates no line but brings an existing one to 0. Returns
        ({key: ChargeRating}, {subscription id: problem}); a subscription that cannot be
        rated is left as it was and logged, or, with ``raise_errors``, refused with a
        UserError (invoicing must not go on with stale usage).
        """
        self._lock_subscriptions(subscriptions)
        windows = self._usage_windows(subscriptions)
        ratings, problems = self._rate_and_write(windows)
        cleared = self._clear_unrated_lines(subscriptions, windows)
        self._log_problems(cleared)
        problems.update(cleared)
        self._stamp_rated(subscriptions.filtered(lambda order: order.id not in problems))
        if problems and raise_errors:
            subscription_id, problem = next(iter(problems.items()))
            raise UserError(self.env._(
                "The usage of %(subscription)s cannot be rated (%(problem)s), so it cannot be invoiced. "
                "Correct its usage or its charges, then invoice again.",
                subscription=self.env['sale.order'].browse(subscription_id).display_name, problem=problem))
        return {key: rating for key, rating in ratings.items() if key[0] not in problems}, problems

    @api.model
    def _lock_subscriptions(self, subscriptions):
        """Lock the subscriptions' rows before their lines are written, as the hourly
        rating's claim does: every rating takes the order, then its lines, and two of them
        wait for each other instead of deadlocking."""
        if subscriptions:
            self.env.execute_query(SQL("SELECT id FROM sale_order WHERE id IN %s ORDER BY id FOR NO KEY UPDATE",
                                       tuple(subscriptions.ids)))

    @api.model
    def _stamp_rated(self, subscriptions):
        """Note when ``subscriptions`` were last rated: one statement, no write of the
        orders through the ORM (no tracking, no recomputation, no write date)."""
        if not subscriptions:
            return
        self.env.execute_query(SQL("UPDATE sale_order SET fusion_rated_at = %(now)s WHERE id IN %(ids)s",
                                   now=fields.Datetime.now(), ids=tuple(subscriptions.ids)))
        subscriptions.invalidate_recordset(['fusion_rated_at'])

    @api.model
    def _rate_and_write(self, windows):
        """Price ``windows`` and write their usage lines; return ({key: ChargeRating},
        {subscription id: problem}) with only the ratings that were written. Problems are
        logged, never raised."""
        ratings, problems = self._rate_windows(windows)
        problems.update(self._write_usage_lines(
            {key: rating for key, rating in ratings.items() if key[0] not in problems}))
        self._log_problems(problems)
        return {key: rating for key, rating in ratings.items() if key[0] not in problems}, problems

    @api.model
    def _log_problems(self, problems):
        for subscription_id, problem in problems.items():
            _logger.error("Fusion Billing: usage of subscription %s not rated: %s", subscription_id, problem)

    @api.model
    def _line_values(self, rating, charge, order, line=None, texts=None):
        """The values of the usage line that bills ``rating``: its delivered quantity times
        its unit price is the rated amount exactly, before taxes (see _price_before_taxes).
        ``texts``: a dict the caller keeps to render each value once for many lines."""
        price_digits = self.env['decimal.precision'].precision_get('Product Price')
        quantity_digits = self.env['decimal.precision'].precision_get('Product Unit')
        lang = get_lang(self.env, order.partner_id.lang).code
        metric = charge.metric_id.with_context(lang=lang)
        single = rating.period_ratings[0][2] if len(rating.period_ratings) == 1 else None
        unit_price = engine.natural_unit_price(rating.terms, single) if single else None
        quantity, price = engine.line_quantity_and_price(
            rating.amount, rating.billable_quantity, unit_price, price_digits, quantity_digits)
        if line and rating.amount:
            quantity, price = self._price_before_taxes(line, rating.amount, quantity, price)
        return {
            'fusion_rated_quantity': float(rating.aggregated_quantity),
            'fusion_rated_periods': rating.periods_for_invoice(),
            'qty_delivered': float(quantity),
            'price_unit': float(price),
            'name': self._render_phrases(
                engine.describe_periods(metric.name, metric.unit_name, rating.terms, list(rating.period_ratings)),
                lang, charge.currency_id, texts),
        }

    @api.model
    def _render_phrases(self, phrases, lang, currency, texts=None):
        """The engine's phrases as text in ``lang`` (the customer's language): Odoo's
        translations, the language's number and date formats, prices in ``currency``
        with all their decimals. ``texts`` (a dict) keeps rendered values for the next
        calls of a batch."""
        env = self.with_context(lang=get_lang(self.env, lang).code).env
        texts = {} if texts is None else texts

        def render(value):
            if not isinstance(value, (engine.Quantity, engine.Price, engine.Day)):
                return value
            # repr, not the value: Decimal('1.0') == Decimal('1') but they read differently.
            key = (env.lang, currency.id, repr(value))
            if key not in texts:
                texts[key] = render_value(value)
            return texts[key]

        def render_value(value):
            if isinstance(value, engine.Quantity):
                number = self.with_env(env)._format_quantity(value.value)
                return f"{number} {value.unit}" if value.unit else number
            if isinstance(value, engine.Price):
                return self.with_env(env)._format_price(value.value, currency)
            if isinstance(value, engine.Day):
                return format_date(env, value.value)
            return value

        return "\n".join(env._(phrase.text, **{name: render(value) for name, value in phrase.values.items()})
                         for phrase in phrases)

    @api.model
    def _format_quantity(self, quantity):
        """A quantity with the decimals it has (1500 reads 1,500, 2.5 reads 2.5), in the
        language of the environment."""
        return formatLang(self.env, float(quantity), digits=engine.decimal_places(quantity))

    @api.model
    def _format_price(self, price, currency):
        """A unit price in ``currency`` with all its decimals (0.0125 stays 0.0125, 5 reads
        5.00), in the language of the environment."""
        number = formatLang(self.env, float(price), digits=max(currency.decimal_places, engine.decimal_places(price)))
        if not currency.symbol:
            return number
        return (f"{number}\N{NO-BREAK SPACE}{currency.symbol}" if currency.position == 'after'
                else f"{currency.symbol}\N{NO-BREAK SPACE}{number}")

    @api.model
    def _price_before_taxes(self, line, amount, quantity, price):
        """A tax included in the price would take its share out of the rated amount: with
        such taxes (after the fiscal position), bill one unit at the price whose untaxed
        part is the amount, to the cent."""
        included = line.tax_ids.filtered('price_include')
        if not included:
            return quantity, price
        currency = line.order_id.currency_id
        price_digits = self.env['decimal.precision'].precision_get('Product Price')
        step = Decimal(1).scaleb(-price_digits)

        def untaxed(candidate):
            return line.tax_ids.compute_all(float(candidate), currency, 1.0, product=line.product_id,
                                            partner=line.order_id.partner_id)['total_excluded']

        gross = included.compute_all(float(amount), currency, 1.0, product=line.product_id,
                                     partner=line.order_id.partner_id, handle_price_include=False)['total_included']
        first_guess = Decimal(repr(gross)).quantize(step)
        for offset in (0, 1, -1, 2, -2, 3, -3):
            candidate = first_guess + offset * step
            if currency.compare_amounts(untaxed(candidate), float(amount)) == 0:
                return Decimal(1), candidate
        raise engine.EngineError(f"no price with {price_digits} decimals leaves exactly {amount} before the "
                                 f"taxes {', '.join(line.tax_ids.mapped('name'))}")

    @api.model
    def _write_usage_lines(self, ratings):
        """Upsert the usage line of each rating; return {subscription id: problem} for the
        subscriptions whose lines could not be written (the others are written)."""
        if not ratings:
            return {}
        charges = self.env['fusion.billing.charge'].sudo().browse({charge_id for _sid, charge_id in ratings})
        charges = {charge.id: charge for charge in charges}
        Line = self.env['sale.order.line'].sudo().with_context(**{'sale_no_log_for_new_lines': True,
                                                                   RATING_CONTEXT: True})
        existing = {(line.order_id.id, line.fusion_charge_id.id): line for line in Line.search(
            [('order_id', 'in', list({subscription_id for subscription_id, _cid in ratings})),
             ('fusion_charge_id', 'in', list(charges))])}
        # Order totals are recomputed order by order; read every line's taxes at once
        # instead of one query per order.
        orders = self.env['sale.order'].sudo().browse({subscription_id for subscription_id, _cid in ratings})
        orders.order_line.fetch(['tax_ids'])
        orders = {order.id: order for order in orders}
        updates, creates, problems = {}, [], {}
        texts = {}
        for key, rating in ratings.items():
            charge, line = charges[key[1]], existing.get(key)
            try:
                values = self._line_values(rating, charge, orders[key[0]], line, texts)
            except Exception as error:  # pylint: disable=broad-exception-caught  # reported per subscription
                problems[key[0]] = str(error)
                continue
            if line:
                changed = {name: value for name, value in values.items() if line[name] != value}
                if changed:
                    updates[line] = changed
            elif rating.amount:
                creates.append({**values, 'order_id': key[0], 'product_id': charge.product_id.id,
                                'product_uom_qty': 0.0, 'fusion_charge_id': charge.id,
                                'sequence': USAGE_LINE_SEQUENCE})
        if creates and not self.env['account.analytic.distribution.model'].sudo().search_count([], limit=1):
            # Without distribution models the computed distribution is empty: say so
            # rather than have it looked up line by line.
            creates = [{**values, 'analytic_distribution': False} for values in creates]
        unchanged = self._unchanged_totals(Line.concat(*updates), {values['order_id'] for values in creates})
        try:
            # The savepoint flushes first: what earlier changes left to recompute is
            # recomputed before the protection starts.
            with self.env.cr.savepoint(), self.env.protecting(unchanged):
                for line, values in updates.items():
                    line.write(values)
                self._fix_prices_before_taxes(Line.create(creates), ratings)
                self.env.flush_all()
            return problems
        except Exception:  # pylint: disable=broad-exception-caught  # retried one subscription at a time below
            self.env.invalidate_all()
        work = [(line.order_id.id, lambda values, line=line: line.write(values), values)
                for line, values in updates.items()]
        work += [(values['order_id'], lambda values: self._fix_prices_before_taxes(Line.create([values]), ratings),
                  values) for values in creates]
        for subscription_id, method, values in work:
            if subscription_id in problems:
                continue
            try:
                with self.env.cr.savepoint(), self.env.protecting(unchanged):
                    method(values)
                    self.env.flush_all()
            except Exception as error:  # pylint: disable=broad-exception-caught  # one subscription never stops the rest
                self.env.invalidate_all()
                problems[subscription_id] = self.env._("its usage line could not be written: %s", error)
        return problems

    @api.model
    def _unchanged_totals(self, lines, new_line_order_ids):
        """What rating ``lines`` (and creating usage lines on the orders
        ``new_line_order_ids``) cannot change, as (fields, records) pairs for
        env.protecting: the totals of lines whose ordered quantity is 0, and of the
        orders all of whose rated lines are such lines."""
        Line, Order = self.env['sale.order.line'], self.env['sale.order']
        moving = lines.filtered(lambda line: line.product_uom_qty)
        still = lines - moving
        orders = Order.browse(set(still.order_id.ids) | set(new_line_order_ids)) - moving.order_id
        # Only stored fields: a protected field not stored would read as empty, not be kept.
        return [
            ([Line._fields[name] for name in UNCHANGED_LINE_FIELDS
              if name in Line._fields and Line._fields[name].store], still),
            ([Order._fields[name] for name in UNCHANGED_ORDER_FIELDS
              if name in Order._fields and Order._fields[name].store], orders),
        ]

    @api.model
    def _clear_unrated_lines(self, subscriptions, windows):
        """Bring to 0 the usage lines of charges that are no longer rated (archived, or in
        another currency than the subscription): Enterprise never resets a delivered
        quantity, so such a line would be billed again at every invoice. Returns
        {subscription id: problem} for lines that could not be written."""
        lines = self.env['sale.order.line'].sudo().with_context(**{RATING_CONTEXT: True}).search([
            ('order_id', 'in', subscriptions.ids), ('fusion_charge_id', '!=', False), ('qty_delivered', '!=', 0),
            ('order_id.state', '=', 'sale'), ('order_id.subscription_state', 'in', RATED_STATES)])
        problems = {}
        for line in lines.filtered(lambda line: (line.order_id.id, line.fusion_charge_id.id) not in windows):
            try:
                with self.env.cr.savepoint():
                    line.write({'qty_delivered': 0.0, 'fusion_rated_quantity': 0.0, 'fusion_rated_periods': False})
                    line.flush_recordset()
            except Exception as error:  # pylint: disable=broad-exception-caught  # one subscription never stops the rest
                self.env.invalidate_all()
                problems[line.order_id.id] = self.env._("its usage line could not be written: %s", error)
        return problems

    @api.model
    def _fix_prices_before_taxes(self, lines, ratings):
        """New lines get their taxes when they are created: correct the price of those
        whose taxes are included in the price."""
        for line in lines.filtered(lambda line: line.tax_ids.filtered('price_include')):
            rating = ratings[line.order_id.id, line.fusion_charge_id.id]
            quantity, price = self._price_before_taxes(line, rating.amount, line.qty_delivered, line.price_unit)
            line.write({'qty_delivered': float(quantity), 'price_unit': float(price)})

    @api.model
    def _report_problem(self, subscription, problem):
        """Tell the subscription's responsible why its usage is not invoiced (once, until done)."""
        summary = self.env._("Usage cannot be rated")
        subscription = subscription.sudo()
        if subscription.activity_ids.filtered(lambda activity: activity.summary == summary):
            return
        subscription.activity_schedule(
            'mail.mail_activity_data_warning', summary=summary,
            note=self.env._("The usage of this subscription cannot be rated, so it is not invoiced: %s", problem),
            user_id=subscription.user_id.id or self.env.ref('base.user_admin').id)

    @api.model
    def _rate_given_window(self, subscriptions, charge, period_start, period_end):
        """Rate ``charge`` over the days [period_start, period_end) onto the lines of
        ``subscriptions`` (the caller chooses the window); return {subscription id: ChargeRating}."""
        self._lock_subscriptions(subscriptions)
        windows = {(subscription.id, charge.id): self._given_window(subscription, charge, period_start, period_end)
                   for subscription in subscriptions}
        ratings, _problems = self._rate_and_write(windows)
        return {subscription_id: rating for (subscription_id, _charge_id), rating in ratings.items()}

    # ------------------------------------------------------------------
    # The hourly rating
    # ------------------------------------------------------------------

    @api.model
    def _subscriptions_to_rate(self, plan, company, after_id=0, limit=1000):
        """One batch of (subscription id, currency id) that the hourly rating covers for
        ``plan`` in ``company``: in progress, with a next invoice date and no draft
        invoice; ordered by id, those after ``after_id``. One query.

        The subscriptions are locked until the transaction ends, and those another
        rating holds are skipped: two ratings at once (two nodes, a twin job) share the
        work instead of writing the same lines. As the first statement of a transaction,
        the claim sees what the other rating committed."""
        self.env['sale.order'].flush_model(['plan_id', 'company_id', 'is_subscription', 'state', 'subscription_state',
                                            'next_invoice_date', 'currency_id'])
        self.env['account.move.line'].flush_model(['subscription_id', 'move_id'])
        self.env['account.move'].flush_model(['state', 'move_type'])
        # A claim that meets a row committed after its snapshot fails: not logged as an
        # error, the cron claims again.
        self.env.cr.execute(SQL(
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
                LIMIT %(limit)s
                  FOR NO KEY UPDATE OF so SKIP LOCKED""",
            plan=plan.id, company=company.id, after_id=after_id, limit=limit,
        ), log_exceptions=False)
        return self.env.cr.fetchall()
