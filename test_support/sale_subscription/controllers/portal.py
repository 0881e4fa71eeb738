from odoo import http
from odoo.exceptions import AccessError, MissingError
from odoo.http import request

from odoo.addons.portal.controllers.portal import CustomerPortal


class SubscriptionPortal(CustomerPortal):
    """Enterprise's portal page of a subscription, its routes and its access check; the
    page itself is reduced to what add-ons extend (see the template)."""

    def _get_subscription(self, access_token, order_id):
        try:
            order_sudo = self._document_check_access('sale.order', order_id, access_token)
        except (AccessError, MissingError):
            return None, request.redirect('/my')
        return order_sudo, None

    @http.route(['/my/subscriptions/<int:order_id>', '/my/subscriptions/<int:order_id>/<access_token>',
                 '/my/subscription/<int:order_id>', '/my/subscription/<int:order_id>/<access_token>'],
                type='http', auth='public', website=True)
    def subscription(self, order_id, access_token=None, **kw):
        order_sudo, redirection = self._get_subscription(access_token, order_id)
        if redirection:
            return redirection
        values = {
            'page_name': 'subscription',
            'sale_order': order_sudo,
            'report_type': 'html',
            'next_billing_details': order_sudo._next_billing_details(),
        }
        values = self._get_page_view_values(order_sudo, access_token, values, 'my_subscriptions_history', False)
        return request.render('sale_subscription.subscription_portal_template', values)
