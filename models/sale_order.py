from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import format_date

from .. import engine
from ..const import BILLING_USER_GROUP



class SaleOrder(models.Model):
    _inherit = 'sale.order'

    # Billing data: only Fusion Billing users see these (a salesperson's read or export of
    # a subscription must not reach usage rows they may not read).
    fusion_usage_ids = fields.One2many('fusion.billing.usage', 'subscription_id', string="Usage",
                                       groups=BILLING_USER_GROUP)
    fusion_usage_count = fields.Integer(compute='_compute_fusion_usage_count', compute_sudo=True,
                                        groups=BILLING_USER_GROUP)
    fusion_period_start = fields.Datetime(string="Open Period Start", compute='_compute_fusion_open_period',
                                          compute_sudo=True, groups=BILLING_USER_GROUP)
    fusion_period_end = fields.Datetime(string="Open Period End", compute='_compute_fusion_open_period',
                                        compute_sudo=True, groups=BILLING_USER_GROUP,
                                        help="Excluded: usage from this moment on belongs to the next period.")
    fusion_usage_summary = fields.Html(string="Open Period Usage", compute='_compute_fusion_open_period',
                                       compute_sudo=True, groups=BILLING_USER_GROUP)
    fusion_upcoming_invoice = fields.Html(string="Upcoming Invoice", compute='_compute_fusion_open_period',
                                          compute_sudo=True, groups=BILLING_USER_GROUP)
    fusion_usage_history = fields.Html(string="Usage History", compute='_compute_fusion_open_period',
                                       compute_sudo=True, groups=BILLING_USER_GROUP)
    fusion_rated_at = fields.Datetime(string="Last Rated", readonly=True, copy=False, groups=BILLING_USER_GROUP,
                                      help="When the usage lines were last rated: every hour, at invoicing, "
                                           "or with Rate Now.")

    @api.depends('fusion_usage_ids')
    def _compute_fusion_usage_count(self):
        counts = dict(self.env['fusion.billing.usage']._read_group(
            [('subscription_id', 'in', self.ids)], ['subscription_id'], ['__count']))
        for order in self:
            order.fusion_usage_count = counts.get(order._origin, 0)

    @api.depends('is_subscription', 'start_date', 'next_invoice_date', 'end_date', 'plan_id',
                 'fusion_usage_ids.quantity', 'fusion_usage_ids.period_start')
    def _compute_fusion_open_period(self):
        for order in self:
            preview = order._fc_usage_preview()
            window = order._fc_open_period_window(preview)
            order.fusion_period_start = window and window.start
            order.fusion_period_end = window and window.end
            order.fusion_usage_summary = order._fc_render_usage_summary(order._fc_open_period_usage(preview))
            order.fusion_usage_history = self.env['ir.qweb']._render('fusion_billing.usage_history', {
                'days': order._fc_daily_usage(preview), **order._fc_billing_history()})
            upcoming = order.id and order.is_subscription and self.env['fusion.billing.rating']._upcoming_invoice(
                order._origin, preview)
            order.fusion_upcoming_invoice = self.env['ir.qweb']._render('fusion_billing.upcoming_invoice',
                                                                        {'upcoming': upcoming or None})

    def _fc_open_period_window(self, preview=None):
        """The days the next invoice will bill usage for, as an engine BillingWindow
        (00:00 UTC to 00:00 UTC), or None when nothing is left to bill. ``preview`` is
        _fc_usage_preview's answer when the caller already has it."""
        self.ensure_one()
        preview = self._fc_usage_preview() if preview is None else preview
        windows = [rating.window for rating in preview if rating.window.periods]
        if not windows:
            return None
        return engine.BillingWindow(engine.midnight_utc(min(window.start for window in windows)),
                                    engine.midnight_utc(max(window.end for window in windows)))

    def _fc_usage_preview(self):
        """The usage of this subscription priced as the next invoice will bill it (no write)."""
        self.ensure_one()
        if not self.id or not self.is_subscription:
            return []
        return self.env['fusion.billing.rating']._preview(self._origin)

    def _fc_open_period_usage(self, preview=None):
        """Return, per rated charge, the usage not billed yet and its amount so far."""
        self.ensure_one()
        preview = self._fc_usage_preview() if preview is None else preview
        charges = self.env['fusion.billing.charge'].sudo()
        summary = []
        for rating in preview:
            if not rating.window.periods:
                continue
            charge = charges.browse(rating.window.charge_id)
            summary.append({
                'charge_id': charge.id,
                'charge': charge.display_name,
                'metric': charge.metric_id.code,
                'unit': charge.metric_id.unit_name or '',
                'aggregated_quantity': float(rating.aggregated_quantity),
                'included_quantity': float(sum(period_rating.included_quantity
                                               for _start, _end, period_rating in rating.period_ratings)),
                'billable_quantity': float(rating.billable_quantity),
                'amount': float(rating.amount),
                'currency': charge.currency_id.name,
                'currency_id': charge.currency_id.id,
            })
        return summary

    def _fc_daily_usage(self, preview):
        """Per rated charge, the quantity of each day of the open window (as its metric
        aggregates a day's rows), for the Usage tab's chart: [{'charge', 'unit', 'largest',
        'days': [(day, quantity, bar height as a CSS percentage of the largest day)]}]."""
        requests, keys = [], []
        charges = self.env['fusion.billing.charge'].sudo()
        for rating in preview:
            if not rating.window.periods:
                continue
            charge = charges.browse(rating.window.charge_id)
            day = rating.window.start
            while day < rating.window.end:
                requests.append((self.id, charge.metric_id, day, day + timedelta(days=1)))
                keys.append((charge, day))
                day += timedelta(days=1)
        quantities = self.env['fusion.billing.rating']._aggregate_periods(requests) if requests else []
        by_charge = {}
        for (charge, day), quantity in zip(keys, quantities):
            by_charge.setdefault(charge, []).append((day, quantity))
        chart = []
        format_quantity = self.env['fusion.billing.rating']._format_quantity
        for charge, days in by_charge.items():
            largest = max(quantity for _day, quantity in days)
            chart.append({
                'charge': charge.display_name, 'unit': charge.metric_id.unit_name or '',
                'largest': format_quantity(largest),
                'days': [(format_date(self.env, day), format_quantity(quantity),
                          f"{100 * quantity / (largest or 1.0):.1f}%") for day, quantity in days],
            })
        return chart

    def _fc_billing_history(self):
        """The billed periods from the ledger (newest first) and the alert thresholds
        reached, for the Usage tab."""
        rows = self.env['fusion.billing.reconciliation'].sudo().search([('subscription_id', '=', self.id)])
        crossings = self.env['fusion.billing.threshold.crossing'].sudo().search([('subscription_id', '=', self.id)])
        return {'ledger': rows, 'crossings': crossings}

    def _fc_rate_usage(self, charge, period_start, period_end):
        """Rate ``charge`` over ``[period_start, period_end)`` onto the charge's line of
        each subscription in ``self``; return {subscription id: ChargeRating}."""
        return self.env['fusion.billing.rating']._rate_given_window(
            self, charge, engine.midnight_utc(period_start).date(), engine.midnight_utc(period_end).date())

    def _fc_usage_report(self):
        """The open period's usage of this subscription, as the usage API returns it."""
        self.ensure_one()
        preview = self._fc_usage_preview()
        window = self._fc_open_period_window(preview)
        currencies = {}
        charges = []
        for line in self._fc_open_period_usage(preview):
            currency = currencies.setdefault(line['currency_id'], self.env['res.currency'].browse(line['currency_id']))
            charges.append({
                'charge_id': line['charge_id'],
                'metric': line['metric'],
                'unit': line['unit'],
                'aggregated_quantity': line['aggregated_quantity'],
                'included_quantity': line['included_quantity'],
                'billable_quantity': line['billable_quantity'],
                'amount': f"{line['amount']:.{currency.decimal_places}f}",
                'currency': currency.name,
            })
        return {
            'subscription': {'id': self.id, 'reference': self.name, 'state': self.subscription_state},
            'period': window and {'start': window.start.isoformat() + 'Z', 'end': window.end.isoformat() + 'Z'},
            'charges': charges,
            'upcoming_invoice': self._fc_upcoming_invoice_report(preview),
        }

    def _fc_upcoming_invoice_report(self, preview=None):
        """The next invoice as the read API shows it: amounts as strings with the currency's
        decimals; None when the subscription will not be invoiced again. ``preview`` is
        _fc_usage_preview's answer when the caller already has it."""
        upcoming = self.env['fusion.billing.rating']._upcoming_invoice(self, preview)
        if not upcoming:
            return None
        currency = upcoming['currency']

        def money(amount):
            return f"{currency.round(amount):.{currency.decimal_places}f}"

        return {
            'date': upcoming['date'].isoformat(),
            'currency': currency.name,
            'amount_untaxed': money(upcoming['amount_untaxed']),
            'amount_tax': money(upcoming['amount_tax']),
            'amount_total': money(upcoming['amount_total']),
            'lines': [{'name': line['name'], 'quantity': line['quantity'], 'price_unit': line['price_unit'],
                       'discount': line['discount'], 'price_subtotal': money(line['price_subtotal'])}
                      for line in upcoming['lines']],
        }

    def _fc_usage_for_display(self, summary):
        """_fc_open_period_usage's lines with their quantities as text in the user's
        language and their currency as a record, for the Usage tab and the portal."""
        format_quantity = self.env['fusion.billing.rating']._format_quantity
        return [{**line,
                 'aggregated_quantity': format_quantity(line['aggregated_quantity']),
                 'included_quantity': format_quantity(line['included_quantity']),
                 'billable_quantity': format_quantity(line['billable_quantity']),
                 'currency': self.env['res.currency'].browse(line['currency_id'])}
                for line in summary]

    def _fc_render_usage_summary(self, summary):
        """Render the open period's usage per charge (the usage_summary template)."""
        lines = self._fc_usage_for_display(summary)
        has_charges = bool(self.plan_id and self.env['fusion.billing.charge'].sudo().search_count(
            [('plan_id', '=', self.plan_id.id)], limit=1))
        return self.env['ir.qweb']._render('fusion_billing.usage_summary', {'lines': lines, 'has_charges': has_charges})

    def _fc_portal_usage(self):
        """What the customer's portal page shows of this subscription's usage: the open
        window, per charge the quantity, included and billable units and the amount so
        far, and the upcoming invoice; None when there is nothing to show. Read as
        superuser: the portal controller has checked that the visitor may see the
        subscription."""
        self.ensure_one()
        order = self.sudo()
        if not order.is_subscription:
            return None
        preview = order._fc_usage_preview()
        lines = order._fc_open_period_usage(preview)
        if not lines:
            return None
        window = order._fc_open_period_window(preview)
        charges = self.env['fusion.billing.charge'].sudo().browse([line['charge_id'] for line in lines])
        names = {charge.id: charge.metric_id.name for charge in charges}
        return {
            'period': window and (format_date(self.env, window.start),
                                  format_date(self.env, window.end - timedelta(days=1))),
            'lines': [{**line, 'metric': names[line['charge_id']]} for line in self._fc_usage_for_display(lines)],
            'upcoming': self.env['fusion.billing.rating']._upcoming_invoice(order, preview),
        }

    def _fc_alert_threshold_crossed(self, charge, quantity):
        """Tell the subscription's followers and its salesperson that ``charge``'s alert
        threshold was reached in the open period."""
        self.ensure_one()
        unit = charge.metric_id.unit_name or ''
        message = self.env._(
            "%(metric)s reached %(quantity)s %(unit)s this period: the alert threshold of %(charge)s is "
            "%(threshold)s.", metric=charge.metric_id.name, charge=charge.display_name, unit=unit,
            quantity=self.env['fusion.billing.rating']._format_quantity(quantity),
            threshold=self.env['fusion.billing.rating']._format_quantity(charge.alert_threshold))
        self.message_post(body=message)
        if self.user_id:
            self.activity_schedule('mail.mail_activity_data_todo', user_id=self.user_id.id,
                                   summary=self.env._("Usage alert: %s", charge.metric_id.name), note=message)

    def action_fusion_rate_now(self):
        """Rate the usage lines now instead of at the next hourly run."""
        if not self.env.user.has_group(BILLING_USER_GROUP):
            raise AccessError(self.env._("Only Fusion Billing users can rate usage."))
        self.env['fusion.billing.rating']._rate_subscriptions(self, raise_errors=True)
        return True

    def action_view_fusion_usage(self):
        """Smart button: the subscription's usage rows."""
        self.ensure_one()
        action = self.env['ir.actions.act_window']._for_xml_id('fusion_billing.fusion_billing_usage_action')
        action['domain'] = [('subscription_id', '=', self.id)]
        action['context'] = {'default_subscription_id': self.id, 'search_default_group_by_metric': 1,
                             'search_default_current_period': 1}
        return action
