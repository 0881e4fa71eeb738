from odoo import Command
from odoo.tests import HttpCase, freeze_time, new_test_user, tagged

from .common import FusionBillingCase, utc


@tagged('post_install', '-at_install')
@freeze_time('2026-11-20 10:00:00')
class TestPortalUsage(FusionBillingCase, HttpCase):
    """The customer's portal page of a subscription shows its usage, and only to it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer_user = new_test_user(cls.env, login='acme_portal', groups='base.group_portal',
                                          partner_id=cls.customer.id, password='acme_portal_pw')
        cls.other_customer = cls.env['res.partner'].create({'name': 'Globex'})
        cls.other_user = new_test_user(cls.env, login='globex_portal', groups='base.group_portal',
                                       partner_id=cls.other_customer.id, password='globex_portal_pw')
        cls._record_class_usage()

    @classmethod
    def _record_class_usage(cls):
        cls.env['fusion.billing.usage']._record_usage(cls.subscription, 'api_calls', 1500,
                                                      utc(2026, 11, 3), utc(2026, 11, 4), 'p1')

    def _page(self, login=None, password=None, token=None):
        if login:
            self.authenticate(login, password)
        url = f'/my/subscriptions/{self.subscription.id}'
        if token:
            url += f'?access_token={token}'
        return self.url_open(url)

    def test_the_customer_sees_the_usage_of_the_period_and_the_next_invoice(self):
        response = self._page('acme_portal', 'acme_portal_pw')
        self.assertEqual(response.status_code, 200)
        page = response.text
        self.assertIn('Usage this period', page)
        self.assertIn('1,500', page)
        self.assertIn('18.75', page, "1,500 x 0.0125 so far")
        upcoming = self.env['fusion.billing.rating']._upcoming_invoice(self.subscription)
        self.assertIn(f"{upcoming['amount_total']:,.2f}", page, "the upcoming invoice total")

    def test_another_customer_sees_nothing_of_it(self):
        response = self._page('globex_portal', 'globex_portal_pw')
        self.assertNotIn('Usage this period', response.text)
        self.assertNotIn('18.75', response.text)
        self.assertNotIn(f'/my/subscriptions/{self.subscription.id}', response.url)

    def test_anonymous_visitors_need_the_access_token(self):
        self.assertNotIn('Usage this period', self._page().text)
        self.assertIn('Usage this period', self._page(token=self.subscription._portal_ensure_token()).text)

    def test_nothing_is_shown_without_usage_to_show(self):
        Order = self.env['sale.order']
        setup = self.env['product.product'].create({'name': 'Setup', 'type': 'service', 'list_price': 100})
        plain = Order.create({'partner_id': self.customer.id, 'order_line': [
            Command.create({'product_id': setup.id, 'product_uom_qty': 1})]})
        plain.action_confirm()
        quotation = self._create_subscription(self.customer, confirm=False)
        quiet = self._create_subscription(self.customer)
        self.assertIsNone(plain._fc_portal_usage(), "not a subscription")
        self.assertIsNone(quotation._fc_portal_usage(), "a quotation bills nothing yet")
        self.assertIsNotNone(quiet._fc_portal_usage(), "a running subscription shows its charges, even at zero")
        self.authenticate('acme_portal', 'acme_portal_pw')
        for order in (plain, quotation):
            with self.subTest(order=order.name):
                response = self.url_open(f'/my/subscriptions/{order.id}?access_token={order._portal_ensure_token()}')
                self.assertEqual(response.status_code, 200)
                self.assertNotIn('Usage this period', response.text)
