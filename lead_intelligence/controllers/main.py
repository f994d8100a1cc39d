import logging

from odoo import http
from odoo.exceptions import UserError
from odoo.http import request

from ..engine import behaviour

_logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 8 * 1024 * 1024  # 1,000 events of a few hundred bytes each, with room to spare
STATUSES = ('accepted', 'duplicate', 'rejected')


def error_response(status, message):
    """A JSON error answer, ``{"error": {"code", "message"}}``, with the HTTP status ``status``."""
    return request.make_json_response({'error': {'code': status, 'message': message}}, status=status)


def read_payload():
    """The JSON body of a request to an event endpoint, once its user may send events.

    :return: ``(payload, None)``, or ``(None, response)``: the error to answer
    """
    if not request.env.user.has_group('lead_intelligence.group_lead_intelligence_api'):
        return None, error_response(403, 'This API key belongs to a user who may not send events: add the user '
                                         'to the group "Lead Intelligence: Event API".')
    length = request.httprequest.content_length
    if length is not None and length > MAX_BODY_BYTES:
        return None, error_response(
            413, f'The body is larger than {MAX_BODY_BYTES} bytes: send fewer events per request.')
    # kept: when two requests log the same event at once, one fails to serialize
    # and Odoo runs it again, which must read the same body
    body = request.httprequest.get_data()
    if len(body) > MAX_BODY_BYTES:
        return None, error_response(
            413, f'The body is larger than {MAX_BODY_BYTES} bytes: send fewer events per request.')
    try:
        return behaviour.loads_events(body), None
    except ValueError as error:
        return None, error_response(400, f'The body is not valid JSON: {error}')


def ingest_response(items, ingest, statuses=STATUSES):
    """Log a batch of ``items`` with ``ingest`` and answer each item's result, with a count per status.

    :param ingest: function of the Lead Intelligence settings (a dict) returning one
        ``{'index', 'status', 'reason'}`` per item
    """
    try:
        settings = request.env['res.config.settings']._get_lead_intelligence_settings()
        if len(items) > settings['api_max_events']:
            return error_response(413, f'{len(items)} events in one request; at most {settings["api_max_events"]} '
                                       'are accepted: split the batch.')
        # a savepoint: an error answered below must not leave half a batch logged
        with request.env.cr.savepoint():
            results = ingest(settings)
    except UserError as error:
        # the settings cannot be used (e.g. an invalid bot pattern): the integrator
        # gets a JSON answer and retries later, once an administrator fixed them
        _logger.warning('Event API: batch refused, the Lead Intelligence settings are not usable: %s', error)
        return error_response(503, f'Events cannot be logged now, nothing was logged: {error} '
                                   'Send the batch again later.')
    summary = {status: sum(1 for result in results if result['status'] == status) for status in statuses}
    return request.make_json_response({'results': results, **summary})


class LeadIntelligenceEventApi(http.Controller):
    """Behaviour events from websites, marketing tools and integrators.

    ``POST /lead_intelligence/v1/events`` with ``Authorization: Bearer <API key>``
    of a user in the group *Lead Intelligence: Event API* and a JSON body
    ``{"events": [...]}``; the answer reports each event (see docs/api.md).
    """

    @http.route('/lead_intelligence/v1/events', type='http', auth='bearer', methods=['POST'], csrf=False,
                save_session=False)
    def post_events(self, **_kwargs):
        payload, error = read_payload()
        if error:
            return error
        if not isinstance(payload, dict) or not isinstance(payload.get('events'), list):
            return error_response(400, 'The body must be a JSON object with a list of events: {"events": [...]}')
        events = payload['events']
        return ingest_response(events, lambda settings: request.env['crm.lead.event']._ingest(
            events, source='api', create_leads=settings['api_create_leads']))
