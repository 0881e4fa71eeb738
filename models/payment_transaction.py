from odoo import models


class PaymentTransaction(models.Model):
    _inherit = 'payment.transaction'

    def _cancel_draft_invoices(self):
        # A token payment left pending by the invoicing cron that fails later: Enterprise
        # cancels the draft invoice here, without its payment failure handler.
        draft_invoices = self.sale_order_ids.filtered('is_subscription').order_line.invoice_lines.move_id.filtered(
            lambda move: move.state == 'draft')
        for invoice in draft_invoices:
            (invoice.invoice_line_ids.subscription_id & self.sale_order_ids)._fc_notify_payment_failed(
                invoice._fc_event_invoice(), self.reference, self.state_message or None)
        return super()._cancel_draft_invoices()
