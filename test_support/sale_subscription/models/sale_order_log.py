from odoo import api, fields, models

LOG_EVENT_TYPES = [
    ('0_creation', 'New'),
    ('1_expansion', 'Expansion'),
    ('15_contraction', 'Contraction'),
    ('2_churn', 'Churn'),
    ('3_transfer', 'Transfer'),
]


class SaleOrderLog(models.Model):
    _name = 'sale.order.log'
    _description = 'Subscription MRR Log'
    _order = 'event_date desc, id desc'

    order_id = fields.Many2one('sale.order', required=True, ondelete='cascade', index=True)
    event_type = fields.Selection(LOG_EVENT_TYPES, required=True)
    event_date = fields.Date(required=True, default=fields.Date.context_today)
    recurring_monthly = fields.Monetary(string="New MRR", required=True)
    amount_signed = fields.Monetary(string="MRR change")
    currency_id = fields.Many2one('res.currency', required=True)
    company_id = fields.Many2one('res.company', required=True)

    @api.model
    def _create_log(self, order, initial_values):
        """Log a change of the subscription's MRR or a start or end of the subscription."""
        old_state = initial_values.get('subscription_state', order.subscription_state)
        old_mrr = initial_values.get('recurring_monthly', order.recurring_monthly)
        new_mrr = order.recurring_monthly if order.subscription_state in ('3_progress', '4_paused') else 0
        currency = order.currency_id
        if old_state not in ('3_progress', '4_paused') and order.subscription_state == '3_progress':
            event_type, amount = '0_creation', new_mrr
        elif old_state in ('3_progress', '4_paused') and order.subscription_state in ('5_renewed', '6_churn'):
            event_type, amount = '2_churn', -old_mrr
        elif (order.subscription_state in ('3_progress', '4_paused')
              and currency.compare_amounts(old_mrr, new_mrr) != 0 and 'recurring_monthly' in initial_values):
            amount = new_mrr - old_mrr
            event_type = '1_expansion' if amount > 0 else '15_contraction'
        else:
            return self.browse()
        return self.sudo().create({
            'order_id': order.id,
            'event_type': event_type,
            'recurring_monthly': new_mrr,
            'amount_signed': amount,
            'currency_id': currency.id,
            'company_id': order.company_id.id,
        })
