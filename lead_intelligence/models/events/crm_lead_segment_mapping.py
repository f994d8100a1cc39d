from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ...engine import segment


class CrmLeadSegmentMapping(models.Model):
    """Which event type a Segment ``track`` event name or ``page`` path is: the first mapping
    whose pattern matches, in sequence order."""

    _name = 'crm.lead.segment.mapping'
    _description = 'Segment Event Mapping'
    _order = 'call_type, sequence, id'
    _rec_name = 'pattern'

    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    call_type = fields.Selection(
        [(segment.TRACK, 'Track: event name'), (segment.PAGE, 'Page: path')], 'Call', required=True,
        default=segment.TRACK)
    pattern = fields.Char(
        required=True,
        help="The track event's name (e.g. Demo Requested) or the page's path (e.g. /pricing*), with * for any "
             "text and ? for one character; letter case is ignored. The first matching mapping wins.")
    type_id = fields.Many2one('crm.lead.event.type', 'Event Type', required=True, ondelete='cascade')

    @api.constrains('pattern')
    def _check_pattern(self):
        for mapping in self:
            if not mapping.pattern.strip():
                raise ValidationError(self.env._('A Segment mapping needs a pattern: an event name or a page path.'))

    @api.model
    def _get_compiled_mappings(self):
        """The active mappings of active event types, compiled (``engine.segment.compile_mappings``)."""
        # sudo: the API user reads every mapping to type the calls it receives
        mappings = self.sudo().search([('type_id.active', '=', True)])
        return segment.compile_mappings(
            segment.Mapping(mapping.call_type, mapping.pattern, mapping.type_id.code) for mapping in mappings)
