"""Load and concurrency check of the usage API against a real multi-worker server
(run by `tools/bench load`, not a test).

Starts Odoo with --workers=2 on 127.0.0.1 against the given throwaway database, then:
- the physical limit, measured in the same run: 1,000 events parsed from the same JSON
  body, stored by one `unnest` upsert into a copy of the usage table (same columns,
  indexes and foreign keys; and once without the foreign keys) and committed, one batch
  after the other; no HTTP, no Odoo;
- throughput: 1,000-event batches with fresh keys from one client and from 4 clients
  (events/s, median batch latency), SQL statements of a 10- and a 1,000-event batch (from
  the server's request log), and the same 1,000 events through one `_record_usage` call per event
  (the batch path, one event at a time) for comparison;
- concurrency: 8 clients post the same batch at the same instant, several rounds, and 8
  clients post one key with different quantities; then checks that every answer is JSON
  and not 5xx, that each key was `created` exactly once, and that the database holds
  exactly one row per (subscription, metric, key);
- heavy contention: 24 clients post batches of the same 200 keys with other quantities at
  once, 10 rounds: every answer must be a 200 or a JSON 503 with Retry-After (where the
  database kept refusing after Odoo's retries), never HTML.
Stops the server it started; the caller drops the database.

Usage: bench_load.py DATABASE ADDONS_PATH   (env: FUSION_ODOO_SRC, FUSION_ODOO_PYTHON)
"""
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter

import requests

from odoo import api
from odoo.modules.registry import Registry
from odoo.tools import config

CLIENTS = 4
CONCURRENT = 8
ROUNDS = 5
# Batches that update the same keys at once, as a retrying fleet of clients would.
HEAVY_CLIENTS = 24
HEAVY_ROUNDS = 10
REQUEST_LOG = re.compile(r'"POST /fusion_billing/v1/usage HTTP/1.1" (\d+) - (\d+) ')


def seed(registry):
    """A service with a fresh key, one customer and a running subscription."""
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        partner = env['res.partner'].create({'name': 'Load test customer'})
        product = env['product.product'].create({'name': 'Load test usage', 'type': 'service',
                                                 'recurring_invoice': True, 'invoice_policy': 'delivery'})
        subscription = env['sale.order'].create({
            'partner_id': partner.id, 'plan_id': env.ref('sale_subscription.subscription_plan_month').id,
            'require_payment': False, 'start_date': '2026-11-01',
            'order_line': [(0, 0, {'product_id': product.id, 'product_uom_qty': 0})]})
        subscription.action_confirm()
        env['fusion.billing.metric'].create({'name': 'Load calls', 'code': 'load_calls'})
        service = env['fusion.billing.service'].create({'name': 'Load test', 'code': 'load',
                                                        'partner_ids': [(4, partner.id)]})
        key = service._generate_api_key()
        cr.commit()
        return subscription.id, key


def per_event_path(registry, subscription_id, count):
    """Seconds to store ``count`` events one `_record_usage` call at a time."""
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        subscription = env['sale.order'].browse(subscription_id)
        started = time.perf_counter()
        for number in range(count):
            env['fusion.billing.usage']._record_usage(subscription, 'load_calls', number,
                                                      '2026-11-01T00:00:00Z', '2026-11-01T01:00:00Z',
                                                      f'orm-{number}')
        cr.commit()
        return time.perf_counter() - started


def physical_limit(registry, subscription_id, foreign_keys, batches=20):
    """Events/s of the bare work of a batch: parse the request body, one upsert into a
    table with the usage table's columns and indexes (and, with ``foreign_keys``, its
    foreign keys: PostgreSQL checks each one for every row), commit."""
    with registry.cursor() as cr:
        cr.execute("CREATE TABLE fusion_bench_limit (LIKE fusion_billing_usage INCLUDING ALL)")
        cr.execute("ALTER TABLE fusion_bench_limit ALTER id SET DEFAULT nextval('fusion_billing_usage_id_seq')")
        if foreign_keys:
            cr.execute("""SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
                           WHERE conrelid = 'fusion_billing_usage'::regclass AND contype = 'f'""")
            for name, definition in cr.fetchall():
                cr.execute(f'ALTER TABLE fusion_bench_limit ADD CONSTRAINT "limit_{name}" {definition}')
        cr.execute("""SELECT so.company_id, so.partner_id, metric.id, service.id
                        FROM sale_order so, fusion_billing_metric metric, fusion_billing_service service
                       WHERE so.id = %s AND metric.code = 'load_calls' AND service.code = 'load'""",
                   [subscription_id])
        company_id, partner_id, metric_id, service_id = cr.fetchone()
        cr.commit()
        try:
            bodies = [json.dumps({'events': events(subscription_id, f'limit-{number}', 1000)}).encode()
                      for number in range(batches)]
            started = time.perf_counter()
            for body in bodies:
                sent = json.loads(body)['events']
                cr.execute("""
                    INSERT INTO fusion_bench_limit (subscription_id, metric_id, service_id, period_start, period_end,
                                                    quantity, source, idempotency_key, company_id, partner_id,
                                                    create_uid, create_date, write_uid, write_date)
                    SELECT sent.subscription_id, %s, %s, sent.period_start, sent.period_end, sent.quantity, 'push',
                           sent.idempotency_key, %s, %s, 1, now() at time zone 'UTC', 1, now() at time zone 'UTC'
                      FROM unnest(%s::int[], %s::float8[], %s::timestamp[], %s::timestamp[], %s::varchar[])
                           AS sent(subscription_id, quantity, period_start, period_end, idempotency_key)
                        ON CONFLICT (subscription_id, metric_id, idempotency_key)
                        DO UPDATE SET quantity = EXCLUDED.quantity
                 RETURNING id""", [metric_id, service_id, company_id, partner_id,
                                  [event['subscription_id'] for event in sent], [event['quantity'] for event in sent],
                                  [event['period_start'] for event in sent], [event['period_end'] for event in sent],
                                  [event['idempotency_key'] for event in sent]])
                cr.fetchall()
                cr.commit()
            return batches * 1000 / (time.perf_counter() - started)
        finally:
            cr.execute("DROP TABLE fusion_bench_limit")
            cr.commit()


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def start_server(database, addons_path, port, logfile, cron_workers=0):
    # One database by name and no --db-filter, as in production: with a filter, Odoo lists
    # the databases (a new connection) on every request without a session, as API calls are.
    command = [os.environ['FUSION_ODOO_PYTHON'], 'odoo-bin', f'--addons-path={addons_path}', '-d', database,
               '--workers=2', f'--max-cron-threads={cron_workers}',
               '--http-interface=127.0.0.1',
               f'--http-port={port}', f'--gevent-port={free_port()}', '--log-level=info', f'--logfile={logfile}']
    server = subprocess.Popen(command, cwd=os.environ['FUSION_ODOO_SRC'])
    for _ in range(120):
        try:
            if requests.get(f'http://127.0.0.1:{port}/web/health', timeout=2).status_code == 200:
                return server
        except requests.RequestException:
            pass
        time.sleep(0.5)
    server.terminate()
    raise RuntimeError("the server did not start")


def events(subscription_id, prefix, count, quantity=None):
    return [{'subscription_id': subscription_id, 'metric': 'load_calls',
             'quantity': number if quantity is None else quantity,
             'period_start': '2026-11-01T00:00:00Z', 'period_end': '2026-11-01T01:00:00Z',
             'idempotency_key': f'{prefix}-{number}'} for number in range(count)]


class Client:
    def __init__(self, url, key):
        self.url = url
        self.session = requests.Session()
        self.session.headers.update({'Authorization': f'Bearer {key}', 'Content-Type': 'application/json'})

    def post(self, batch):
        return self.post_body(json.dumps({'events': batch}))

    def post_body(self, body):
        started = time.perf_counter()
        response = self.session.post(self.url, data=body, timeout=60)
        return response, time.perf_counter() - started


def throughput(url, key, subscription_id, clients, batches_per_client, tag):
    latencies, lock = [], threading.Lock()

    # Bodies are built before the clock starts, as for the physical limit.
    bodies = {(client_number, batch_number): json.dumps({'events': events(
        subscription_id, f'{tag}-{client_number}-{batch_number}', 1000)})
        for client_number in range(clients) for batch_number in range(batches_per_client)}

    def work(client_number):
        client = Client(url, key)
        for batch_number in range(batches_per_client):
            response, seconds = client.post_body(bodies[client_number, batch_number])
            assert response.status_code == 200, response.text[:300]
            with lock:
                latencies.append(seconds)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    total = clients * batches_per_client * 1000
    return total / elapsed, statistics.median(latencies)


def at_once(url, key, batches):
    """Post ``batches[i]`` from client i, all released at the same instant; return the answers."""
    barrier = threading.Barrier(len(batches))
    answers = [None] * len(batches)

    def work(index):
        client = Client(url, key)
        barrier.wait()
        answers[index] = client.post(batches[index])[0]

    threads = [threading.Thread(target=work, args=(index,)) for index in range(len(batches))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def check_answers(answers, problems, label):
    created = Counter()
    for response in answers:
        if response.status_code >= 500 or not response.headers.get('Content-Type', '').startswith('application/json'):
            problems.append(f"{label}: HTTP {response.status_code} {response.headers.get('Content-Type')}")
            continue
        body = response.json()
        if response.status_code != 200:
            problems.append(f"{label}: HTTP {response.status_code} {body}")
            continue
        for result in body['results']:
            if result['result'] == 'created':
                created[result['id']] += 1
    return created


def check_heavy_answers(answers, problems):
    """Answers under heavy contention: 200, or a JSON 503 with Retry-After where the
    database kept refusing the batch; never HTML, never another 5xx. Returns the counts."""
    outcome = Counter()
    for response in answers:
        is_json = response.headers.get('Content-Type', '').startswith('application/json')
        if response.status_code == 200 and is_json:
            outcome['200'] += 1
        elif response.status_code == 503 and is_json and response.headers.get('Retry-After'):
            outcome['503 with Retry-After'] += 1
        else:
            outcome[f"{response.status_code} {'JSON' if is_json else 'not JSON'}"] += 1
            problems.append(f"heavy contention: HTTP {response.status_code} {response.headers.get('Content-Type')}")
    return outcome


def main(database, addons_path):
    config.parse_config(['-d', database, f'--addons-path={addons_path}', '--log-level=warn',
                         '--http-interface=127.0.0.1'])
    registry = Registry(database)
    subscription_id, key = seed(registry)
    orm_seconds = per_event_path(registry, subscription_id, 1000)
    port = free_port()
    logfile = tempfile.mktemp(prefix='fusion-load-', suffix='.log')
    server = start_server(database, addons_path, port, logfile)
    url = f'http://127.0.0.1:{port}/fusion_billing/v1/usage'
    problems = []
    try:
        Client(url, key).post(events(subscription_id, 'warm-up', 10))
        bare_limit = physical_limit(registry, subscription_id, foreign_keys=False)
        limit_rate = physical_limit(registry, subscription_id, foreign_keys=True)
        single_rate, single_latency = throughput(url, key, subscription_id, 1, 10, 'single')
        multi_rate, multi_latency = throughput(url, key, subscription_id, CLIENTS, 5, 'multi')
        statements = {}
        for size in (10, 1000):
            Client(url, key).post(events(subscription_id, f'count-{size}', size))
            time.sleep(0.5)
            with open(logfile, encoding='utf-8') as log:
                statements[size] = int(REQUEST_LOG.findall(log.read())[-1][1])

        for round_number in range(ROUNDS):
            batch = events(subscription_id, f'same-{round_number}', 50)
            created = check_answers(at_once(url, key, [batch] * CONCURRENT), problems, f"round {round_number}")
            if sorted(created.values()) != [1] * 50:
                problems.append(f"round {round_number}: created counts {sorted(Counter(created.values()).items())}")
            contended = [events(subscription_id, f'contended-{round_number}', 1, quantity=100 + client)
                         for client in range(CONCURRENT)]
            created = check_answers(at_once(url, key, contended), problems, f"contended {round_number}")
            if list(created.values()) != [1]:
                problems.append(f"contended {round_number}: created {dict(created)}")
        heavy = Counter()
        for round_number in range(HEAVY_ROUNDS):
            batches = [events(subscription_id, f'heavy-{round_number % 2}', 200, quantity=client + round_number)
                       for client in range(HEAVY_CLIENTS)]
            heavy += check_heavy_answers(at_once(url, key, batches), problems)
        with registry.cursor() as cr:
            cr.execute("""SELECT count(*) FROM (SELECT 1 FROM fusion_billing_usage WHERE idempotency_key IS NOT NULL
                           GROUP BY subscription_id, metric_id, idempotency_key HAVING count(*) > 1) duplicate""")
            duplicates = cr.fetchone()[0]
            cr.execute("SELECT count(*) FROM fusion_billing_usage WHERE idempotency_key LIKE 'same-%%'")
            same_rows = cr.fetchone()[0]
            cr.execute("SELECT count(*) FROM fusion_billing_usage WHERE idempotency_key LIKE 'contended-%%'")
            contended_rows = cr.fetchone()[0]
    finally:
        server.terminate()
        server.wait(timeout=60)
    with open(logfile, encoding='utf-8') as log:
        statuses = Counter(status for status, _count in REQUEST_LOG.findall(log.read()))
    os.unlink(logfile)

    batch_rate = single_rate
    print(f"physical limit (parse + one upsert + commit, no HTTP, no Odoo): {limit_rate:8.0f} events/s "
          f"({bare_limit:.0f} events/s into a table without the usage table's foreign keys)")
    print(f"throughput, 1 client : {single_rate:8.0f} events/s, median 1,000-event batch {single_latency * 1000:.0f} ms")
    print(f"  the API from one client is {limit_rate / single_rate:.2f} times below the physical limit "
          f"({bare_limit / single_rate:.2f} times below the limit without foreign keys)")
    print(f"throughput, {CLIENTS} clients: {multi_rate:8.0f} events/s, median 1,000-event batch "
          f"{multi_latency * 1000:.0f} ms")
    print(f"SQL statements per request: 10 events {statements[10]}, 1,000 events {statements[1000]}")
    print(f"one event per call (_record_usage x 1,000): {1000 / orm_seconds:.0f} events/s; "
          f"the batch API is {batch_rate / (1000 / orm_seconds):.0f} times faster")
    print(f"concurrency: {ROUNDS} rounds of {CONCURRENT} identical 50-event batches and of {CONCURRENT} "
          f"quantities for one key; server answers {dict(statuses)}")
    print(f"  rows: {same_rows} for {ROUNDS * 50} keys, {contended_rows} for {ROUNDS} contended keys; "
          f"duplicate (subscription, metric, key) rows: {duplicates}")
    print(f"heavy contention: {HEAVY_ROUNDS} rounds of {HEAVY_CLIENTS} batches of the same 200 keys with other "
          f"quantities: {dict(heavy)}")
    if same_rows != ROUNDS * 50 or contended_rows != ROUNDS or duplicates:
        problems.append("the database does not hold exactly one row per key")
    print("concurrency checks: " + ("all hold" if not problems else "FAILED\n  " + "\n  ".join(problems)))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1], sys.argv[2]))
