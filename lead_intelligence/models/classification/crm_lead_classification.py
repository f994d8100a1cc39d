from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..lead_fields import WATCHED_MODELS

# the dimensions a lead is classified along, with their values (industry and classes are records)
COMPANY_SIZES = [('small', 'Small'), ('medium', 'Medium'), ('large', 'Large')]
JOB_LEVELS = [('decision_maker', 'Decision Maker'), ('technical', 'Technical Lead'), ('procurement', 'Procurement'),
              ('manager', 'Manager'), ('staff', 'Staff')]
SOURCE_TYPES = [('internal', 'Internal'), ('external', 'External'), ('self_initiated', 'Self-Initiated')]
SALES_STAGE_CLASSES = [('potential', 'Potential'), ('intent', 'Intent'), ('negotiation', 'Negotiation')]
INTENT_LEVELS = [('high', 'High'), ('medium', 'Medium'), ('low', 'Low')]
LIFECYCLE_STAGES = [('cold', 'Cold'), ('mql', 'MQL'), ('sql', 'SQL'), ('hot', 'Hot')]
SELECTION_DIMENSIONS = {
    'company_size': COMPANY_SIZES,
    'job_level': JOB_LEVELS,
    'source_type': SOURCE_TYPES,
    'sales_stage_class': SALES_STAGE_CLASSES,
    'intent_level': INTENT_LEVELS,
    'lifecycle_stage': LIFECYCLE_STAGES,
}
# dimension -> the crm.lead field it fills
DIMENSION_FIELDS = {'industry': 'industry_id', **{name: name for name in SELECTION_DIMENSIONS}, 'class': 'class_ids'}
DIMENSIONS = [
    ('industry', 'Industry'), ('company_size', 'Company Size'), ('job_level', 'Job Level'),
    ('source_type', 'Source Type'), ('sales_stage_class', 'Sales Stage Class'), ('intent_level', 'Intent Level'),
    ('lifecycle_stage', 'Lifecycle Stage'), ('class', 'Class'),
]
CLASSIFICATION_CAUSES = [('rule', 'Rule'), ('event', 'New behaviour'), ('user', 'User'), ('import', 'Import')]


def _rule_values():
    labels = dict(DIMENSIONS)
    return [(f'{dimension}:{key}', f'{labels[dimension]}: {label}')
            for dimension, values in SELECTION_DIMENSIONS.items() for key, label in values]


class CrmLeadClass(models.Model):
    """An admin-defined class of leads, in a hierarchy (Manufacturing / Automotive / EV parts)."""

    _name = 'crm.lead.class'
    _description = 'Lead Class'
    _parent_name = 'parent_id'
    _parent_store = True
    _rec_name = 'complete_name'
    _order = 'complete_name'

    name = fields.Char(required=True, translate=True)
    parent_id = fields.Many2one('crm.lead.class', 'Parent Class', index=True, ondelete='cascade')
    parent_path = fields.Char(index=True)
    child_ids = fields.One2many('crm.lead.class', 'parent_id', 'Sub-Classes')
    complete_name = fields.Char('Full Name', compute='_compute_complete_name', recursive=True, store=True)
    color = fields.Integer()
    active = fields.Boolean(default=True)
    company_id = fields.Many2one('res.company', index=True, help="Leave empty to share the class with every company.")

    @api.depends('name', 'parent_id.complete_name')
    def _compute_complete_name(self):
        for lead_class in self:
            lead_class.complete_name = (f'{lead_class.parent_id.complete_name} / {lead_class.name}'
                                        if lead_class.parent_id else lead_class.name)

    @api.constrains('parent_id')
    def _check_hierarchy(self):
        if self._has_cycle():
            raise ValidationError(self.env._('A class cannot be its own ancestor.'))


class CrmLeadClassificationRule(models.Model):
    """Sets a dimension of the leads matching a condition: the first matching rule of a dimension
    wins (classes: every matching rule adds its class)."""

    _name = 'crm.lead.classification.rule'
    _description = 'Lead Classification Rule'
    _inherit = ['crm.lead.domain.rule', 'crm.lead.scoring.config']
    _order = 'dimension, sequence, id'
    _rescore_fields = ('domain', 'dimension', 'value', 'industry_id', 'class_id', 'company_id', 'active', 'sequence')

    name = fields.Char('Rule', required=True, translate=True)
    sequence = fields.Integer(default=10, help="Rules of a dimension are tried in this order: the first match wins.")
    active = fields.Boolean(default=True)
    dimension = fields.Selection(DIMENSIONS, required=True, default='job_level')
    value = fields.Selection(_rule_values(), help="The value the rule gives.")
    industry_id = fields.Many2one('res.partner.industry', 'Industry Value')
    class_id = fields.Many2one('crm.lead.class', 'Class Value', ondelete='cascade')
    last_match_date = fields.Datetime(
        'Last Matched', readonly=True, copy=False,
        help="When the rule last matched a lead it classified (a new or edited lead, or every lead after a "
             "configuration change); the quality check warns about rules that no longer do.")
    description = fields.Text('Why', translate=True)

    @api.constrains('dimension', 'value', 'industry_id', 'class_id')
    def _check_value(self):
        for rule in self:
            if rule.dimension == 'industry':
                ok = bool(rule.industry_id)
            elif rule.dimension == 'class':
                ok = bool(rule.class_id)
            else:
                ok = bool(rule.value) and rule.value.split(':')[0] == rule.dimension
            if not ok:
                raise ValidationError(self.env._(
                    'Rule "%(rule)s" must give a value of its own dimension (%(dimension)s).',
                    rule=rule.name, dimension=dict(DIMENSIONS)[rule.dimension]))

    @api.onchange('dimension')
    def _onchange_dimension(self):
        if self.value and self.value.split(':')[0] != self.dimension:
            self.value = False

    def _get_value_key(self):
        """The value the rule gives: a selection key, or an industry or class id."""
        self.ensure_one()
        if self.dimension == 'industry':
            return self.industry_id.id
        if self.dimension == 'class':
            return self.class_id.id
        return self.value.split(':', 1)[1]

    def _is_stable(self):
        """Whether the rule's result can change only when the lead itself is written
        or the configuration changes.

        Such a rule reads the lead's own stored fields, none of them moved by a
        scoring pass or written behind the ORM (see
        ``crm.lead._is_classification_stable_field``), and through them only
        stored fields of the records of ``WATCHED_MODELS`` (a stage's sequence,
        a country's code, a tag's name), whose edits start a full pass. A lead
        no one edited since its last classification keeps its result, and the
        nightly pass need not match the rule again on it. A sub-domain
        (``any``) or a path through any other record (``partner_id.name``) is
        never stable.
        """
        self.ensure_one()
        return all(self._stable_path(condition) for condition in self._get_lead_domain().iter_conditions())

    def _stable_path(self, condition):
        """Whether the condition reads only stable fields; see :meth:`_is_stable`."""
        if condition.operator in ('any', 'not any', 'any!', 'not any!'):
            return False
        name, *path = condition.field_expr.split('.')
        Lead = self.env['crm.lead']
        if not Lead._is_classification_stable_field(name):
            return False
        model = Lead
        for hop in [name, *path][:-1]:
            field = model._fields[hop]
            if not field.relational or field.comodel_name not in WATCHED_MODELS:
                return False
            model = self.env[field.comodel_name]
        if path:
            field = model._fields.get(path[-1])
            if field is None or not field.store or field.compute or field.relational:
                return False
        return True

    def _rule_source_fields(self):
        """(model, field) pairs of the records the rules read through paths."""
        pairs = set()
        for rule in self:
            try:
                domain = rule._get_lead_domain()
            except ValidationError:
                continue  # set aside when the leads are next matched
            for condition in domain.iter_conditions():
                model = self.env['crm.lead']
                for name in condition.field_expr.split('.'):
                    field = model._fields.get(name)
                    if field is None:
                        break
                    if model._name != 'crm.lead':
                        pairs.add((model._name, name))
                    if not field.relational:
                        break
                    model = self.env[field.comodel_name]
        return pairs

    def _on_rule_source_change(self, model_name, field_names):
        """A record the rules may read changed (``field_names``) or is deleted (None):
        if an active rule reads it, reclassify every open lead."""
        # sudo: whoever edits a stage or a tag, the rules that read them must be known
        rules = self.sudo().search([])  # pylint: disable=no-search-all
        read = {field for model, field in rules._rule_source_fields() if model == model_name}
        if read and (field_names is None or read & field_names):
            self.env['crm.lead']._trigger_full_rescore()


class CrmLeadClassificationHistory(models.Model):
    _name = 'crm.lead.classification.history'
    _description = 'Lead Classification History'
    _order = 'date desc, id desc'
    _log_access = False  # written in bulk by SQL; date and user say when and who

    lead_id = fields.Many2one('crm.lead', required=True, index=True, ondelete='cascade')
    company_id = fields.Many2one(related='lead_id.company_id')
    date = fields.Datetime(required=True, default=fields.Datetime.now, index=True)
    user_id = fields.Many2one('res.users', 'By')
    dimension = fields.Selection(DIMENSIONS, required=True)
    old_value = fields.Char()
    new_value = fields.Char()
    cause = fields.Selection(CLASSIFICATION_CAUSES, required=True)
