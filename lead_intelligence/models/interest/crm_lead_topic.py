import re

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..writes import crm_lead_topic_interest as interest_writes


def like_pattern(glob):
    """The SQL LIKE pattern of a URL glob (``*`` any text, ``?`` one character)."""
    escaped = re.sub(r'([\\%_])', r'\\\1', glob.strip())
    return escaped.replace('*', '%').replace('?', '_')


class CrmLeadTopic(models.Model):
    """A content topic: the pages (URL globs) and event types that tell a lead is interested in it.

    Each lead keeps, per topic, the sum of its counted events of the topic decayed with the
    topic's half-life (``crm.lead.topic.interest``, folded in as events are counted); its top
    topics are its ``topic_ids``, which rules, routing skills and mailing lists read.
    """

    _name = 'crm.lead.topic'
    _description = 'Content Topic'
    _order = 'sequence, name'

    name = fields.Char('Topic', required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    url_patterns = fields.Text(
        'Pages',
        help="One pattern per line: * for any text, ? for one character. A pattern starting with / is matched "
             "on the page's path (/solutions/warehouse*), any other on the whole URL.")
    event_type_ids = fields.Many2many(
        'crm.lead.event.type', 'crm_lead_topic_event_type_rel', 'topic_id', 'type_id', string='Event Types',
        help="Every counted event of these types is of this topic (a webinar: its topic).")
    half_life = fields.Float(
        'Half-Life (Days)', default=30.0,
        help="An event's weight for the topic halves every this many days.")
    company_id = fields.Many2one('res.company', index=True, help="Leave empty to share the topic with every company.")
    lead_count = fields.Integer('Interested Leads', compute='_compute_lead_count')

    @api.constrains('half_life', 'url_patterns')
    def _check_topic(self):
        for topic in self:
            if topic.half_life <= 0:
                raise ValidationError(self.env._('The half-life of a topic must be positive.'))
            for line in (topic.url_patterns or '').splitlines():
                if line.strip() and not line.strip().strip('*?'):
                    raise ValidationError(self.env._(
                        'The page pattern "%(pattern)s" of %(topic)s matches every page: name a part of the page.',
                        pattern=line.strip(), topic=topic.name))

    def _compute_lead_count(self):
        counts = dict(self.env['crm.lead']._read_group([('topic_ids', 'in', self.ids)], ['topic_ids'], ['__count']))
        for topic in self:
            topic.lead_count = counts.get(topic, 0)

    def _patterns(self):
        """[(topic id, LIKE pattern, on the path)] of the active topics."""
        return [(topic.id, like_pattern(line), line.strip().startswith('/'))
                for topic in self.search([]) for line in (topic.url_patterns or '').splitlines() if line.strip()]

    @api.model_create_multi
    def create(self, vals_list):
        topics = super().create(vals_list)
        self._rebuild_interest()
        return topics

    def write(self, vals):
        res = super().write(vals)
        if set(vals) & {'url_patterns', 'event_type_ids', 'half_life', 'active', 'company_id'}:
            self._rebuild_interest()
        return res

    def unlink(self):
        res = super().unlink()
        self._rebuild_interest()
        return res

    @api.model
    def _rebuild_interest(self):
        """The topics changed: every lead's interest rebuilt from the event log (one statement), and its
        top topics."""
        self.env.flush_all()
        interest_writes.rebuild(self.env, self.sudo()._patterns())  # sudo: every company's leads are rebuilt
        changed = interest_writes.set_top_topics(self.env, None, fields.Datetime.now())
        Lead = self.env['crm.lead']
        Lead.invalidate_model(['topic_ids', 'topic_interest_ids'])
        if changed:
            Lead._on_top_topics_changed(sorted(changed))
