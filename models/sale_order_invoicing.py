from collections import defaultdict

from dateutil.relativedelta import relativedelta

from odoo import models

from .. import engine

# States in which Enterprise may still invoice a subscription's postpaid lines.
INVOICEABLE_STATES = ('3_progress', '4_paused', '5_renewed', '6_churn')


class SaleOrder(models.Model):
    _inherit = 'sale.order'

    def _get_invoiceable_lines(self, final=False):
        # Enterprise collects a postpaid line only if its delivered quantity is not 0, and
        # moves the next invoice date on when nothing is collected: the closing period
        # must be on the lines before they are collected, by the invoicing cron and by
        # manual invoicing alike (both collect through this method).
        self._fc_rate_closing_period()
        return super()._get_invoiceable_lines(final=final)

    def set_close(self, close_reason_id=None, renew=False):
        result = super().set_close(close_reason_id=close_reason_id, renew=renew)
        # The usage up to the closing date goes on the lines, ready to be invoiced.
        self.filtered(lambda order: order.subscription_state in ('5_renewed', '6_churn'))._fc_rate_closing_period()
        return result

    def _fc_invoice_period(self, charge_line):
        """Return (first day, day after the last) of the period Enterprise invoices next
        for the usage line ``charge_line`` (or, before the line exists, for a postpaid
        line of this subscription), as Enterprise's _get_invoice_line_parameters does."""
        self.ensure_one()
        if charge_line:
            period_start, period_last_day = charge_line._get_invoice_line_parameters()[:2]
            return period_start, period_last_day + relativedelta(days=1)
        period_start = self.last_invoice_date or self.start_date
        if not period_start or not self.plan_id.billing_period:
            return None, None
        period_end = period_start + self.plan_id.billing_period
        if self.end_date:
            period_end = min(period_end, self.end_date)
        return period_start, period_end

    def _fc_rate_closing_period(self):
        """Rate the period Enterprise invoices next onto the usage lines of these
        subscriptions, in bulk: one aggregation query per charge and period."""
        subscriptions = self.filtered(lambda order: order.is_subscription and order.state == 'sale'
                                      and order.subscription_state in INVOICEABLE_STATES)
        if not subscriptions:
            return
        subscriptions = subscriptions - subscriptions._fc_with_draft_invoice()
        charges = self.env['fusion.billing.charge'].sudo().search([('plan_id', 'in', subscriptions.plan_id.ids)])
        if not charges:
            return
        lines = {(line.fusion_charge_id, line.order_id): line for line in self.env['sale.order.line'].sudo().search(
            [('order_id', 'in', subscriptions.ids), ('fusion_charge_id', 'in', charges.ids)])}
        to_rate = defaultdict(list)
        for subscription in subscriptions:
            for charge in charges:
                if (charge.plan_id, charge.company_id, charge.currency_id) != (
                        subscription.plan_id, subscription.company_id, subscription.currency_id):
                    continue
                period_start, period_end = subscription._fc_invoice_period(lines.get((charge, subscription)))
                if period_start and period_end and period_start < period_end:
                    to_rate[charge, period_start, period_end].append(subscription.id)
        for (charge, period_start, period_end), subscription_ids in to_rate.items():
            self.sudo().browse(subscription_ids)._fc_rate_usage(
                charge, engine.midnight_utc(period_start), engine.midnight_utc(period_end))

    def _fc_with_draft_invoice(self):
        """The subscriptions of ``self`` that have a draft customer invoice or credit note."""
        draft_lines = self.env['account.move.line'].sudo().search([
            ('subscription_id', 'in', self.ids),
            ('move_id.state', '=', 'draft'),
            ('move_id.move_type', 'in', ('out_invoice', 'out_refund')),
        ])
        return draft_lines.subscription_id
