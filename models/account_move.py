from odoo import fields, models


class AccountMove(models.Model):
    _inherit = 'account.move'

    def _post(self, soft=True):
        # At posting, not at creation: a failed automatic payment deletes the draft invoice
        # and a pending token payment leaves it draft; only a posted invoice has billed.
        Ledger = self.env['fusion.billing.reconciliation'].sudo()
        rows_to_post = Ledger._fc_rows_to_post(self)
        posted = super()._post(soft=soft)
        subscription_moves = posted.filtered(lambda move: move.move_type in ('out_invoice', 'out_refund')
                                             and move.invoice_line_ids.subscription_id)
        if subscription_moves:
            Ledger._fc_record_posted(subscription_moves, rows_to_post)
        return posted

    def button_cancel(self):
        # An invoice reset to draft and then cancelled has billed nothing: its periods go
        # back to the usage lines' windows, for the next invoice. A cancelled credit note
        # credits nothing: its periods are billed again.
        result = super().button_cancel()
        cancelled = self.filtered(lambda move: move.state == 'cancel' and move.move_type in ('out_invoice', 'out_refund'))
        if cancelled:
            self.env['fusion.billing.reconciliation'].sudo()._fc_forget_cancelled(cancelled)
        return result

    def _compute_payment_state(self):
        # The payment state is computed, never written: compare what is stored with what
        # the computation gives, whatever marked the invoice paid (a payment transaction,
        # a manual reconciliation, a bank statement).
        stored = {}
        if self.ids:
            self.env.cr.execute("SELECT id, payment_state FROM account_move WHERE id IN %s", [tuple(self.ids)])
            stored = dict(self.env.cr.fetchall())
        result = super()._compute_payment_state()
        paid = self.filtered(lambda move: move.id and move.move_type == 'out_invoice'
                             and move.payment_state in ('paid', 'in_payment')
                             and stored.get(move.id) not in ('paid', 'in_payment'))
        for invoice in paid:
            for subscription in invoice.invoice_line_ids.subscription_id:
                subscription._fc_notify('invoice.payment_succeeded', {
                    **subscription._fc_event_subject(), **invoice._fc_event_invoice(),
                }, event_key=f'invoice.payment_succeeded:account.move:{invoice.id}')
        return result

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
