import json
from datetime import timedelta

from odoo import api, fields, models
from odoo.sql_db import Cursor
from odoo.tools import SQL

# API activity is kept this long; the daily cleanup deletes older ones.
RETENTION_DAYS = 30
# Problems kept per bucket, to show what was wrong.
PROBLEMS_KEPT = 5


class FusionBillingApiActivity(models.Model):
    """Usage API requests counted per service, hour, HTTP status and error code: those
    accepted (with their events) and those refused (400, 401, 403, 413, 415, with the
    message and first problems of the latest one; without a valid key, the start of the
    key presented). One row per bucket whatever the number of requests, so a client that
    keeps sending bad requests cannot grow the table; rows older than the retention are
    deleted daily."""

    _name = 'fusion.billing.api.activity'
    _description = 'Fusion Billing API Activity'
    _order = 'last_at desc, id desc'

    service_id = fields.Many2one('fusion.billing.service', ondelete='cascade', index=True, readonly=True,
                                 help="Empty when the request had no valid API key.")
    key_hint = fields.Char(string="Key Shown", readonly=True,
                           help="The start of the key the latest request without a valid key presented.")
    hour = fields.Datetime(required=True, readonly=True)
    status = fields.Integer(string="HTTP Status", required=True, readonly=True)
    code = fields.Char(string="Error Code", required=True, readonly=True)
    count = fields.Integer(string="Requests", required=True, readonly=True, default=1)
    events = fields.Integer(string="Events Accepted", readonly=True)
    refused = fields.Boolean(compute='_compute_refused', search='_search_refused')
    last_at = fields.Datetime(string="Latest", required=True, readonly=True)
    last_message = fields.Char(readonly=True)
    last_problems = fields.Text(readonly=True, help="The first problems of the latest refused request.")
    company_id = fields.Many2one(related='service_id.company_id', store=True, index=True)

    _hourly_bucket = models.UniqueIndex("(COALESCE(service_id, 0), hour, status, code)")

    @api.depends('status')
    def _compute_refused(self):
        for activity in self:
            activity.refused = activity.status >= 400

    def _search_refused(self, operator, value):
        if operator not in ('in', 'not in'):
            return NotImplemented
        positive = (operator == 'in') == (True in value)
        return [('status', '>=' if positive else '<', 400)]

    @api.model
    def _log(self, service, status, code, message='', problems=(), key_hint=None, events=0):
        """Count one request in its hourly bucket, in a short transaction of its own at
        READ COMMITTED: concurrent requests wait on the bucket's row for an instant instead
        of failing the request's own transaction, and the count survives a request that
        is rolled back. (Under test, the test's transaction is used.)"""
        with self.env.registry.cursor() as cr:
            if isinstance(cr, Cursor):
                cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            self._log_in(cr, service, status, code, message, problems, key_hint, events)

    @api.model
    def _log_in(self, cr, service, status, code, message, problems, key_hint, events):
        now = fields.Datetime.now()
        kept = [problem if isinstance(problem, dict) else problem.as_dict() for problem in problems][:PROBLEMS_KEPT]
        cr.execute(SQL(
            """INSERT INTO fusion_billing_api_activity
                      (service_id, key_hint, hour, status, code, count, events, last_at, last_message,
                       last_problems, company_id, create_uid, create_date, write_uid, write_date)
               VALUES (%(service)s, %(hint)s, date_trunc('hour', %(now)s::timestamp), %(status)s, %(code)s, 1,
                       %(events)s, %(now)s, %(message)s, %(problems)s, %(company)s, %(uid)s, %(now)s, %(uid)s,
                       %(now)s)
          ON CONFLICT (COALESCE(service_id, 0), hour, status, code) DO UPDATE
                  SET count = fusion_billing_api_activity.count + 1,
                      key_hint = COALESCE(EXCLUDED.key_hint, fusion_billing_api_activity.key_hint),
                      events = fusion_billing_api_activity.events + EXCLUDED.events,
                      last_at = EXCLUDED.last_at,
                      last_message = EXCLUDED.last_message,
                      last_problems = EXCLUDED.last_problems,
                      write_date = EXCLUDED.write_date""",
            service=service.id or None, hint=key_hint, now=now, status=status, code=code, events=events,
            message=(message or '')[:200] or None,
            problems=json.dumps(kept, ensure_ascii=False, indent=1) if kept else None,
            company=service.company_id.id or None, uid=self.env.uid))

    @api.model
    def _cron_vacuum(self):
        """Daily: forget the activity older than the retention."""
        self.env.execute_query(SQL("DELETE FROM fusion_billing_api_activity WHERE hour < %s",
                                   fields.Datetime.now() - timedelta(days=RETENTION_DAYS)))
