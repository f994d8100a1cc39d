from odoo import http
from odoo.http import request

from ..engine import segment
from .main import STATUSES, error_response, ingest_response, read_payload


class LeadIntelligenceSegmentApi(http.Controller):
    """Segment tracking calls (the spec Segment, RudderStack and Jitsu send) as behaviour events.

    ``POST /lead_intelligence/segment/v1/<track|page|identify|batch>`` with
    ``Authorization: Bearer <API key>`` of a user in the group *Lead Intelligence:
    Event API*: one call, or ``{"batch": [...]}``; the answer reports each call as
    the event API does (see docs/api.md).
    """

    @http.route('/lead_intelligence/segment/v1/<string:call_type>', type='http', auth='bearer', methods=['POST'],
                csrf=False, save_session=False)
    def post_calls(self, call_type, **_kwargs):
        if call_type not in (*segment.CALL_TYPES, 'batch'):
            return error_response(404, f'No Segment endpoint {call_type!r}: use track, page, identify or batch.')
        payload, error = read_payload()
        if error:
            return error
        if call_type != 'batch':
            calls, kind, sent_at = [payload], call_type, None
        elif isinstance(payload, dict) and isinstance(payload.get('batch'), list):
            calls, kind, sent_at = payload['batch'], None, payload.get('sentAt')
        else:
            return error_response(400, 'The body must be a JSON object with a list of calls: {"batch": [...]}')
        return ingest_response(calls, lambda settings: request.env['crm.lead.segment.event']._ingest(
            calls, kind=kind, sent_at=sent_at, create_leads=settings['api_create_leads']),
            statuses=(*STATUSES, 'staged'))
