from odoo import fields, models


class CrmLeadScoreRun(models.Model):
    """One pass of the full rescore over the open leads.

    The pass commits after every chunk together with ``last_lead_id``, so a
    worker that is killed leaves a run in progress that the next one resumes.
    """

    _name = 'crm.lead.score.run'
    _description = 'Lead Scoring Run'
    _order = 'id desc'

    state = fields.Selection(
        [('running', 'In Progress'), ('done', 'Done'), ('cancel', 'Superseded')], default='running', required=True)
    cause = fields.Selection([('nightly', 'Nightly pass'), ('config', 'Configuration changed')],
                             default='nightly', required=True)
    date_start = fields.Datetime('Started', default=fields.Datetime.now, required=True)
    date_end = fields.Datetime('Finished')
    last_lead_id = fields.Integer('Last Lead Done', default=0,
                                  help="Leads up to this id are done; a resumed run starts after it.")
    leads_done = fields.Integer('Leads Scored')
    leads_changed = fields.Integer()
