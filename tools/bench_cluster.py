"""Two Odoo nodes on one database (run by `tools/bench cluster`, not a test).

Starts two separate Odoo servers (two processes, each with --workers=2 and two cron
workers) on the same database, as two machines behind a proxy would run, and:

- posts usage to both at once for SECONDS seconds from several clients: fresh batches,
  and the same batch sent to both nodes at the same instant, as a client retrying on
  another node would (a 503 is retried after its Retry-After, as the client library does);
- meanwhile keeps both nodes' cron workers busy with the hourly rating and the webhook
  dispatch: each job has a twin (a copy of the same cron), so two rating runs and two
  dispatchers can run at the same time, one per node; usage crossing the charge's alert
  threshold queues a webhook per subscription, delivered to a local receiver;
- then lets the crons finish and checks: every key stored once with the last quantity
  sent, every usage line billing its subscription's usage exactly once (the rating of the
  stored rows, not more), one threshold crossing and one webhook per subscription, each
  delivered once, every answer 200 or a JSON 503 that its retry turned into a 200, and no
  error in either server's log.

Usage: bench_cluster.py DATABASE ADDONS_PATH   (env: FUSION_ODOO_SRC, FUSION_ODOO_PYTHON)
"""
import json
import os
import random
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from decimal import Decimal

import requests

from odoo import api
from odoo.modules.registry import Registry
from odoo.tools import config

from bench_load import free_port, start_server
from bench_rating import create_subscriptions
from bench_webhooks import start_receiver

SUBSCRIPTIONS = 200
SECONDS = 60
CLIENTS = 4
THRESHOLD = 20000
EVENTS_PER_BATCH = 400


def seed(registry, webhook_url):
    """A plan with a metered charge and an alert threshold, SUBSCRIPTIONS running
    subscriptions, a service with a key and a webhook URL; twin crons. Returns (ids, key,
    cron ids)."""
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        env['ir.config_parameter'].set_param('fusion_billing.allow_private_webhook_urls', 'True')
        # The deferred revenue settings Enterprise's invoicing cron requires (it runs on the nodes too).
        company = env.company
        company.deferred_revenue_account_id = env['account.account'].search(
            [('account_type', '=', 'liability_current'), ('company_ids', 'in', company.ids)], limit=1)
        company.deferred_revenue_journal_id = env['account.journal'].search(
            [('type', '=', 'general'), ('company_id', '=', company.id)], limit=1)
        plan = env['sale.subscription.plan'].create({'name': 'Cluster monthly'})
        metric = env['fusion.billing.metric'].create({'name': 'Cluster calls', 'code': 'cluster_calls'})
        product = env['product.product'].create({'name': 'Cluster calls', 'type': 'service',
                                                 'recurring_invoice': True, 'invoice_policy': 'delivery'})
        env['fusion.billing.charge'].create({'plan_id': plan.id, 'metric_id': metric.id, 'product_id': product.id,
                                             'charge_model': 'standard', 'price': 0.001,
                                             'alert_threshold': THRESHOLD})
        subscription_ids = create_subscriptions(env, plan, SUBSCRIPTIONS)
        customer = env['sale.order'].browse(subscription_ids[0]).partner_id
        service = env['fusion.billing.service'].create({
            'name': 'Cluster', 'code': 'cluster', 'partner_ids': [(4, customer.id)], 'webhook_url': webhook_url})
        key = service._generate_api_key()
        crons = (env.ref('fusion_billing.ir_cron_rate_open_periods')
                 | env.ref('fusion_billing.ir_cron_dispatch_webhooks'))
        crons |= crons.copy()
        crons.write({'active': True, 'interval_number': 1, 'interval_type': 'minutes'})
        cr.commit()
        return subscription_ids, key, crons.ids


def trigger(registry, cron_ids):
    with registry.cursor() as cr:
        for cron in api.Environment(cr, api.SUPERUSER_ID, {})['ir.cron'].browse(cron_ids):
            cron._trigger()


class Poster:
    """Posts batches to the nodes, retrying a 503 after its Retry-After; keeps the last
    quantity sent per key and the answers seen."""

    def __init__(self, key):
        self.headers = {'Authorization': f'Bearer {key}', 'Content-Type': 'application/json'}
        self.lock = threading.Lock()
        self.sent = {}
        self.answers = Counter()
        self.problems = []

    def post(self, url, batch, session):
        body = json.dumps({'events': batch})
        while True:
            response = session.post(url, data=body, headers=self.headers, timeout=120)
            is_json = response.headers.get('Content-Type', '').startswith('application/json')
            with self.lock:
                self.answers[f"{response.status_code}{'' if is_json else ' not JSON'}"] += 1
            if response.status_code == 503 and is_json and response.headers.get('Retry-After'):
                time.sleep(float(response.headers['Retry-After']))
                continue
            if response.status_code != 200:
                with self.lock:
                    self.problems.append(f"HTTP {response.status_code}: {response.text[:200]}")
            return response

    def record(self, batch):
        with self.lock:
            for event in batch:
                self.sent[(event['subscription_id'], event['idempotency_key'])] = event['quantity']


def batch_for(subscription_ids, tag, randomizer):
    return [{'subscription_id': randomizer.choice(subscription_ids), 'metric': 'cluster_calls',
             'quantity': randomizer.randint(1, 400), 'period_start': '2026-11-02T00:00:00Z',
             'period_end': '2026-11-02T01:00:00Z', 'idempotency_key': f'{tag}-{number}'}
            for number in range(EVENTS_PER_BATCH)]


def load(poster, urls, subscription_ids, deadline, client_number):
    """One client: alternately a fresh batch to one node, and one batch to both nodes at once."""
    randomizer = random.Random(client_number)
    sessions = [requests.Session() for _url in urls]
    round_number = 0
    while time.time() < deadline:
        round_number += 1
        batch = batch_for(subscription_ids, f'c{client_number}-r{round_number}', randomizer)
        if round_number % 2:
            poster.post(urls[round_number % 2], batch, sessions[0])
        else:
            threads = [threading.Thread(target=poster.post, args=(url, batch, session))
                       for url, session in zip(urls, sessions)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        poster.record(batch)


def check(registry, poster, received):
    """The invariants after both nodes' crons ran; returns (lines of report, problems)."""
    problems, report = list(poster.problems), []
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        cr.execute("""SELECT usage.subscription_id, usage.idempotency_key, usage.quantity
                        FROM fusion_billing_usage usage
                        JOIN fusion_billing_metric metric ON metric.id = usage.metric_id
                       WHERE metric.code = 'cluster_calls'""")
        stored = {(subscription_id, key): quantity for subscription_id, key, quantity in cr.fetchall()}
        report.append(f"keys sent: {len(poster.sent)}, rows stored: {len(stored)}")
        if stored != poster.sent:
            wrong = sum(1 for key, quantity in poster.sent.items() if stored.get(key) != quantity)
            problems.append(f"{wrong} keys not stored once with the last quantity sent")
        subscriptions = env['sale.order'].search([('plan_id.name', '=', 'Cluster monthly')])
        totals = Counter()
        for (subscription_id, _key), quantity in stored.items():
            totals[subscription_id] += quantity
        Rating = env['fusion.billing.rating']
        wrong_lines = 0
        for subscription in subscriptions:
            line = subscription.order_line.filtered('fusion_charge_id')
            billed = Decimal(repr(line.qty_delivered)) * Decimal(repr(line.price_unit)) if line else Decimal(0)
            rating, = Rating._preview(subscription)
            if rating.aggregated_quantity != Decimal(repr(totals[subscription.id])) or billed != rating.amount:
                wrong_lines += 1
        report.append(f"usage lines billing their subscription's usage exactly once: "
                      f"{len(subscriptions) - wrong_lines} of {len(subscriptions)}")
        if wrong_lines:
            problems.append(f"{wrong_lines} usage lines do not bill their usage exactly once")
        crossed = sum(1 for subscription in subscriptions if totals[subscription.id] >= THRESHOLD)
        cr.execute("SELECT count(*) FROM fusion_billing_threshold_crossing")
        crossings = cr.fetchone()[0]
        cr.execute("SELECT state, count(*) FROM fusion_billing_webhook GROUP BY state")
        states = dict(cr.fetchall())
        cr.execute("SELECT event_type, count(*), count(DISTINCT event_key) FROM fusion_billing_webhook "
                   "GROUP BY event_type")
        events = {event_type: (count, distinct) for event_type, count, distinct in cr.fetchall()}
        twice = sum(1 for count in received.values() if count > 1)
        report.append(f"subscriptions over the threshold: {crossed}; crossings noted: {crossings}; webhooks by "
                      f"state: {states}; by type (events, distinct keys): {events}")
        report.append(f"webhook deliveries received: {sum(received.values())} of {len(received)} distinct events; "
                      f"received more than once: {twice}")
        threshold_events = events.get('usage.threshold_reached', (0, 0))
        if not crossed or crossings != crossed or threshold_events != (crossed, crossed):
            problems.append("not one crossing and one webhook per subscription over the threshold")
        if set(states) != {'sent'} or twice or len(received) != sum(states.values()):
            problems.append("webhooks not all delivered exactly once")
    return report, problems


def settled(registry, cron_ids):
    """True when the twin crons have no trigger left and none of them is running."""
    with registry.cursor() as cr:
        cr.execute("SELECT count(*) FROM ir_cron_trigger WHERE cron_id IN %s", [tuple(cron_ids)])
        if cr.fetchone()[0]:
            return False
        cr.execute("SELECT id FROM ir_cron WHERE id IN %s FOR UPDATE SKIP LOCKED", [tuple(cron_ids)])
        return len(cr.fetchall()) == len(cron_ids)


def main(database, addons_path):
    config.parse_config(['-d', database, f'--addons-path={addons_path}', '--log-level=warn',
                         '--http-interface=127.0.0.1'])
    registry = Registry(database)
    receiver, received = start_receiver()
    subscription_ids, key, cron_ids = seed(registry, f'http://127.0.0.1:{receiver.server_address[1]}/hooks')
    logs = [tempfile.mktemp(prefix=f'fusion-node{number}-', suffix='.log') for number in (1, 2)]
    ports = [free_port(), free_port()]
    servers = [start_server(database, addons_path, port, log, cron_workers=2) for port, log in zip(ports, logs)]
    urls = [f'http://127.0.0.1:{port}/fusion_billing/v1/usage' for port in ports]
    poster = Poster(key)
    try:
        deadline = time.time() + SECONDS
        clients = [threading.Thread(target=load, args=(poster, urls, subscription_ids, deadline, number))
                   for number in range(CLIENTS)]
        for client in clients:
            client.start()
        while time.time() < deadline:
            trigger(registry, cron_ids)
            time.sleep(5)
        for client in clients:
            client.join()
        # The last usage is rated, then its webhooks dispatched: two rounds of triggers.
        for _round in range(2):
            trigger(registry, cron_ids)
            time.sleep(2)
            for _wait in range(180):
                if settled(registry, cron_ids):
                    break
                time.sleep(1)
        report, problems = check(registry, poster, received)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=60)
        receiver.shutdown()
    errors = Counter()
    for number, log in enumerate(logs, start=1):
        with open(log, encoding='utf-8') as handle:
            text = handle.read()
        errors[f'node {number} ERROR lines'] = len(re.findall(r'^\S+ \S+ \d+ (?:ERROR|CRITICAL) ', text, re.M))
        # Odoo's retries of a request or job whose transaction met a serialization failure.
        errors[f'node {number} serialization failures retried'] = text.count('SERIALIZATION_FAILURE')
        for name, status in re.findall(r"Job '(Fusion Billing: [^']+)' \(\d+\) (.+?) \(#loop", text):
            errors[f'node {number} {name}: {status}'] += 1
    print(f"2 nodes x (2 HTTP workers + 2 cron workers) on one database, {CLIENTS} clients for {SECONDS} s, "
          f"{SUBSCRIPTIONS} subscriptions, twin rating and dispatch crons triggered every 5 s")
    print(f"answers: {dict(poster.answers)}")
    for line in report:
        print(line)
    print(f"server logs: {dict(errors)}")
    if any(count for name, count in errors.items() if 'ERROR' in name):
        problems.append("errors in the server logs")
    print("two-node check: " + ("all hold" if not problems else "FAILED\n  " + "\n  ".join(problems)))
    if problems:
        print(f"server logs kept: {' '.join(logs)}")
    else:
        for log in logs:
            os.unlink(log)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1], sys.argv[2]))
