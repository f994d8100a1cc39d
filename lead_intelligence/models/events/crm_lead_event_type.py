from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..writes import crm_lead_engagement
from .crm_lead import COUNTER_FIELDS


class CrmLeadEventType(models.Model):
    """A kind of behaviour (a visit, a download, a demo request...) and what it is worth."""

    _name = 'crm.lead.event.type'
    _inherit = ['crm.lead.scoring.config']
    _description = 'Lead Behaviour Event Type'
    _order = 'sequence, id'
    _rec_names_search = ['name', 'code']
    # points are applied at scoring time: changing them rescores every open lead
    _rescore_fields = ('active', 'points', 'points_per', 'half_life')

    name = fields.Char(required=True, translate=True)
    code = fields.Char(required=True, help="Identifies the type in the event API and in imports, e.g. 'visit'.")
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    counter_field = fields.Selection(
        '_selection_counter_field', string='Lead Counter',
        help="The behaviour counter of the lead that each counted event increments (time on site adds the "
             "event's value, in seconds). Empty: the event scores without a counter.")
    points = fields.Float(
        required=True, default=1.0,
        help="Engagement points per event, or per minute when the value is a duration; negative points "
             "(a bounce) lower the engagement.")
    points_per = fields.Selection(
        [('event', 'Event'), ('minute', 'Minute (value in seconds)')],
        default='event', required=True)
    half_life = fields.Float(
        'Half-Life (days)', default=30.0, required=True,
        help="An event's points halve every this many days; 0: they never decay.")
    daily_cap = fields.Integer(
        'Daily Cap per Lead', default=0,
        help="Events of this type counted per lead and day at most; the ones beyond are kept but not "
             "counted. 0: no cap.")
    is_buying_signal = fields.Boolean(
        'Buying Signal',
        help="Quote, demo or pricing requests: a strong sign of intent to buy. Each event also adds one to "
             "the lead's buying signals, whatever its own counter.")
    is_dwell = fields.Boolean(
        'Value Is Dwell Time',
        help="The event's value is the seconds spent: events shorter than the minimum dwell time in "
             "the settings are kept but not counted.")
    description = fields.Text(translate=True)
    event_count = fields.Integer(compute='_compute_event_count', string='Events')

    _code_uniq = models.UniqueIndex('(code)', "An event type with this code already exists.")

    @api.constrains('code')
    def _check_code(self):
        for event_type in self:
            if not event_type.code.replace('_', '').isalnum() or event_type.code != event_type.code.strip().lower():
                raise ValidationError(self.env._(
                    'The code %s must be lower case letters, digits and underscores, e.g. demo_request.',
                    event_type.code))

    @api.constrains('half_life', 'daily_cap')
    def _check_limits(self):
        for event_type in self:
            if event_type.half_life < 0:
                raise ValidationError(self.env._('The half-life of %s cannot be negative.', event_type.name))
            if event_type.daily_cap < 0:
                raise ValidationError(self.env._('The daily cap of %s cannot be negative.', event_type.name))

    @api.model
    def _selection_counter_field(self):
        # the lead's behaviour counters (lead_fields), labelled as on the lead
        Lead = self.env['crm.lead']
        return [(name, Lead._fields[name]._description_string(self.env)) for name in COUNTER_FIELDS]

    def _compute_event_count(self):
        counts = dict(self.env['crm.lead.event']._read_group(
            [('type_id', 'in', self.ids)], ['type_id'], ['__count']))
        for event_type in self:
            event_type.event_count = counts.get(event_type, 0)

    def write(self, vals):
        old_half_lives = {event_type: event_type.half_life for event_type in self} if 'half_life' in vals else {}
        res = super().write(vals)
        changed = self.filtered(lambda event_type: event_type in old_half_lives
                                and old_half_lives[event_type] != event_type.half_life)
        if changed:
            changed._rebuild_engagement()
        return res

    def action_open_events(self):
        self.ensure_one()
        action = self.env['ir.actions.act_window']._for_xml_id('lead_intelligence.crm_lead_event_action')
        action.update({'domain': [('type_id', '=', self.id)], 'context': {}})
        return action

    def _rebuild_engagement(self):
        """Recompute the decayed sums of these types from the event log.

        The stored sums were decayed with the old half-life; a new one needs the
        events again. It is the only time the log is rescanned, in one statement.
        """
        self.env.flush_all()
        crm_lead_engagement.rebuild(self.env, self.ids)
        self.env['crm.lead.engagement'].invalidate_model()
