from odoo import models

from ..lead_fields import WATCHED_MODELS


class CrmLeadRuleSource(models.AbstractModel):
    """Records classification rules read through a path: their changes reclassify the leads.

    Inherited by each model of ``lead_fields.WATCHED_MODELS``, below.
    """

    _name = 'crm.lead.rule.source'
    _description = 'Record Read by Lead Classification Rules'

    def write(self, vals):
        res = super().write(vals)
        self.env['crm.lead.classification.rule']._on_rule_source_change(self._name, set(vals))
        return res

    def unlink(self):
        # deleting a record empties the leads' field through the foreign key, behind the ORM
        self.env['crm.lead.classification.rule']._on_rule_source_change(self._name, None)
        return super().unlink()


def _watch(model_name):
    """Make ``model_name`` inherit ``crm.lead.rule.source``: the class one would write for each watched model,
    ``class CrmStage(models.Model): _name = 'crm.stage'; _inherit = ['crm.stage', 'crm.lead.rule.source']``,
    made from the table so that a model is watched by adding it there, in one place."""
    class_name = ''.join(part.capitalize() for part in model_name.split('.'))
    return type(models.Model)(class_name, (models.Model,), {
        '__module__': __name__, '__qualname__': class_name,
        '_name': model_name, '_inherit': [model_name, 'crm.lead.rule.source'],
    })


for _model_name in WATCHED_MODELS:
    _watch(_model_name)
