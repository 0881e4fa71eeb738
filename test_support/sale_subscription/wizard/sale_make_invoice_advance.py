from odoo import models


class SaleAdvancePaymentInv(models.TransientModel):
    _inherit = 'sale.advance.payment.inv'

    def _create_invoices(self, sale_orders):
        """Manual invoicing of delivered quantities, as Enterprise does it: close ended
        contracts, set the prepaid quantities of the invoiceable lines, invoice, send."""
        if self.advance_payment_method != 'delivered':
            return super()._create_invoices(sale_orders)
        subscriptions = sale_orders.filtered('is_subscription')
        if subscriptions:
            subscriptions.filtered_domain([('end_date', '!=', False)])._subscription_auto_close()
            subscriptions._get_invoiceable_lines()._reset_subscription_qty_to_invoice()
        invoices = super()._create_invoices(sale_orders)
        if subscriptions:
            subscriptions._process_invoices_to_send(invoices)
        return invoices
