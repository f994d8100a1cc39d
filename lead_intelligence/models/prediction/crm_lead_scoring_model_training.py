import logging
from datetime import timedelta

import psycopg2

from odoo import api, fields, models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

# a running training without progress for this long lost its worker (killed, restarted)
STALE_AFTER = timedelta(hours=3)


class CrmLeadScoringModelTraining(models.Model):
    """One training of a company's lead scoring model, run in the background by the training cron.

    Its progress is written and committed by a cursor of its own while the
    training transaction runs, so that anyone can follow it; the training
    itself commits only once the model is complete.
    """

    _name = 'crm.lead.scoring.model.training'
    _description = 'Lead Scoring Model Training'
    _order = 'id desc'

    company_id = fields.Many2one('res.company', required=True, readonly=True, index=True,
                                 default=lambda self: self.env.company)
    user_id = fields.Many2one('res.users', 'Requested By', readonly=True, index='btree_not_null',
                              help="Empty for the weekly training.")
    state = fields.Selection(
        [('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')],
        default='queued', required=True, readonly=True)
    progress = fields.Float(digits=(16, 1), readonly=True, help="How far the training is, in percent.")
    step = fields.Char(readonly=True, help="What the training does now.")
    date_start = fields.Datetime('Started', readonly=True)
    date_end = fields.Datetime('Finished', readonly=True)
    model_id = fields.Many2one('crm.lead.scoring.model', readonly=True, ondelete='set null',
                               help="The model this training produced.")
    message = fields.Text(readonly=True, help="Why the training failed.")

    # one training at a time per company: a second request gets the one under way
    _one_pending_per_company = models.UniqueIndex("(company_id) WHERE state IN ('queued', 'running')")

    @api.depends('company_id', 'date_start')
    def _compute_display_name(self):
        for training in self:
            date = training.date_start or training.create_date or fields.Datetime.now()
            training.display_name = self.env._(
                'Training of %(company)s, %(date)s', company=training.company_id.name,
                date=fields.Datetime.to_string(date)[:16])

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_refresh(self):
        """Reload the form: its progress is written by the training cron."""
        return True

    def action_open_model(self):
        self.ensure_one()
        return {
            'type': 'ir.actions.act_window',
            'res_model': 'crm.lead.scoring.model',
            'res_id': self.model_id.id,
            'view_mode': 'form',
            'target': 'current',
        }

    def _get_form_action(self):
        self.ensure_one()
        return {
            'type': 'ir.actions.act_window',
            'name': self.env._('Model Training'),
            'res_model': self._name,
            'res_id': self.id,
            'view_mode': 'form',
            'views': [(False, 'form')],
            'target': 'current',
        }

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    def _request(self, company):
        """Queue a training for ``company`` and start the training cron at once.

        :return: the new training, or the one of ``company`` already queued or running
        """
        self._fail_stale()
        pending = self.search([('company_id', '=', company.id), ('state', 'in', ('queued', 'running'))], limit=1)
        if pending:
            return pending
        training = self.create({
            'company_id': company.id, 'user_id': self.env.uid, 'state': 'queued',
            'step': self.env._('Waiting for the training job')})
        # sudo: asking for a training starts the system's training job, whoever asks
        self.env.ref('lead_intelligence.ir_cron_train_lead_scoring_model').sudo()._trigger()
        return training

    @api.model
    def _claim_queued(self):
        """Lock the oldest queued training no other worker holds and mark it running.

        :return: the training, or an empty recordset when none is left
        """
        self.flush_model(['state'])
        rows = self.env.execute_query(SQL(
            """SELECT id FROM crm_lead_scoring_model_training WHERE state = 'queued'
                ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"""))
        training = self.browse(rows[0][0] if rows else ())
        if training:
            training.write({'state': 'running', 'date_start': fields.Datetime.now(), 'progress': 0,
                            'step': self.env._('Starting')})
            # written now: the progress cursor must find the row as written, not overwrite it at flush
            training.flush_recordset()
        return training

    @api.model
    def _start(self, company):
        """A new running training for ``company`` (the weekly run).

        :return: the training, or an empty recordset if one was asked for meanwhile
        """
        self.flush_model()
        try:
            with self.env.cr.savepoint():
                training = self.create({
                    'company_id': company.id, 'state': 'running', 'date_start': fields.Datetime.now(),
                    'progress': 0, 'step': self.env._('Starting')})
                training.flush_recordset()
        except psycopg2.errors.UniqueViolation:  # asked for meanwhile: it runs as asked
            return self.browse()
        return training

    @api.model
    def _fail_stale(self):
        """Mark failed the running trainings whose worker stopped reporting progress (killed)."""
        stale = self.search([('state', '=', 'running'), ('write_date', '<', fields.Datetime.now() - STALE_AFTER)])
        if stale:
            stale.write({'state': 'failed', 'date_end': fields.Datetime.now(),
                         'message': self.env._('Interrupted: the training job stopped before the end.')})

    def _report_progress(self, percent, step):
        """Progress callback of :meth:`crm.lead.scoring.model._train_model`."""
        self._write_progress({'progress': min(max(percent, 0), 100), 'step': step})

    def _finish(self, model=None, message=None):
        """Mark the training done with ``model``, or failed with ``message``."""
        vals = {'date_end': fields.Datetime.now()}
        if model:
            vals.update(state='done', progress=100, step=self.env._('Done'), model_id=model.id, message=False)
        else:
            vals.update(state='failed', message=message)
        self._write_progress(vals)

    def _write_progress(self, vals):
        """Write ``vals`` on the trainings and commit them in a cursor of their own.

        The training transaction runs for minutes and commits only at the end:
        its progress is committed apart so that other users see it meanwhile.
        Nothing else of the training is written by that cursor.
        """
        with self.env.registry.cursor() as cr:
            self.with_env(self.env(cr=cr)).write(vals)
        self.invalidate_recordset(list(vals))
