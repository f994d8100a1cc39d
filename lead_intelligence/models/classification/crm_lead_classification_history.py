from odoo import api, fields, models
from odoo.fields import Domain

from ..log_fields import UncheckedMany2one, delete_all_dangling
from .dimensions import CLASSIFICATION_CAUSES, DIMENSIONS, SELECTION_DIMENSIONS


def class_codes(class_ids):
    """The code of a set of classes as the history keeps it: their ids, sorted, comma-separated."""
    return ','.join(str(class_id) for class_id in sorted(class_ids))


class CrmLeadClassificationHistory(models.Model):
    """A changed value of a lead's dimension.

    The values are kept as codes (a selection key such as ``decision_maker``, an industry id,
    the class ids comma-separated) and shown by their labels in the reader's language.
    """

    _name = 'crm.lead.classification.history'
    _description = 'Lead Classification History'
    _order = 'date desc, id desc'
    _log_access = False  # written in bulk by SQL; date and user say when and who

    # unchecked by the database, as the score history's (see UncheckedMany2one): the lead's unlink
    # deletes its rows, the autovacuum those of leads deleted another way
    lead_id = UncheckedMany2one('crm.lead', required=True, index=True, ondelete='cascade')
    company_id = fields.Many2one(related='lead_id.company_id')
    date = fields.Datetime(required=True, default=fields.Datetime.now, index=True)
    user_id = fields.Many2one('res.users', 'By')
    dimension = fields.Selection(DIMENSIONS, required=True)
    old_value = fields.Char('Old Value Code')
    new_value = fields.Char('New Value Code')
    old_label = fields.Char('Old Value', compute='_compute_labels')
    new_label = fields.Char('New Value', compute='_compute_labels', search='_search_new_label')
    cause = fields.Selection(CLASSIFICATION_CAUSES, required=True)

    @api.autovacuum
    def _gc_dangling_references(self):
        """The rows of leads deleted other than by ``unlink`` (by SQL, or while a pass logged them)."""
        delete_all_dangling(self.env, self._name)

    @api.depends('dimension', 'old_value', 'new_value')
    @api.depends_context('lang')
    def _compute_labels(self):
        labels = self._value_labels(self.mapped('old_value') + self.mapped('new_value'), self.mapped('dimension'))
        for row in self:
            row.old_label = labels(row.dimension, row.old_value)
            row.new_label = labels(row.dimension, row.new_value)

    def _search_new_label(self, operator, value):
        """The rows whose new value's label (in the user's language) matches: the codes of the
        matching selection values, industries and classes."""
        if operator not in ('ilike', '=', 'in'):
            return NotImplemented
        Lead = self.env['crm.lead']
        # sudo: the history names the industries and the classes, as the lead shows them
        industries = self.env['res.partner.industry'].sudo().with_context(active_test=False)._search(
            [('name', operator, value)])
        classes = self.env['crm.lead.class'].sudo().with_context(active_test=False)._search(
            [('complete_name', operator, value)])
        domain = Domain('dimension', '=', 'industry') & Domain(
            'new_value', 'in', [str(industry_id) for industry_id in industries])
        for class_id in classes:
            domain |= Domain('dimension', '=', 'class') & (
                Domain('new_value', '=', str(class_id)) | Domain('new_value', '=like', f'{class_id},%')
                | Domain('new_value', '=like', f'%,{class_id}') | Domain('new_value', '=like', f'%,{class_id},%'))
        wanted = [value] if operator != 'in' else list(value)
        for dimension in SELECTION_DIMENSIONS:
            keys = [
                key for key, label in Lead._fields[dimension]._description_selection(self.env)
                if any(label == text or (operator == 'ilike' and str(text).lower() in label.lower())
                       for text in wanted)
            ]
            if keys:
                domain |= Domain('dimension', '=', dimension) & Domain('new_value', 'in', keys)
        return domain

    @api.model
    def _value_labels(self, codes, dimensions):
        """A function (dimension, code) -> the value's label in the user's language, for the
        ``codes`` of ``dimensions`` (its industries and classes read once).

        A code no value has (a record deleted since) reads as it is stored."""
        Lead = self.env['crm.lead']
        selections = {dimension: dict(Lead._fields[dimension]._description_selection(self.env))
                      for dimension in SELECTION_DIMENSIONS if dimension in dimensions}
        ids = {int(part) for code in codes if code for part in code.split(',') if part.isdigit()}
        names = {}
        if 'industry' in dimensions:
            # sudo: the history names the industries, as the lead shows them
            industries = self.env['res.partner.industry'].sudo().with_context(active_test=False)
            names['industry'] = {
                industry.id: industry.display_name for industry in industries.browse(ids).exists()}
        if 'class' in dimensions:
            # sudo: the history names the classes, as the lead shows them
            classes = self.env['crm.lead.class'].sudo().with_context(active_test=False)
            names['class'] = {lead_class.id: lead_class.display_name for lead_class in classes.browse(ids).exists()}

        def label(dimension, code):
            if not code:
                return False
            if dimension in selections:
                return selections[dimension].get(code, code)
            parts = [names[dimension].get(int(part), part) if part.isdigit() else part for part in code.split(',')]
            return ', '.join(sorted(parts))

        return label
