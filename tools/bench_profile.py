"""Profile of one 1,000-event usage request on the server side (run by `tools/bench
profile`, not a test).

Sends 1,000-event batches with fresh keys through Odoo's own WSGI application in this
process (routing, database selection, environment, the controller, the answer), under
cProfile, and prints where the time goes: each step of the request as the cumulative
time of the functions that do it, the rest being Odoo's request handling around the
controller. Steps nest (the upsert is inside the ingestion), so the table gives each one
with its children taken out.

Usage: bench_profile.py DATABASE ADDONS_PATH [REQUESTS]   (env: FUSION_ODOO_SRC)
"""
import cProfile
import json
import pstats
import sys
import time

from werkzeug.test import Client as WsgiClient

from odoo import http
from odoo.modules.registry import Registry
from odoo.tools import config

from bench_load import events, seed

# (label, file suffix, function name): the steps of a usage request, outermost first.
STEPS = (
    ("whole request (Odoo's WSGI application)", 'odoo/http.py', '__call__'),
    ("controller", 'controllers/main.py', 'post_usage'),
    ("authenticate the API key", 'controllers/main.py', '_authenticated_service'),
    ("parse and check the JSON body", 'engine/usage_request.py', 'parse_usage_batch'),
    ("ingestion (_record_usage_batch)", 'models/fusion_billing_usage_ingestion.py', '_record_usage_batch'),
    ("  authorize (service's customers)", 'models/fusion_billing_usage_ingestion.py', '_authorized_subscriptions'),
    ("  route to renewals", 'models/fusion_billing_usage_ingestion.py', '_route_to_renewals'),
    ("  validate: unbillable", 'models/fusion_billing_usage_ingestion.py', '_unbillable'),
    ("  validate: key conflicts", 'models/fusion_billing_usage_ingestion.py', '_key_conflicts'),
    ("  upsert", 'models/fusion_billing_usage_ingestion.py', '_upsert_events'),
    ("  late-usage check", 'models/fusion_billing_usage.py', '_flag_late_usage'),
    ("  thresholds", 'models/fusion_billing_usage_ingestion.py', '_notify_thresholds_crossed_by'),
    ("API activity count", 'models/fusion_billing_api_activity.py', '_log'),
    ("JSON answer", 'controllers/main.py', 'json_response'),
    ("commit", 'odoo/sql_db.py', 'commit'),
)


def cumulative(stats, suffix, name):
    """Cumulative seconds of the functions ``name`` defined in a file ending with ``suffix``."""
    return sum(entry[3] for (filename, _line, function), entry in stats.stats.items()
               if function == name and filename.endswith(suffix))


def main(database, addons_path, requests):
    config.parse_config(['-d', database, f'--addons-path={addons_path}', '--log-level=warn',
                         '--http-interface=127.0.0.1'])
    registry = Registry(database)
    subscription_id, key = seed(registry)
    client = WsgiClient(http.root)
    headers = {'Authorization': f'Bearer {key}', 'Content-Type': 'application/json'}

    def post(tag):
        body = json.dumps({'events': events(subscription_id, tag, 1000)})
        response = client.post('/fusion_billing/v1/usage', data=body, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]

    for number in range(3):
        post(f'warm-{number}')
    started = time.perf_counter()
    for number in range(requests):
        post(f'timed-{number}')
    wall = (time.perf_counter() - started) / requests
    profile = cProfile.Profile()
    for number in range(requests):
        profile.enable()
        post(f'profiled-{number}')
        profile.disable()
    stats = pstats.Stats(profile)
    total = cumulative(stats, *STEPS[0][1:])
    print(f"{requests} requests of 1,000 events through Odoo's WSGI application in one process: "
          f"{wall * 1000:.0f} ms per request; under the profiler (which slows Python more than SQL):")
    print(f"{'step':<44} {'ms/request':>10} {'share':>7}")
    for label, suffix, name in STEPS:
        seconds = cumulative(stats, suffix, name) / requests
        print(f"{label:<44} {seconds * 1000:10.1f} {seconds * requests / total:7.1%}")
    controller = cumulative(stats, 'controllers/main.py', 'post_usage')
    print(f"{'Odoo around the controller':<44} {(total - controller) / requests * 1000:10.1f} "
          f"{(total - controller) / total:7.1%}")
    print("\nmost expensive functions (own time):")
    stats.sort_stats('tottime').print_stats(15)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 20)
