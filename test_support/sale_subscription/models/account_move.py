from dateutil.relativedelta import relativedelta

from odoo import fields, models

from .sale_order import SUBSCRIPTION_PROGRESS_STATE


class AccountMove(models.Model):
    _inherit = 'account.move'

    def write(self, vals):
        result = super().write(vals)
        if 'matched_payment_ids' in vals:
            for move in self.filtered_domain([('payment_state', 'in', ['paid', 'in_payment'])]):
                move._reopen_paid_churned_subscription()
        return result

    def _post(self, soft=True):
        posted = super()._post(soft=soft)
        subscriptions = self.env['sale.order']
        for move in posted:
            if not move.invoice_line_ids.subscription_id:
                continue
            if move.move_type != 'out_invoice':
                if move.move_type == 'out_refund':
                    for subscription in move.invoice_line_ids.subscription_id:
                        subscription.message_post(body=self.env._(
                            "The refund %s has been made on this contract. "
                            "Please check the next invoice date if necessary.", move.name))
                continue
            for line in move.invoice_line_ids:
                if not line.subscription_id or line.is_downpayment:
                    continue
                upsells = line.sale_line_ids.order_id.filtered(lambda so: so.subscription_state == '7_upsell')
                subscriptions |= line.subscription_id - upsells.subscription_id

        for subscription in subscriptions:
            if subscription.subscription_state in SUBSCRIPTION_PROGRESS_STATE + ['6_churn']:
                last_end = subscription.invoice_ids.invoice_line_ids.filtered(
                    lambda line: line.subscription_id == subscription)._get_max_invoiced_date()
                subscription.next_invoice_date = last_end + relativedelta(days=1) if last_end \
                    else subscription.start_date
                if subscription.order_line._is_all_postpaid():
                    subscription.next_invoice_date += subscription.plan_id.billing_period
                subscription.last_reminder_date = False
            subscription.pending_transaction = False
            if subscription.user_pause_start:
                subscription.user_pause_start = False
        if not self.env.context.get('recurring_automatic'):
            subscriptions._post_invoice_hook()
        return posted

    def _reopen_paid_churned_subscription(self):
        for order in self.line_ids.subscription_id:
            cutoff = fields.Date.today() - relativedelta(days=order.plan_id.auto_close_limit)
            if order.subscription_state == '6_churn' and order.next_invoice_date >= cutoff:
                order.set_open()
