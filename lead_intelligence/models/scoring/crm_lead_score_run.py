from datetime import timedelta

from odoo import fields, models

RETRY_DELAY = timedelta(minutes=15)  # after a failure; doubled after each further one, up to a day
MAX_RETRY_DELAY = timedelta(days=1)


class CrmLeadScoreRun(models.Model):
    """One pass of the full rescore over the open leads.

    The pass commits after every chunk together with ``last_lead_id``, so a
    worker that is killed leaves a run in progress that the next one resumes.
    A pass that fails is marked failed and retried later, from where it was.
    """

    _name = 'crm.lead.score.run'
    _description = 'Lead Scoring Run'
    _order = 'id desc'

    state = fields.Selection(
        [('running', 'In Progress'), ('failed', 'Failed'), ('done', 'Done'), ('cancel', 'Superseded')],
        default='running', required=True)
    cause = fields.Selection([('nightly', 'Nightly pass'), ('config', 'Configuration changed')],
                             default='nightly', required=True)
    date_start = fields.Datetime('Started', default=fields.Datetime.now, required=True)
    date_end = fields.Datetime('Finished')
    last_lead_id = fields.Integer('Last Lead Done', default=0,
                                  help="Leads up to this id are done; a resumed run starts after it.")
    leads_done = fields.Integer(
        'Leads Scored',
        help="The open leads the pass read and scored. A nightly pass leaves out the leads whose scores cannot have "
             "moved since the last one: not edited, and no decay of their engagement that could move a rounded score.")
    leads_changed = fields.Integer()
    failure_count = fields.Integer('Failures', readonly=True, help="How many times the pass failed and was retried.")
    error_message = fields.Text('Last Error', readonly=True)
    trend_window_days = fields.Integer(
        'Trend Window', readonly=True, copy=False,
        help="The score trend's window (days) when the pass ended: the next nightly pass recomputes the trend "
             "only of the leads whose score moved or whose score history crossed the window's start since, "
             "while the window is the same.")
    stable_key = fields.Char(
        'Stable Rules', readonly=True, copy=False,
        help="The profile-fit rules that were stable (their result changes only when the lead is edited) "
             "when the pass ended: every open lead then holds its matches of them. A nightly pass reads "
             "those matches instead of matching the rules again, as long as the stable rules stay the same.")
    settled_key = fields.Char(
        'Settled Scores', readonly=True, copy=False,
        help="The scoring configuration (points, blend, tiers, event types, models) when the pass ended, if it kept "
             "until when each lead's scores hold as its engagement decays. A nightly pass then scores only the "
             "leads edited since or whose time has come, as long as the configuration stays the same.")

    def _mark_failed(self, message):
        """The pass failed: say so, and schedule its retry (later after each failure)."""
        self.ensure_one()
        now = fields.Datetime.now()
        self.write({'state': 'failed', 'date_end': now, 'failure_count': self.failure_count + 1,
                    'error_message': message})
        cron = self.env.ref('lead_intelligence.ir_cron_rescore_all_leads', raise_if_not_found=False)
        if cron:
            # sudo: the system's own job is scheduled again, whoever's action failed
            cron.sudo()._trigger(at=now + min(RETRY_DELAY * 2 ** (self.failure_count - 1), MAX_RETRY_DELAY))
