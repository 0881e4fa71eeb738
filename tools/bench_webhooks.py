"""Benchmark of webhook delivery (run by `tools/bench webhooks`, not a test).

Queues N events for a service whose webhook URL is a local receiver, then runs two
dispatchers at the same time, each in its own thread and database cursor, as two cron
workers would. Prints the time to deliver them all, deliveries/s, how many each
dispatcher sent, and how many events the receiver got more than once (must be 0).

Usage: bench_webhooks.py DATABASE ADDONS_PATH N
"""
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from odoo import api
from odoo.modules.registry import Registry
from odoo.tools import config

DISPATCHERS = 2


def start_receiver():
    """A local HTTP receiver counting the event ids it gets; returns (server, counter)."""
    received = Counter()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get('Content-Length', 0)))
            with lock:
                received[self.headers['X-Fusion-Event-Id']] += 1
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, received


def main(database, addons_path, count):
    config.parse_config(['-d', database, f'--addons-path={addons_path}', '--log-level=warn',
                         '--http-interface=127.0.0.1'])
    registry = Registry(database)
    server, received = start_receiver()
    url = f'http://127.0.0.1:{server.server_address[1]}/hooks'
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        env['ir.config_parameter'].set_param('fusion_billing.allow_private_webhook_urls', 'True')
        service = env['fusion.billing.service'].create({'name': 'Benchmark', 'code': f'bench-{time.time_ns()}',
                                                        'webhook_url': url})
        Webhook = env['fusion.billing.webhook']
        for number in range(count):
            Webhook._enqueue(service, 'subscription.terminated', {'subscription_id': number, 'customer': 'Müller'},
                                f'bench:{number}')
        cr.commit()

    sent_by = Counter()

    def dispatcher(name):
        with registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            sent_by[name] = len(env['fusion.billing.webhook']._cron_dispatch())

    threads = [threading.Thread(target=dispatcher, args=(f'dispatcher {n + 1}',)) for n in range(DISPATCHERS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    server.shutdown()
    with registry.cursor() as cr:
        cr.execute("SELECT state, count(*) FROM fusion_billing_webhook WHERE service_id = %s GROUP BY state",
                   [service.id])
        states = dict(cr.fetchall())
    twice = sum(1 for times in received.values() if times > 1)
    print(f"{count} events, {DISPATCHERS} dispatchers at once: {elapsed:.2f} s, {count / elapsed:.0f} deliveries/s")
    print(f"  sent by each: {dict(sent_by)}; states: {states}")
    print(f"  received: {sum(received.values())} deliveries of {len(received)} distinct events; "
          f"received more than once: {twice}")


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
