from odoo import fields, models


class ResCompany(models.Model):
    # In Enterprise these settings come from account_accountant, a dependency of
    # sale_subscription; the invoicing cron refuses to run without them.
    _inherit = 'res.company'

    deferred_revenue_account_id = fields.Many2one('account.account')
    deferred_revenue_journal_id = fields.Many2one('account.journal', string="Deferred Entries Journal")
