from odoo import api, fields, models


class PaymentTransaction(models.Model):
    _inherit = 'payment.transaction'

    renewal_state = fields.Selection(
        [('draft', 'Draft'), ('pending', 'Pending'), ('authorized', 'Authorized'), ('cancel', 'Refused')],
        compute='_compute_renewal_state')
    subscription_action = fields.Selection([
        ('automatic_send_mail', 'Send Mail (automatic payment)'),
        ('manual_send_mail', 'Send Mail (manual payment)'),
        ('assign_token', 'Assign Token'),
    ])

    @api.depends('state')
    def _compute_renewal_state(self):
        for transaction in self:
            if transaction.state in ('draft', 'pending'):
                transaction.renewal_state = transaction.state
            elif transaction.state in ('done', 'authorized'):
                transaction.renewal_state = 'authorized'
            else:
                transaction.renewal_state = 'cancel'

    def _post_process(self):
        # As Enterprise: the invoicing cron handles its own transactions.
        process_transactions = self.filtered(lambda tx: not any(tx.sale_order_ids.mapped('is_invoice_cron')))
        result = super(PaymentTransaction, process_transactions)._post_process()
        for transaction in process_transactions.filtered(lambda tx: tx.state in ('error', 'cancel')):
            transaction._handle_unsuccessful_transaction()
        process_transactions._post_subscription_action()
        return result

    def _handle_unsuccessful_transaction(self):
        """A payment that failed after the cron left it pending: the draft invoice goes."""
        for transaction in self:
            subscriptions = transaction.sale_order_ids.filtered('is_subscription')
            if subscriptions:
                subscriptions.filtered(lambda order: not order.is_invoice_cron).pending_transaction = False
                transaction._cancel_draft_invoices()

    def _cancel_draft_invoices(self):
        self.ensure_one()
        draft_invoices = self.sale_order_ids.filtered('is_subscription').order_line.invoice_lines.move_id.filtered(
            lambda move: move.state == 'draft')
        if draft_invoices:
            draft_invoices.button_cancel()

    def _post_subscription_action(self):
        """After a successful payment: the subscription is (re)opened and told, as Enterprise does."""
        for transaction in self.filtered(lambda tx: tx.renewal_state == 'authorized'):
            subscriptions = transaction.sale_order_ids.filtered('is_subscription')
            if not subscriptions:
                continue
            subscriptions.pending_transaction = False
            if transaction.subscription_action == 'assign_token' and transaction.token_id:
                subscriptions.payment_token_id = transaction.token_id
            subscriptions.set_open()
            for subscription in subscriptions:
                subscription._subscription_post_success_payment(
                    transaction, transaction.invoice_ids,
                    automatic=transaction.subscription_action == 'automatic_send_mail')
