import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime

from odoo import api, models
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import SQL

from odoo.addons.sale_subscription.models.sale_order import SUBSCRIPTION_PROGRESS_STATE

from .. import engine
from ..sql_arrays import array_text

FORBIDDEN_MESSAGE = "Unknown subscription, or not one this service may report usage for."


def _as_timestamp(value):
    """A datetime (naive means UTC) or a date as the API's ISO 8601 text; text unchanged."""
    return value.isoformat() if isinstance(value, (date, datetime)) else value


class KeyConflicts(Exception):
    """Keys of a batch conflict with the rows stored under them: ``problems`` says how."""

    def __init__(self, problems):
        super().__init__(problems)
        self.problems = problems


@dataclass
class IngestionResult:
    """What became of a usage batch: ``status`` is 'ok' (``results`` per event),
    'validation_error' or 'forbidden' (``problems``; nothing was written)."""

    status: str
    results: list = field(default_factory=list)
    problems: list = field(default_factory=list)


class FusionBillingUsage(models.Model):
    _inherit = 'fusion.billing.usage'

    @api.model
    def _record_usage(self, subscription, metric_code, quantity, period_start, period_end, idem=None):
        """Store one usage counter as the API would; return the usage record.

        A counter re-sent with the same ``idem`` key for the same subscription and metric
        updates the stored quantity in place. The same key for another period is refused:
        a key names one counter, it is never moved.
        """
        return self._record_usage_with_result(subscription, metric_code, quantity, period_start, period_end,
                                              idem)[0]

    @api.model
    def _record_usage_with_result(self, subscription, metric_code, quantity, period_start, period_end,
                                  idem=None, service=None, now=None):
        """Like _record_usage; return (usage, result), result being created, updated or
        unchanged. The counter goes through the API's parsing and _record_usage_batch with
        the same checks, raising a ValidationError where the API answers 400. Given a
        ``service``, it is reported as that service (and refused with an AccessError
        where the API answers 403); without one it is recorded by the server itself, for
        any subscription the caller can read, with source "Manual". A period starting
        after ``now`` is refused as the API refuses it (the API always passes its clock;
        server-side callers may state past and future periods alike)."""
        subscription.ensure_one()
        subscription.check_access('read')
        service = service or self.env['fusion.billing.service']
        batch = engine.parse_usage_events([{
            'subscription_id': subscription.id, 'metric': metric_code, 'quantity': quantity,
            'period_start': _as_timestamp(period_start), 'period_end': _as_timestamp(period_end),
            'idempotency_key': idem,
        }], now)
        outcome = self._record_usage_batch(service, batch.events, batch.problems)
        if outcome.status == 'forbidden':
            if not service:
                raise ValidationError(self.env._("Usage can only be recorded on a subscription; %s is not one.",
                                                 subscription.display_name))
            raise AccessError(self.env._("%(service)s may not report usage for %(subscription)s.",
                                         service=service.display_name, subscription=subscription.display_name))
        if outcome.status != 'ok':
            raise ValidationError("\n".join(problem.message for problem in outcome.problems))
        return self.browse(outcome.results[0]['id']), outcome.results[0]['result']

    @api.model
    def _record_usage_batch(self, service, events, problems=()):
        """Store the usage ``events`` (engine.UsageEvent, already parsed) reported by
        ``service``: every event or none, with a constant number of SQL statements
        whatever the size of the batch. ``problems`` are those the parsing found in the
        other events of the request: the batch is refused, with the database's own
        findings on the valid events listed beside them.

        Refused with 'validation_error' for an unknown metric, a key already stored for
        another period or by another service, a quotation never confirmed or a period
        before the subscription's start; with 'forbidden' for a subscription that does
        not exist, is not a subscription or is not one of the service's customers (the
        same answer for the three). Otherwise each event is 'created', 'updated' (same
        key, new quantity) or 'unchanged' (same key, same quantity).
        """
        if service:
            service.ensure_one()
        problems = list(problems)
        if not events:
            return IngestionResult('validation_error', problems=problems) if problems else IngestionResult('ok')
        metric_ids = {metric.code: metric.id for metric in self.env['fusion.billing.metric'].search_fetch(
            [('code', 'in', list({event.metric for event in events}))], ['code'])}
        authorized = self._authorized_subscriptions(service, {event.subscription_id for event in events})
        routed = self._route_to_renewals(events, authorized)
        # A renewal is the service's too only if its customer still is.
        moved = {event.subscription_id for event, sent in zip(routed, events)
                 if event.subscription_id != sent.subscription_id}
        authorized |= self._authorized_subscriptions(service, moved)
        events = routed
        problems += self._same_key_twice_after_routing(events)
        problems += [engine.Problem(event.index, 'metric', f"There is no metric with the code {event.metric[:50]!r}.")
                     for event in events if event.metric not in metric_ids]
        # The database is asked only about the service's own subscriptions: an answer about
        # another customer's would tell that it exists.
        own = [event for event in events if event.subscription_id in authorized]
        problems += self._unbillable(own)
        forbidden = [engine.Problem(event.index, 'subscription_id', FORBIDDEN_MESSAGE)
                     for event in events if event.subscription_id not in authorized]
        if problems or forbidden:
            problems += self._key_conflicts(service, [event for event in own if event.metric in metric_ids],
                                               metric_ids)
            if problems:
                return IngestionResult('validation_error', problems=problems)
            return IngestionResult('forbidden', problems=forbidden)
        # A valid batch is checked against the stored keys by the statement that writes
        # it: a conflict undoes the write.
        try:
            with self.env.cr.savepoint():
                results = self._upsert_events(service, events, metric_ids)
        except KeyConflicts as conflicts:
            self.invalidate_model()
            return IngestionResult('validation_error', problems=conflicts.problems)
        stored_on = {event.index: event.subscription_id for event in events}
        changed = self.browse([usage_id for _index, usage_id, result in results if result != 'unchanged'])
        changed._flag_late_usage()
        self._notify_thresholds_crossed_by(service, events, metric_ids)
        return IngestionResult('ok', results=[{'index': index, 'id': usage_id, 'result': result,
                                               'subscription_id': stored_on[index]}
                                              for index, usage_id, result in results])

    @api.model
    def _notify_thresholds_crossed_by(self, service, events, metric_ids):
        """Alert thresholds crossed by this batch: one query per charge with a threshold."""
        companies = service.company_id or self.env['sale.order'].sudo().browse(
            {event.subscription_id for event in events}).company_id
        watched = self.env['fusion.billing.charge'].sudo().search([
            ('metric_id', 'in', list(set(metric_ids.values()))), ('alert_threshold', '>', 0),
            ('company_id', 'in', companies.ids)])
        for charge in watched:
            subscription_ids = {event.subscription_id for event in events
                                if metric_ids[event.metric] == charge.metric_id.id}
            on_plan = self.env['sale.order'].sudo().search([('id', 'in', list(subscription_ids)),
                                                            ('plan_id', '=', charge.plan_id.id)])
            Rating = self.env['fusion.billing.rating']
            windows = {key: window for key, window in Rating._usage_windows(on_plan).items()
                       if key[1] == charge.id and window.periods}
            ratings, _problems = Rating._rate_windows(windows)
            charge._notify_thresholds_crossed({subscription_id: rating.period_ratings[-1]
                                               for (subscription_id, _charge_id), rating in ratings.items()})

    @api.model
    def _same_key_twice_after_routing(self, events):
        """An event for a renewed contract and one for its renewal may end up as the same
        (subscription, metric, key): refused like any key sent twice in a batch."""
        first, problems = {}, []
        for event in events:
            if event.idempotency_key is None:
                continue
            identity = (event.subscription_id, event.metric, event.idempotency_key)
            if identity in first:
                problems.append(engine.Problem(event.index, 'idempotency_key',
                                               f"Event {first[identity]} is stored on the same subscription with the "
                                               f"same metric and idempotency key."))
            else:
                first[identity] = event.index
        return problems

    @api.model
    def _route_to_renewals(self, events, authorized):
        """A renewed contract (Enterprise's ``5_renewed``) lives on as its running renewal:
        usage sent for it from the renewal's start on is stored on the renewal, so apps
        need not switch ids at the exact instant; usage for its own periods stays. One
        query. Only the service's own subscriptions are looked at."""
        renewed = [event.subscription_id for event in events if event.subscription_id in authorized]
        if not renewed:
            return events
        self.env['sale.order'].flush_model(['subscription_state', 'origin_order_id', 'start_date'])
        renewals = {}
        for renewed_id, renewal_id, renewal_start in self.env.execute_query(SQL(
                """SELECT renewed.id, renewal.id, renewal.start_date
                     FROM sale_order renewed
                     JOIN sale_order renewal
                       ON renewal.origin_order_id = COALESCE(renewed.origin_order_id, renewed.id)
                      AND renewal.id != renewed.id
                      AND renewal.subscription_state IN %(running)s
                    WHERE renewed.id IN %(renewed)s
                      AND renewed.subscription_state = '5_renewed'
                 ORDER BY renewal.id""",
                renewed=tuple(set(renewed)), running=tuple(SUBSCRIPTION_PROGRESS_STATE))):
            renewals.setdefault(renewed_id, (renewal_id, engine.midnight_utc(renewal_start)))
        return [dataclasses.replace(event, subscription_id=renewals[event.subscription_id][0])
                if event.subscription_id in renewals and event.period_start >= renewals[event.subscription_id][1]
                else event for event in events]

    @api.model
    def _authorized_subscriptions(self, service, subscription_ids):
        """The ids among ``subscription_ids`` of subscriptions of ``service``'s company
        whose customer, or the customer's company, is one of the service's customers;
        without a service (the server itself), of every subscription among them."""
        if not service and subscription_ids:
            self.env['sale.order'].flush_model(['is_subscription'])
            return {row[0] for row in self.env.execute_query(SQL(
                "SELECT id FROM sale_order WHERE id IN %s AND is_subscription", tuple(subscription_ids)))}
        partner_ids = service.partner_ids.ids
        if not partner_ids or not subscription_ids:
            return set()
        self.env['sale.order'].flush_model(['is_subscription', 'company_id', 'partner_id'])
        self.env['res.partner'].flush_model(['commercial_partner_id'])
        return {row[0] for row in self.env.execute_query(SQL(
            """SELECT so.id
                 FROM sale_order so
                 JOIN res_partner partner ON partner.id = so.partner_id
                WHERE so.id IN %(subscriptions)s
                  AND so.is_subscription
                  AND so.company_id = %(company)s
                  AND (so.partner_id IN %(partners)s OR partner.commercial_partner_id IN %(partners)s)""",
            subscriptions=tuple(subscription_ids), company=service.company_id.id, partners=tuple(partner_ids),
        ))}

    @api.model
    def _unbillable(self, events):
        """Problems for ``events`` that could never be billed: on a quotation that was never
        confirmed, or for a period that starts before the subscription does. One query."""
        if not events:
            return []
        self.env['sale.order'].flush_model(['state', 'start_date'])
        subscriptions = {subscription_id: (state, start_date) for subscription_id, state, start_date in
                         self.env.execute_query(SQL(
                             "SELECT id, state, start_date FROM sale_order WHERE id IN %(ids)s",
                             ids=tuple({event.subscription_id for event in events})))}
        problems = []
        for event in events:
            state, start_date = subscriptions[event.subscription_id]
            if state != 'sale':
                problems.append(engine.Problem(event.index, 'subscription_id',
                                               "This subscription is not confirmed: its usage could never be billed."))
            elif start_date and event.period_start < engine.midnight_utc(start_date):
                problems.append(engine.Problem(event.index, 'period_start',
                                               f"period_start is before the subscription's start "
                                               f"({start_date.isoformat()}): that usage could never be billed."))
        return problems

    @api.model
    def _key_conflicts(self, service, events, metric_ids):
        """Problems for the keyed ``events`` whose key is stored for another period, was
        reported by another service (two services may share a customer: neither changes
        what the other reported), or was recorded or adjusted in Odoo (a service does not
        undo an administrator's correction)."""
        keyed = [event for event in events if event.idempotency_key is not None]
        if not keyed:
            return []
        self.flush_model()
        stored = {(subscription_id, metric_id, key): (period_start, period_end, service_id, source)
                  for subscription_id, metric_id, key, period_start, period_end, service_id, source in
                  self.env.execute_query(SQL(
                      """SELECT usage.subscription_id, usage.metric_id, usage.idempotency_key,
                                usage.period_start, usage.period_end, usage.service_id, usage.source
                           FROM fusion_billing_usage usage
                           JOIN unnest(%(subscriptions)s::int[], %(metrics)s::int[], %(keys)s::varchar[])
                                AS sent(subscription_id, metric_id, idempotency_key)
                             ON (usage.subscription_id, usage.metric_id, usage.idempotency_key)
                              = (sent.subscription_id, sent.metric_id, sent.idempotency_key)""",
                      subscriptions=array_text(event.subscription_id for event in keyed),
                      metrics=array_text(metric_ids[event.metric] for event in keyed),
                      keys=array_text(event.idempotency_key for event in keyed),
                  ))}
        return self._conflicts_with_stored(service, keyed, {
            event.index: stored[event.subscription_id, metric_ids[event.metric], event.idempotency_key]
            for event in keyed if (event.subscription_id, metric_ids[event.metric], event.idempotency_key) in stored})

    @api.model
    def _conflicts_with_stored(self, service, events, stored):
        """Problems of the keyed ``events`` against the rows stored under their keys
        ({event index: (period_start, period_end, service id, source)}); see _key_conflicts."""
        problems = []
        for event in events:
            if event.idempotency_key is None or event.index not in stored:
                continue
            period_start, period_end, service_id, source = stored[event.index]
            if service and source == 'manual':
                problems.append(engine.Problem(event.index, 'idempotency_key',
                                               "This counter was recorded or adjusted in Odoo by an administrator: "
                                               "the service no longer changes it."))
            elif service and service_id and service_id != service.id:
                problems.append(engine.Problem(event.index, 'idempotency_key',
                                               "This idempotency key was already used by another service for this "
                                               "subscription and metric."))
            elif (period_start, period_end) != (event.period_start, event.period_end):
                problems.append(engine.Problem(event.index, 'idempotency_key',
                                               "This idempotency key was already used for another period of this "
                                               "subscription and metric."))
        return problems

    @api.model
    def _upsert_events(self, service, events, metric_ids):
        """Insert or update the ``events`` in one statement; return (index, id, result).
        Raises KeyConflicts when a key is stored for another period, by another service
        or by an administrator (see _key_conflicts); the caller undoes the statement."""
        self.flush_model()
        now = self.env.cr.now()
        # Not logged by the cursor when it fails: a serialization failure is retried by
        # Odoo, and any other error is logged by the API with its traceback.
        self.env.cr.execute(SQL(
            """WITH sent AS MATERIALIZED (
                   SELECT sent.*, nextval('fusion_billing_usage_id_seq') AS new_id
                     FROM unnest(%(indexes)s::int[], %(subscriptions)s::int[], %(metrics)s::int[],
                                 %(quantities)s::float8[], %(starts)s::timestamp[], %(ends)s::timestamp[],
                                 %(keys)s::varchar[])
                          AS sent(idx, subscription_id, metric_id, quantity, period_start, period_end,
                                  idempotency_key)
               ),
               stored AS (
                   SELECT sent.idx, usage.id, usage.period_start, usage.period_end, usage.service_id, usage.source
                     FROM sent
                     JOIN fusion_billing_usage usage
                       ON (usage.subscription_id, usage.metric_id, usage.idempotency_key)
                        = (sent.subscription_id, sent.metric_id, sent.idempotency_key)
               ),
               written AS (
                   INSERT INTO fusion_billing_usage
                          (id, subscription_id, metric_id, service_id, period_start, period_end, quantity, source,
                           idempotency_key, company_id, partner_id, create_uid, create_date, write_uid, write_date)
                   SELECT sent.new_id, sent.subscription_id, sent.metric_id, %(service)s, sent.period_start,
                          sent.period_end, sent.quantity, %(source)s, sent.idempotency_key, so.company_id,
                          so.partner_id,
                          %(uid)s, %(now)s, %(uid)s, %(now)s
                     FROM sent
                     JOIN sale_order so ON so.id = sent.subscription_id
                 ORDER BY sent.idx
                       ON CONFLICT (subscription_id, metric_id, idempotency_key) DO UPDATE
                      SET quantity = EXCLUDED.quantity,
                          service_id = COALESCE(EXCLUDED.service_id, fusion_billing_usage.service_id),
                          source = EXCLUDED.source,
                          write_uid = EXCLUDED.write_uid,
                          write_date = EXCLUDED.write_date
                    WHERE fusion_billing_usage.quantity IS DISTINCT FROM EXCLUDED.quantity
                      AND (EXCLUDED.service_id IS NULL
                           OR (fusion_billing_usage.source <> 'manual'
                               AND COALESCE(fusion_billing_usage.service_id, EXCLUDED.service_id)
                                   = EXCLUDED.service_id))
                      AND fusion_billing_usage.period_start = EXCLUDED.period_start
                      AND fusion_billing_usage.period_end = EXCLUDED.period_end
                RETURNING id, subscription_id, metric_id, idempotency_key, (xmax = 0) AS inserted
               )
               SELECT sent.idx, COALESCE(inserted.id, by_key.id, stored.id),
                      CASE WHEN inserted.id IS NOT NULL OR by_key.inserted THEN 'created'
                           WHEN by_key.id IS NOT NULL THEN 'updated'
                           ELSE 'unchanged' END,
                      stored.id IS NOT NULL, stored.period_start, stored.period_end, stored.service_id, stored.source
                 FROM sent
            LEFT JOIN stored ON stored.idx = sent.idx
            -- Two equality joins rather than one with OR: each is a hash join.
            LEFT JOIN written inserted ON inserted.id = sent.new_id
            LEFT JOIN written by_key
                   ON (by_key.subscription_id, by_key.metric_id, by_key.idempotency_key)
                    = (sent.subscription_id, sent.metric_id, sent.idempotency_key)
             ORDER BY sent.idx""",
            indexes=array_text(event.index for event in events),
            subscriptions=array_text(event.subscription_id for event in events),
            metrics=array_text(metric_ids[event.metric] for event in events),
            quantities=array_text(repr(event.quantity) for event in events),
            starts=array_text(event.period_start for event in events),
            ends=array_text(event.period_end for event in events),
            keys=array_text(event.idempotency_key for event in events),
            service=service.id or None,
            source='push' if service else 'manual',
            uid=self.env.uid,
            now=now,
        ), log_exceptions=False)
        rows = self.env.cr.fetchall()
        # The rows were written behind the ORM's back: forget what it holds about them.
        self.invalidate_model()
        self.env['sale.order'].invalidate_model(['fusion_usage_ids', 'fusion_usage_count', 'fusion_usage_summary'])
        conflicts = self._conflicts_with_stored(service, events, {
            index: (period_start, period_end, service_id, source)
            for index, _id, _result, was_stored, period_start, period_end, service_id, source in rows if was_stored})
        if conflicts:
            raise KeyConflicts(conflicts)
        return [(index, usage_id, result) for index, usage_id, result, *_stored in rows]
