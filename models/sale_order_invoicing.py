from odoo import models

from odoo.addons.sale_subscription.models.sale_order import SUBSCRIPTION_CLOSED_STATE


class SaleOrder(models.Model):
    """Where Enterprise's invoicing meets the rating: the usage lines hold their whole
    window when Enterprise collects them, and only invoicing paths write them."""

    _inherit = 'sale.order'  # pylint: disable=consider-merging-classes-inherited

    def _recurring_invoice_get_subscriptions(self, grouped=False, batch_size=30):
        # The invoicing cron's batch, before Enterprise collects its invoiceable lines: a
        # postpaid line is collected only if its delivered quantity is not 0, and the next
        # invoice date moves on when nothing is collected, so the windows are rated now.
        # A subscription whose usage cannot be rated leaves the batch untouched (its next
        # invoice date stays) and is retried on the next run, as Enterprise does with a
        # failed payment; an activity says why. Rating is not done in
        # _get_invoiceable_lines: Enterprise also calls it from read paths (portal,
        # payment links, reminder mails), which must not write.
        subscriptions, need_cron_trigger = super()._recurring_invoice_get_subscriptions(
            grouped=grouped, batch_size=batch_size)
        # With invoice consolidation the batch is a list of groups, each invoiced at once.
        groups = subscriptions if isinstance(subscriptions, list) else None
        batch = self.concat(*groups) if groups is not None else subscriptions
        failed = batch._fc_rate_for_invoicing()
        if not failed:
            return subscriptions, need_cron_trigger
        failed.write({'is_batch': True})
        if groups is None:
            return subscriptions - failed, need_cron_trigger
        return [group - failed for group in groups if group - failed], need_cron_trigger

    def _create_invoices(self, grouped=False, final=False, date=None):
        # Every invoice of a subscription is created here (cron and manual invoicing):
        # never with stale usage. A subscription whose usage cannot be rated is refused,
        # which Enterprise's cron records as a failed subscription and retries.
        self._fc_rate_for_invoicing(raise_errors=True)
        return super()._create_invoices(grouped=grouped, final=final, date=date)

    def set_close(self, close_reason_id=None, renew=False):
        if renew:
            # A renewal locks the old contract: its last period goes on the lines first.
            self._fc_rate_for_invoicing()
        result = super().set_close(close_reason_id=close_reason_id, renew=renew)
        closed = self.filtered(lambda order: order.subscription_state in SUBSCRIPTION_CLOSED_STATE)
        if not renew:
            # The usage up to the end date goes on the lines, ready for the final invoice;
            # an empty closing window brings them to 0.
            closed._fc_rate_for_invoicing()
        # Once closed, usage after the end date can no longer be billed: it is late.
        self.env['fusion.billing.reconciliation'].sudo()._update_late_usage_of(closed)
        return result

    def set_open(self):
        result = super().set_open()
        self.env['fusion.billing.reconciliation'].sudo()._update_late_usage_of(self)
        return result

    def _fc_rate_for_invoicing(self, raise_errors=False):
        """Rate the usage windows of these subscriptions onto their lines. Returns the
        subscriptions that could not be rated, each given an activity saying why (with
        ``raise_errors``, a UserError instead)."""
        subscriptions = self.filtered('is_subscription')
        if not subscriptions:
            return self.browse()
        Rating = self.env['fusion.billing.rating']
        _ratings, problems = Rating._rate_subscriptions(subscriptions, raise_errors=raise_errors)
        for subscription_id, problem in problems.items():
            Rating._report_problem(self.browse(subscription_id), problem)
        return self.browse(list(problems))
