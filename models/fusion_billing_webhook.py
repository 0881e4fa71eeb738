import calendar
import logging
import uuid
from datetime import timedelta

import requests
from psycopg2 import IntegrityError

from odoo import api, fields, models, modules
from odoo.tools import SQL, str2bool

from .. import engine
from ..const import ALLOW_PRIVATE_PARAMETER
from ..engine.const import EVENT_TYPES, EVENT_WEBHOOK_TEST
from ..webhook_client import post_webhook

_logger = logging.getLogger(__name__)

WEBHOOK_STATES = [('pending', "Pending"), ('sent', "Sent"), ('failed', "Failed"), ('dead', "Dead")]


class FusionBillingWebhook(models.Model):
    """An event queued for a service's webhook URL, with its delivery history."""

    _name = 'fusion.billing.webhook'
    _description = 'Fusion Billing Webhook Event'
    _order = 'create_date desc, id desc'
    _rec_name = 'event_id'

    service_id = fields.Many2one('fusion.billing.service', required=True, ondelete='cascade', index=True,
                                 readonly=True)
    event_type = fields.Selection([(code, code) for code in EVENT_TYPES] + [(EVENT_WEBHOOK_TEST, EVENT_WEBHOOK_TEST)],
                                  required=True, readonly=True)
    event_id = fields.Char(required=True, readonly=True, copy=False, default=lambda self: str(uuid.uuid4()),
                           help="Sent as X-Fusion-Event-Id.")
    event_key = fields.Char(required=True, readonly=True, copy=False,
                            help="The cause of the event: one cause never queues the same event twice.")
    payload = fields.Json(readonly=True)
    body = fields.Text(readonly=True, help="The exact bytes that were signed and are sent, as text.")
    signature = fields.Char(readonly=True)
    state = fields.Selection(WEBHOOK_STATES, required=True, default='pending', index=True, readonly=True)
    attempts = fields.Integer(readonly=True)
    next_retry_at = fields.Datetime(readonly=True, index=True)
    last_error = fields.Text(readonly=True)
    response_status = fields.Integer(readonly=True)
    sent_at = fields.Datetime(readonly=True)
    company_id = fields.Many2one(related='service_id.company_id', store=True, index=True)
    subscription_id = fields.Many2one('sale.order', ondelete='set null',
                                      index='btree_not_null', readonly=True,
                                      help="The subscription the event is about, when it is about one.")

    _event_key_unique = models.Constraint('UNIQUE(service_id, event_key)',
                                          "This event was already queued for this service.")
    _event_id_unique = models.Constraint('UNIQUE(event_id)', "Event ids are unique.")

    # ------------------------------------------------------------------
    # Queue
    # ------------------------------------------------------------------

    @api.model
    def _subscription_of(self, data):
        """The id of the subscription an event's ``data`` is about, if it still exists."""
        subscription_id = data.get('subscription_id') if isinstance(data, dict) else None
        if not isinstance(subscription_id, int):
            return False
        return self.env['sale.order'].sudo().browse(subscription_id).exists().id

    @api.model
    def _enqueue(self, service, event_type, data, event_key):
        """Queue one event for ``service``, in the current transaction, as superuser.

        The body is built and signed once, here: every attempt sends these exact bytes.
        Returns the new event, or an empty recordset when ``event_key`` was already
        queued for the service (one cause, one event).
        """
        service = service.sudo()
        Webhook = self.sudo()
        if Webhook.search_count([('service_id', '=', service.id), ('event_key', '=', event_key)], limit=1):
            return Webhook.browse()
        event_id = str(uuid.uuid4())
        body = engine.build_event_body(event_id, event_type, fields.Datetime.now(), data)
        try:
            with self.env.cr.savepoint():
                return Webhook.create({
                    'service_id': service.id,
                    'event_type': event_type,
                    'event_id': event_id,
                    'event_key': event_key,
                    'payload': data,
                    'subscription_id': self._subscription_of(data),
                    'body': body,
                    'signature': engine.sign_body(service.webhook_secret, body),
                })
        except IntegrityError:
            # Queued by a concurrent transaction in the meantime.
            return Webhook.browse()

    # ------------------------------------------------------------------
    # Delivery
    # ------------------------------------------------------------------

    @api.model
    def _cron_dispatch(self):
        """Every minute: deliver the due events, one per transaction.

        Each event is claimed with FOR UPDATE SKIP LOCKED, so two workers never send the
        same event, and the delivery is committed at once, so a crash never sends again
        what was sent. (A commit releases every lock: claiming a batch and committing in
        the middle of it would free the rest of the batch for another worker.)
        """
        auto_commit = not modules.module.current_test
        if auto_commit:
            # Each claim opens its own transaction (see _claim_due_event).
            self.env['ir.cron']._commit_progress()
        delivered = self.browse()
        while event := self._claim_due_event(exclude=delivered, new_transaction=auto_commit):
            event._deliver()
            delivered |= event
            if auto_commit and not self.env['ir.cron']._commit_progress(processed=1):
                break
        return delivered

    @api.model
    def _claim_due_event(self, exclude=(), new_transaction=False):
        """Lock and return one due event (pending, or failed and due for a retry).

        ``new_transaction``: the claim is the first statement of its transaction, which
        then runs in READ COMMITTED. Under Odoo's REPEATABLE READ, an event another worker
        sent after this transaction's snapshot would make the lock fail with a
        serialization error instead of being skipped.
        """
        if new_transaction:
            self.env.cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        self.flush_model(['state', 'next_retry_at'])
        rows = self.env.execute_query(SQL(
            """SELECT id FROM fusion_billing_webhook
                WHERE (state = 'pending' OR (state = 'failed' AND next_retry_at <= %(now)s))
                  AND id NOT IN %(exclude)s
             ORDER BY COALESCE(next_retry_at, create_date), id
                LIMIT 1
                  FOR UPDATE SKIP LOCKED""",
            now=fields.Datetime.now(), exclude=tuple(exclude.ids if exclude else ()) or (0,),
        ))
        return self.browse(rows[0][0]) if rows else self.browse()

    def _deliver(self):
        """Send this event once and record the outcome: sent, failed with its next retry, or dead."""
        self.ensure_one()
        event = self.sudo()
        service = event.service_id
        attempt = event.attempts + 1
        now = fields.Datetime.now()
        status, retry_after, error = None, None, False
        if not service.active or not service.webhook_url or not service.webhook_secret:
            error = "The service has no active webhook URL and secret."
        else:
            headers = engine.delivery_headers(event.event_id, event.event_type, event.body, service.webhook_secret,
                                              attempt, calendar.timegm(now.timetuple()))
            try:
                response = post_webhook(service.webhook_url, event.body.encode('utf-8'), headers,
                                        allow_private=self._allow_private_urls(),
                                        resolver=self.env['fusion.billing.service']._resolver())
                status = response.status
                retry_after = engine.parse_retry_after(response.retry_after, now) if status in (429, 503) else None
                if not 200 <= status < 300:
                    error = f"HTTP {status}: {response.body[:500].decode('utf-8', 'replace')}"
            except engine.UnsafeWebhookUrl as refusal:
                error = str(refusal)
            except requests.Timeout:
                error = "The receiver did not answer in time."
            except requests.RequestException as failure:
                # The exception text may carry the URL, which may carry a token.
                error = f"The connection failed ({type(failure).__name__})."
        outcome = engine.delivery_outcome(status, attempt)
        values = {'attempts': attempt, 'response_status': status or 0, 'state': outcome}
        if outcome == 'sent':
            values.update(sent_at=now, next_retry_at=False, last_error=False)
        else:
            values['last_error'] = error
            values['next_retry_at'] = now + engine.retry_delay(attempt, retry_after) if outcome == 'failed' else False
            _logger.info("Fusion Billing: webhook %s to service %s: attempt %s %s (%s)",
                         event.event_id, service.code, attempt, outcome, error)
        event.write(values)

    @api.model
    def _allow_private_urls(self):
        """True when development lets webhooks go to http and private addresses."""
        return str2bool(self.env['ir.config_parameter'].sudo().get_param(ALLOW_PRIVATE_PARAMETER, 'False'))

    # ------------------------------------------------------------------
    # Admin actions
    # ------------------------------------------------------------------

    def action_retry_now(self):
        """Button: make failed events due now."""
        self.env['fusion.billing.service']._ensure_manager(
            self.env._("Only Fusion Billing managers can retry webhook events."))
        self.filtered(lambda event: event.state == 'failed').sudo().write({'next_retry_at': fields.Datetime.now()})

    def action_requeue(self):
        """Button: give dead events a fresh round of attempts."""
        self.env['fusion.billing.service']._ensure_manager(
            self.env._("Only Fusion Billing managers can requeue webhook events."))
        self.filtered(lambda event: event.state == 'dead').sudo().write({
            'state': 'pending', 'attempts': 0, 'next_retry_at': False})

    @api.autovacuum
    def _gc_delivered_events(self):
        """Forget delivered events after 90 days."""
        self.sudo().search([('state', '=', 'sent'), ('sent_at', '<', fields.Datetime.now() - timedelta(days=90))],
                           limit=10000).unlink()
