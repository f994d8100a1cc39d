import logging
import traceback

import numpy as np

from odoo import api, models

from odoo.addons.base_automation.models.base_automation import WRITE_TRIGGERS
from odoo.addons.lead_intelligence.engine.stages import FieldChanges

_logger = logging.getLogger(__name__)

# where a transaction keeps the changes of its passes until it is committed (in cr.postcommit.data)
PENDING_CHANGES = 'lead_intelligence_automation.pass_changes'


class BaseAutomation(models.Model):
    _inherit = 'base.automation'

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    def _get_lead_pass_rules(self, field_names):
        """The active rules on leads that a pass's change of one of ``field_names`` triggers: an
        update trigger (on update, on create and update, user set...) naming it among its
        trigger fields.

        A rule watching every field (no trigger field) is left to users' edits: a night pass
        changes the scores of thousands of leads.
        """
        domain = [('model_name', '=', 'crm.lead'), ('trigger', 'in', WRITE_TRIGGERS),
                  ('trigger_field_ids.name', 'in', sorted(field_names))]
        # sudo: the passes run the rules whoever triggers them, as Odoo runs them after a write
        return self.with_context(active_test=True).sudo().search(domain).with_env(self.env)

    @api.model
    def _queue_lead_pass_changes(self, changes):
        """Keep the changes of a pass (:class:`FieldChanges`) that rules watch, to run the rules
        once the transaction is committed: a failing action then loses none of the pass's work,
        and a transaction rolled back runs none.

        The changes of all the passes of a transaction run together, after its commit
        (:meth:`_run_lead_pass_rules`): a chunk of a job, or a user's request that scored a lead.
        """
        # sudo: the rules' trigger fields, which a salesperson whose edit scored a lead may not read
        watched = self._get_lead_pass_rules(set(changes.field.tolist())).sudo().trigger_field_ids.mapped('name')
        kept = np.isin(changes.field, watched)
        if not kept.any():
            return
        postcommit = self.env.cr.postcommit
        if PENDING_CHANGES not in postcommit.data:
            postcommit.data[PENDING_CHANGES] = []
            postcommit.add(self._make_lead_pass_runner(postcommit.data[PENDING_CHANGES]))
        postcommit.data[PENDING_CHANGES].append(changes.take(kept))

    @api.model
    def _make_lead_pass_runner(self, pending):
        """The function run after the commit: the rules on the changes kept in ``pending`` (a list of
        :class:`FieldChanges`), in a transaction of their own (the pass's cursor goes on with its
        next chunk)."""
        registry, uid = self.env.registry, self.env.uid
        context = {key: self.env.context[key] for key in ('lang', 'tz') if key in self.env.context}

        def run_lead_pass_rules():
            changes = FieldChanges.concatenate(*pending).net()
            if not len(changes):
                return
            try:
                with registry.cursor() as cr:
                    api.Environment(cr, uid, context)['base.automation']._run_lead_pass_rules(changes)
            except Exception:  # pylint: disable=broad-exception-caught  # the pass must go on
                _logger.exception('Lead Intelligence: automation rules on the changes of a pass failed')

        return run_lead_pass_rules

    @api.model
    def _run_lead_pass_rules(self, changes):
        """Run each rule watching a field of ``changes`` (:class:`FieldChanges`, committed) on
        the leads whose watched fields changed, each in a savepoint of its own: a failing rule
        changes nothing, is logged on the rule (:meth:`_log_lead_pass_failure`) and the others
        go on."""
        for rule in self._get_lead_pass_rules(set(changes.field.tolist())):
            # sudo: as above, the rule's trigger fields
            rows = changes.take(np.isin(changes.field, rule.sudo().trigger_field_ids.mapped('name')))
            try:
                with self.env.cr.savepoint():
                    rule._process_lead_pass_changes(rows)
            except Exception as error:  # pylint: disable=broad-exception-caught  # logged on the rule
                rule._log_lead_pass_failure(rows, error)

    def _process_lead_pass_changes(self, changes):
        """Run the rule on the leads of ``changes`` (:class:`FieldChanges` of its trigger fields)
        that satisfied its ``filter_pre_domain`` before the changes and satisfy its
        ``filter_domain`` now, as Odoo's ``_process`` does after a write, but calling each
        action once for all of them (a batch, as the action menu of a list runs it).

        The before domain is Odoo's own ``_filter_pre``, evaluated on new records of the leads
        carrying the old values of the changed fields and the current values of the others
        (``crm.lead._with_pass_old_values``): no query per lead.
        """
        self.ensure_one()
        leads = self.env['crm.lead'].browse(np.unique(changes.lead_id).tolist()).exists()
        # sudo: the rule's own settings, read as Odoo's _process reads them, whoever ran the pass
        if self.sudo().filter_pre_domain and leads:
            leads = self._filter_pre(leads._with_pass_old_values(changes))._origin
        leads, domain_post = self._filter_post_export_domain(leads)
        if not leads:
            return
        # as _process: the rule does not run again on these leads for what its own actions write
        done = dict(self.env.context.get('__action_done', {}))
        done[self] = done.get(self, leads.browse()) | leads
        leads = leads.with_context(__action_done=done)
        leads.date_automation_last = self.env.cr.now()
        # sudo: as above, the rule's actions (each runs with the rights Odoo gives a rule's actions)
        for action in self.sudo().action_server_ids:
            action.with_context(__action_done=done, active_model=leads._name, active_ids=leads.ids,
                                active_id=leads.ids[0], domain_post=domain_post).run()

    def _log_lead_pass_failure(self, changes, error):
        """Log the failure of the rule on the leads of ``changes`` as Odoo logs a failing webhook:
        in the server log and as an error of the rule's logs (``ir.logging``, *Logs* on the rule)."""
        self.ensure_one()
        message = 'Automation rule #%s failed on the leads %s changed by a Lead Intelligence pass:\n%s' % (
            self.id, sorted(set(changes.lead_id.tolist())), ''.join(traceback.format_exception(error)))
        _logger.warning(message)
        # sudo: the system's log, written whoever ran the pass
        self.env['ir.logging'].sudo().create(self._prepare_loggin_values(
            name=self.sudo().name, message=message, level='ERROR'))
