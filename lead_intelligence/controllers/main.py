import logging

from odoo import http
from odoo.exceptions import UserError
from odoo.http import request

from ..engine import behaviour

_logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 8 * 1024 * 1024  # 1,000 events of a few hundred bytes each, with room to spare


class LeadIntelligenceEventApi(http.Controller):
    """Behaviour events from websites, marketing tools and integrators.

    ``POST /lead_intelligence/v1/events`` with ``Authorization: Bearer <API key>``
    of a user in the group *Lead Intelligence: Event API* and a JSON body
    ``{"events": [...]}``; the answer reports each event (see the README).
    """

    @http.route('/lead_intelligence/v1/events', type='http', auth='bearer', methods=['POST'], csrf=False,
                save_session=False)
    def post_events(self, **_kwargs):
        if not request.env.user.has_group('lead_intelligence.group_lead_intelligence_api'):
            return self._error(403, 'This API key belongs to a user who may not send events: add the user to the '
                                    'group "Lead Intelligence: Event API".')
        length = request.httprequest.content_length
        if length is not None and length > MAX_BODY_BYTES:
            return self._error(413, f'The body is larger than {MAX_BODY_BYTES} bytes: send fewer events per request.')
        # kept: when two requests log the same event at once, one fails to serialize
        # and Odoo runs it again, which must read the same body
        body = request.httprequest.get_data()
        if len(body) > MAX_BODY_BYTES:
            return self._error(413, f'The body is larger than {MAX_BODY_BYTES} bytes: send fewer events per request.')
        try:
            payload = behaviour.loads_events(body)
        except ValueError as error:
            return self._error(400, f'The body is not valid JSON: {error}')
        if not isinstance(payload, dict) or not isinstance(payload.get('events'), list):
            return self._error(400, 'The body must be a JSON object with a list of events: {"events": [...]}')
        events = payload['events']
        try:
            settings = request.env['res.config.settings']._get_lead_intelligence_settings()
            if len(events) > settings['api_max_events']:
                return self._error(413, f'{len(events)} events in one request; at most {settings["api_max_events"]} '
                                        'are accepted: split the batch.')
            # a savepoint: an error answered below must not leave half a batch logged
            with request.env.cr.savepoint():
                results = request.env['crm.lead.event']._ingest(
                    events, source='api', create_leads=settings['api_create_leads'])
        except UserError as error:
            # the settings cannot be used (e.g. an invalid bot pattern): the integrator
            # gets a JSON answer and retries later, once an administrator fixed them
            _logger.warning('Event API: batch refused, the Lead Intelligence settings are not usable: %s', error)
            return self._error(503, f'Events cannot be logged now, nothing was logged: {error} '
                                    'Send the batch again later.')
        summary = {status: sum(1 for result in results if result['status'] == status)
                   for status in ('accepted', 'duplicate', 'rejected')}
        return request.make_json_response({'results': results, **summary})

    def _error(self, status, message):
        return request.make_json_response({'error': {'code': status, 'message': message}}, status=status)
