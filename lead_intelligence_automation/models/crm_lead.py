from odoo import api, models
from odoo.fields import Command


class CrmLead(models.Model):
    _inherit = 'crm.lead'

    # ------------------------------------------------------------
    # PASS HOOKS
    # ------------------------------------------------------------

    @api.model
    def _on_pass_changes(self, changes):
        """The automation rules watching the fields a pass changed run on its leads once the
        pass's transaction is committed (see ``base.automation._queue_lead_pass_changes``)."""
        res = super()._on_pass_changes(changes)
        if len(changes):
            self.env['base.automation']._queue_lead_pass_changes(changes)
        return res

    def _with_pass_old_values(self, changes):
        """New records of the leads ``self`` as they were before the changes ``changes``
        (:class:`FieldChanges`): the old values of the fields changed, the current ones of
        the others (read from the leads, in batch, when a domain asks for them)."""
        old = {lead_id: {} for lead_id in self.ids}
        for lead_id, name, value in zip(changes.lead_id.tolist(), changes.field.tolist(),
                                        changes.old_value.tolist(), strict=True):
            field_type = self._fields[name].type
            if field_type == 'many2many':
                value = [Command.set(sorted(value))]
            elif field_type == 'many2one':
                value = value or False
            if lead_id in old:
                old[lead_id][name] = value
        return self.concat(*(self.new(old[lead.id], origin=lead) for lead in self))
