import json
import logging

from psycopg2 import errors as pg_errors
from werkzeug.exceptions import HTTPException, NotFound, RequestEntityTooLarge

from odoo import fields, http
from odoo.http import request

from .. import engine
from ..const import API_KEY_DISPLAY_LENGTH, API_KEY_PREFIX, API_USER
from ..engine.const import MAX_REQUEST_BYTES

_logger = logging.getLogger(__name__)

# Odoo retries a request that failed on these; they must not be turned into an answer.
RETRIED_ERRORS = (pg_errors.LockNotAvailable, pg_errors.SerializationFailure, pg_errors.DeadlockDetected)
# How long a client should wait after the database kept refusing its batch.
RETRY_AFTER_SECONDS = 2


def json_response(status, payload, headers=()):
    """A JSON response with an exact Content-Length (ASCII-only body)."""
    body = json.dumps(payload, ensure_ascii=True)
    return request.make_response(body, headers=[('Content-Type', 'application/json'), *headers], status=status)


def error_response(status, code, message, details=None, headers=(), count=None):
    error = {'code': code, 'message': message}
    if details is not None:
        error['details'] = details
    if count is not None:
        error['count'] = count
    return json_response(status, {'status': 'error', 'error': error}, headers)


def read_body(httprequest):
    """The request body, read at most up to the limit (also when it is sent chunked,
    without a Content-Length); kept on the request, as Odoo replays the whole request
    after a serialization failure."""
    cached = getattr(httprequest, '_fusion_billing_body', None)
    if cached is not None:
        return cached
    engine.check_body_size(httprequest.content_length)
    if httprequest.content_length is not None:
        raw = httprequest.get_data()
    else:
        # Odoo's request wrapper does not expose the body stream; werkzeug's request does.
        raw = getattr(httprequest, '_HTTPRequest__wrapped', httprequest).stream.read(MAX_REQUEST_BYTES + 1)
        engine.check_body_size(len(raw))
    httprequest._fusion_billing_body = raw
    return raw


def api_error(exception):
    """The JSON answer of an error Odoo met before or around an API route: an unknown
    path, a database that kept refusing the transaction, a bug."""
    if isinstance(exception, NotFound):
        return error_response(404, 'not_found', "There is no such endpoint.")
    if isinstance(exception, RETRIED_ERRORS):
        return error_response(503, 'service_unavailable', "The database is busy; nothing was written. Try again.",
                              headers=[('Retry-After', str(RETRY_AFTER_SECONDS))])
    if isinstance(exception, HTTPException) and exception.code:
        return error_response(exception.code, 'http_error', exception.name)
    return error_response(500, 'internal_error', "The request failed; nothing was written.")


class FusionBillingApi(http.Controller):
    """Machine-facing JSON API for source apps. Each route translates HTTP into one model
    call and its result back into HTTP; every answer, errors included, is JSON."""

    # No `methods=`: Odoo would answer other methods itself, in HTML.
    @http.route('/fusion_billing/v1/usage', type='http', auth='none', csrf=False, readonly=False,
                save_session=False)
    def post_usage(self, **_query):
        httprequest = request.httprequest
        if httprequest.method != 'POST':
            return error_response(405, 'method_not_allowed', "Use POST to report usage.", headers=[('Allow', 'POST')])
        service = self._authenticated_service()
        if not service:
            return self._refuse(service, 401, 'unauthorized',
                                "A valid API key is required: Authorization: Bearer <key>.",
                                headers=[('WWW-Authenticate', 'Bearer')])
        if httprequest.mimetype != 'application/json':
            return self._refuse(service, 415, 'unsupported_media_type', "The request body must be application/json.")
        try:
            batch = engine.parse_usage_batch(read_body(httprequest), now=fields.Datetime.now())
        except RequestEntityTooLarge:
            return self._refuse(service, 413, 'payload_too_large', "The request body is too large.")
        except engine.RequestRefused as refused:
            details = [problem.as_dict() for problem in refused.problems] if refused.status == 400 else None
            return self._refuse(service, refused.status, refused.code, refused.message, details)
        try:
            result = self._as_api_user(service)['fusion.billing.usage']._record_usage_batch(
                service, batch.events, batch.problems)
        except RETRIED_ERRORS:
            raise
        except Exception:  # pylint: disable=broad-exception-caught  # a bug must still answer JSON, and write nothing
            request.env.cr.rollback()
            _logger.exception("Fusion Billing: usage batch of service %s failed", service.code)
            return error_response(500, 'internal_error', "The usage could not be stored; nothing was written.")
        if result.status == 'forbidden':
            return self._refuse(service, 403, 'forbidden',
                                "Some events are for subscriptions this key may not report on.",
                                [problem.as_dict() for problem in result.problems])
        if result.status == 'validation_error':
            refused = engine.refusal(result.problems)
            return self._refuse(service, 400, refused.code, refused.message,
                                [problem.as_dict() for problem in refused.problems], count=refused.count)
        request.env['fusion.billing.api.activity'].sudo()._log(service, 200, 'ok', events=len(result.results))
        return json_response(200, {'status': 'ok', 'results': result.results})

    @http.route('/fusion_billing/v1/subscriptions/<string:subscription_id>/usage', type='http', auth='none',
                csrf=False, save_session=False)
    def get_subscription_usage(self, subscription_id, **_query):
        if request.httprequest.method != 'GET':
            return error_response(405, 'method_not_allowed', "Use GET to read usage.", headers=[('Allow', 'GET')])
        service = self._authenticated_service()
        if not service:
            return error_response(401, 'unauthorized', "A valid API key is required: Authorization: Bearer <key>.",
                                  headers=[('WWW-Authenticate', 'Bearer')])
        env = self._as_api_user(service)
        subscription = env['sale.order'].browse()
        if subscription_id.isascii() and subscription_id.isdigit() and len(subscription_id) <= 9:
            subscription = env['sale.order'].browse(
                env['fusion.billing.usage']._authorized_subscriptions(service, {int(subscription_id)}))
        if not subscription:
            return error_response(403, 'forbidden', "Unknown subscription, or not one this key may read.")
        try:
            report = subscription._fc_usage_report()
        except RETRIED_ERRORS:
            raise
        except Exception:  # pylint: disable=broad-exception-caught  # a bug must still answer JSON
            _logger.exception("Fusion Billing: usage report of subscription %s failed", subscription.id)
            return error_response(500, 'internal_error', "The usage could not be read.")
        return json_response(200, {'status': 'ok', **report})

    def _refuse(self, service, status, code, message, details=None, headers=(), count=None):
        """The JSON error answer of a usage report, counted in the API activity an admin
        can see (the read route runs in a read-only transaction and counts nothing)."""
        key_hint = None
        if not service:
            _scheme, _, key = request.httprequest.headers.get('Authorization', '').partition(' ')
            key = key.strip()
            key_hint = key[:API_KEY_DISPLAY_LENGTH] if key.startswith(API_KEY_PREFIX) else None
        request.env['fusion.billing.api.activity'].sudo()._log(service, status, code, message, details or (),
                                                                key_hint=key_hint)
        return error_response(status, code, message, details, headers, count)

    def _authenticated_service(self):
        """The active service whose key is in the Authorization header, or an empty recordset."""
        scheme, _, key = request.httprequest.headers.get('Authorization', '').partition(' ')
        Service = request.env['fusion.billing.service'].sudo()
        if scheme.lower() != 'bearer' or not key.strip():
            return Service.browse()
        return Service._find_by_api_key(key.strip())

    def _as_api_user(self, service):
        """An environment of the technical API user, in the service's company."""
        api_user = request.env.ref(API_USER).sudo()
        request.update_env(user=api_user.id, context={**request.env.context,
                                                      'allowed_company_ids': service.company_id.ids})
        return request.env
