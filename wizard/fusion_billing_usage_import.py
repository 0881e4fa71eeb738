import base64
import csv
import io

from odoo import fields, models
from odoo.exceptions import UserError

from .. import engine

COLUMNS = ('subscription', 'metric', 'quantity', 'period_start', 'period_end', 'idempotency_key')
TEMPLATE_URL = '/fusion_billing/static/csv/usage_import_template.csv'
# Problems listed in the error; the count says how many there were.
PROBLEMS_SHOWN = 10


class FusionBillingUsageImport(models.TransientModel):
    """Imports usage counters from a CSV file through the API's own path and checks: every
    row is stored, or none is. Rows are recorded by the server itself (source "Manual")."""

    _name = 'fusion.billing.usage.import'
    _description = 'Fusion Billing: import usage'

    file = fields.Binary(string="CSV File", required=True)
    filename = fields.Char()

    def action_download_template(self):
        return {'type': 'ir.actions.act_url', 'url': TEMPLATE_URL, 'target': 'download'}

    def action_import(self):
        self.ensure_one()
        events, problems = self._read_events()
        batch = engine.parse_usage_events(events, fields.Datetime.now())
        unknown = {problem.index for problem in problems}
        problems += [problem for problem in batch.problems
                     if not (problem.field == 'subscription_id' and problem.index in unknown)]
        # The subscriptions were looked up with the user's rights; the rows, their late
        # usage and thresholds are written by the server.
        Usage = self.env['fusion.billing.usage'].sudo()
        outcome = Usage._record_usage_batch(self.env['fusion.billing.service'],
                                            [event for event in batch.events if event.index not in unknown], problems)
        if outcome.status != 'ok':
            self._refuse(outcome.problems)
        created = sum(1 for result in outcome.results if result['result'] == 'created')
        updated = sum(1 for result in outcome.results if result['result'] == 'updated')
        return {'type': 'ir.actions.client', 'tag': 'display_notification', 'params': {
            'type': 'success', 'next': {'type': 'ir.actions.act_window_close'},
            'message': self.env._("%(created)s usage rows imported, %(updated)s updated, %(unchanged)s unchanged.",
                                  created=created, updated=updated,
                                  unchanged=len(outcome.results) - created - updated)}}

    def _read_events(self):
        """The file's rows as usage events (the API's JSON shape), and the problems of the
        rows that name no readable subscription. Indexes are the rows' positions."""
        try:
            text = base64.b64decode(self.file).decode('utf-8-sig')
            rows = list(csv.DictReader(io.StringIO(text)))
        except (ValueError, UnicodeDecodeError, csv.Error) as error:
            raise UserError(self.env._("The file is not a UTF-8 CSV file (%s).", error)) from None
        missing = [column for column in COLUMNS[:-1] if rows and column not in rows[0]]
        if not rows or missing:
            raise UserError(self.env._(
                "The file must have a header line with the columns %(columns)s (missing: %(missing)s). "
                "Download the template to start from.", columns=", ".join(COLUMNS),
                missing=", ".join(missing) or self.env._("every row")))
        references = {row['subscription'].strip() for row in rows if row.get('subscription')}
        subscriptions = {order.name: order.id for order in self.env['sale.order'].search(
            [('name', 'in', list(references)), ('is_subscription', '=', True)])}
        events, problems = [], []
        for index, row in enumerate(rows):
            reference = (row.get('subscription') or '').strip()
            subscription_id = subscriptions.get(reference)
            if subscription_id is None and reference.isdigit():
                subscription_id = self.env['sale.order'].search([('id', '=', int(reference)),
                                                                 ('is_subscription', '=', True)]).id or None
            if subscription_id is None:
                problems.append(engine.Problem(index, 'subscription', f"No subscription {reference[:50]!r}."))
            quantity = (row.get('quantity') or '').strip()
            events.append({
                'subscription_id': subscription_id or 0,
                'metric': (row.get('metric') or '').strip(),
                'quantity': _number(quantity),
                'period_start': (row.get('period_start') or '').strip(),
                'period_end': (row.get('period_end') or '').strip(),
                'idempotency_key': (row.get('idempotency_key') or '').strip() or None,
            })
        return events, problems

    def _refuse(self, problems):
        refused = engine.refusal(problems)
        lines = [self.env._("Nothing was imported: %s", refused.message)]
        lines += [self.env._("Line %(line)s, %(field)s: %(message)s", line=problem.index + 2,
                             field=problem.field or '-', message=problem.message)
                  if problem.index is not None else problem.message
                  for problem in refused.problems[:PROBLEMS_SHOWN]]
        raise UserError("\n".join(lines))


def _number(text):
    """A CSV quantity as the API would receive it: a number when it reads as one."""
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text
