from odoo import fields, models


class CrmLeadCluster(models.Model):
    """A segment of similar leads found by a segmentation run, described in words from its centre."""

    _name = 'crm.lead.cluster'
    _description = 'Lead Segment'
    _order = 'run_id desc, sequence, id'

    run_id = fields.Many2one('crm.lead.cluster.run', 'Segmentation', required=True, ondelete='cascade', index=True)
    sequence = fields.Integer()
    name = fields.Char('Lead Segment', required=True, translate=True)
    description = fields.Char(readonly=True, help="What sets the segment's leads apart from the average lead.")
    lead_count = fields.Integer('Open Leads', readonly=True)
    won_count = fields.Integer('Closed Won', readonly=True, help="Closed leads nearest to this segment that were won.")
    lost_count = fields.Integer('Closed Lost', readonly=True)
    conversion = fields.Float(
        'Conversion %', compute='_compute_conversion', digits=(16, 1),
        help="Won out of the closed (won or lost) leads nearest to this segment.")
    class_id = fields.Many2one('crm.lead.class', 'Lead Class', readonly=True,
                               help="The class the segment's leads get, by a classification rule on the segment.")
    company_id = fields.Many2one(related='run_id.company_id', store=True)

    def _compute_conversion(self):
        for cluster in self:
            closed = cluster.won_count + cluster.lost_count
            cluster.conversion = 100.0 * cluster.won_count / closed if closed else 0.0

    def action_make_class(self):
        """A lead class for each segment, given to its leads by a classification rule on the segment."""
        for cluster in self.filtered(lambda cluster: not cluster.class_id):
            lead_class = self.env['crm.lead.class'].create({'name': cluster.name, 'company_id': cluster.company_id.id})
            self.env['crm.lead.classification.rule'].create({
                'name': cluster.name, 'dimension': 'class', 'class_id': lead_class.id,
                'domain': repr([('cluster_id', '=', cluster.id)]), 'company_id': cluster.company_id.id,
            })
            cluster.class_id = lead_class
        return True

    def action_open_leads(self):
        self.ensure_one()
        return {
            'type': 'ir.actions.act_window', 'res_model': 'crm.lead', 'name': self.name,
            'view_mode': 'list,kanban,form', 'domain': [('cluster_id', '=', self.id)],
        }
