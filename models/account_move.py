from odoo import fields, models

from ..engine.const import EVENT_PAYMENT_SUCCEEDED


class AccountMove(models.Model):
    _inherit = 'account.move'

    def _post(self, soft=True):
        # At posting, not at creation: a failed automatic payment deletes the draft invoice
        # and a pending token payment leaves it draft; only a posted invoice has billed.
        Ledger = self.env['fusion.billing.reconciliation'].sudo()
        # The ledger reads billing fields of the invoice lines, whoever posts.
        rows_to_post = Ledger._rows_to_post(self.sudo())
        posted = super()._post(soft=soft)
        subscription_moves = posted.filtered(lambda move: move.move_type in ('out_invoice', 'out_refund')
                                             and move.invoice_line_ids.subscription_id)
        if subscription_moves:
            Ledger._record_posted(subscription_moves.sudo(), rows_to_post)
        return posted

    def button_cancel(self):
        # An invoice reset to draft and then cancelled has billed nothing: its periods go
        # back to the usage lines' windows, for the next invoice. A cancelled credit note
        # credits nothing: its periods are billed again.
        result = super().button_cancel()
        cancelled = self.filtered(
            lambda move: move.state == 'cancel' and move.move_type in ('out_invoice', 'out_refund'))
        if cancelled:
            self.env['fusion.billing.reconciliation'].sudo()._forget_cancelled(cancelled.sudo())
        return result

    def _invoice_paid_hook(self):
        # Odoo calls this when an invoice becomes paid or in payment through a
        # reconciliation, whatever paid it (a payment transaction, a registered payment, a
        # bank statement).
        result = super()._invoice_paid_hook()
        self._fc_notify_paid()
        return result

    def write(self, vals):
        # A payment without an outstanding account marks the invoice in payment by
        # matching it, without a reconciliation (Enterprise watches the same write).
        result = super().write(vals)
        if 'matched_payment_ids' in vals:
            self.filtered(lambda move: move.payment_state in ('paid', 'in_payment'))._fc_notify_paid()
        return result

    def _fc_notify_paid(self):
        """invoice.payment_succeeded for each subscription of these customer invoices, once
        per invoice and subscription (one invoice may cover several subscriptions)."""
        for invoice in self.filtered(lambda move: move.move_type == 'out_invoice'):
            for subscription in invoice.invoice_line_ids.subscription_id:
                subscription._fc_notify(EVENT_PAYMENT_SUCCEEDED, {
                    **subscription._fc_event_subject(), **invoice._fc_event_invoice(),
                }, event_key=f'{EVENT_PAYMENT_SUCCEEDED}:account.move:{invoice.id}:sale.order:{subscription.id}')

    def _fc_event_invoice(self):
        """The facts of this invoice that payment events carry."""
        self.ensure_one()
        return {
            'invoice_id': self.id,
            'invoice_number': self.name,
            'amount_total': f"{self.amount_total:.{self.currency_id.decimal_places}f}",
            'amount_residual': f"{self.amount_residual:.{self.currency_id.decimal_places}f}",
            'currency': self.currency_id.name,
            'invoice_date': fields.Date.to_string(self.invoice_date) if self.invoice_date else None,
        }
