from odoo import api, fields, models
from odoo.exceptions import AccessError

from .lead_fields import FIELDS_NOT_SCORED


class CrmLead(models.Model):
    """What every stage of the lead builds on: the fields only the addon fills in
    (``system_owned``), and the dirty flag a write sets for the scoring job."""

    _inherit = 'crm.lead'

    score_dirty = fields.Boolean(
        'Score Outdated', default=True, copy=False, readonly=True, system_owned=True,
        help="The lead changed since it was last scored; the scoring job will rescore it within minutes.")

    _score_dirty_idx = models.Index('(id) WHERE score_dirty')

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    def _valid_field_parameter(self, field, name):
        # system_owned: see _check_system_owned_fields; counter: a behaviour counter (events/crm_lead.py)
        return name in ('system_owned', 'counter') or super()._valid_field_parameter(field, name)

    def write(self, vals):
        self._check_system_owned_fields(vals)
        if not vals.get('score_dirty') and set(vals) - FIELDS_NOT_SCORED:
            # same UPDATE statement: flagging costs no query; the dirty job scores in batch
            vals = dict(vals, score_dirty=True)
        res = super().write(vals)
        if self.env.context.get('lead_intelligence_score_now'):
            self._score_now()
        return res

    @api.model_create_multi
    def create(self, vals_list):
        self._check_system_owned_fields({name for vals in vals_list for name in vals})
        leads = super().create(vals_list)
        if self.env.context.get('lead_intelligence_score_now'):
            leads._score_now()
        return leads

    def _check_system_owned_fields(self, names):
        """Refuse a user's write or create naming a field the addon fills in (``system_owned``).

        The passes write those fields by SQL, or through the ORM as superuser:
        only ``env.su`` lets a write through, never a context key, which any RPC
        call may set. The web client does not send read-only fields on save.
        """
        if self.env.su:
            return
        owned = sorted(name for name in names if getattr(self._fields.get(name), 'system_owned', False))
        if owned:
            raise AccessError(self.env._(
                'These fields are filled in by Lead Intelligence and cannot be set by hand: %s.',
                ', '.join(self._fields[name]._description_string(self.env) for name in owned)))

    def web_save(self, vals, specification, next_id=None):
        """A form saved in the UI is scored at once, so the user sees the effect."""
        if self.env['res.config.settings']._get_lead_intelligence_settings()['score_on_save'] == 'now':
            self = self.with_context(lead_intelligence_score_now=True)
        return super().web_save(vals, specification, next_id=next_id)

    # ------------------------------------------------------------
    # PASS HOOKS
    # ------------------------------------------------------------

    @api.model
    def _on_pass_changes(self, changes):
        """Hook of the passes, after each of their writes by SQL: the lead fields they changed
        (scores and tier, the classification's dimensions and classes, the routing state and
        salesperson), an :class:`engine.stages.FieldChanges` of the old and new values.

        Called in the pass's transaction, which may still roll back: what must happen only
        once the changes are committed waits for the commit (``cr.postcommit``). Nothing
        here; the automation rules' bridge runs the rules watching those fields.
        """
