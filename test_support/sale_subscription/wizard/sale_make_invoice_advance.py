from odoo import models


class SaleAdvancePaymentInv(models.TransientModel):
    _inherit = 'sale.advance.payment.inv'

    def _create_invoices(self, sale_orders):
        """Manual invoicing: close ended contracts and set prepaid quantities first, as Enterprise does."""
        if self.advance_payment_method != 'delivered':
            return super()._create_invoices(sale_orders)
        subscriptions = sale_orders.filtered('is_subscription')
        closed = subscriptions.filtered('end_date')._subscription_auto_close()
        sale_orders.order_line._reset_subscription_qty_to_invoice()
        invoices = super()._create_invoices(sale_orders - closed if closed != sale_orders else sale_orders)
        sale_orders._process_invoices_to_send(invoices)
        return invoices
