from odoo import api, fields, models
from odoo.tools import SQL

from .writes import crm_lead as lead_writes

# (parent class, its sub-classes: (name, the countries of the leads it takes))
DEMO_CLASSES = [
    ('Asia-Pacific', [('Greater China', ['CN']), ('Japan & Singapore', ['JP', 'SG']), ('India', ['IN'])]),
    ('Europe', [('DACH', ['DE']), ('France & Benelux', ['FR', 'BE']), ('United Kingdom', ['GB'])]),
    ('Americas', [('North America', ['US']), ('Latin America', ['BR'])]),
]
# tier XML id -> first-contact hours (0: none), nurtured
DEMO_TIER_FOLLOW_UP = {
    'lead_intelligence.crm_lead_tier_a': (1.0, False),
    'lead_intelligence.crm_lead_tier_b': (8.0, False),
    'lead_intelligence.crm_lead_tier_c': (24.0, False),
    'lead_intelligence.crm_lead_tier_d': (0.0, True),
}
# open leads of a tier a salesperson may hold at once, per tier XML id
DEMO_CAPACITIES = {
    'lead_intelligence.crm_lead_tier_a': 15,
    'lead_intelligence.crm_lead_tier_b': 30,
    'lead_intelligence.crm_lead_tier_c': 60,
}
# the skills of the demo salespeople, in turn: countries, languages, company sizes
DEMO_SKILLS = [
    (['CN', 'JP', 'SG', 'IN'], ['zh_CN', 'en_US'], ['lead_intelligence.crm_lead_company_size_large']),
    (['US', 'GB', 'DE', 'FR', 'BE', 'BR'], ['en_US'], ['lead_intelligence.crm_lead_company_size_medium',
                                                     'lead_intelligence.crm_lead_company_size_small']),
]


class CrmLead(models.Model):
    """The demo database's configuration: every stage set up as a customer would, on the demo pipeline."""

    _inherit = 'crm.lead'

    @api.model
    def _generate_lead_intelligence_demo_setup(self):
        """Configure the demo database so that every screen has content, then classify, score and route.

        After :meth:`_generate_lead_intelligence_demo` (the pipeline and its history): hierarchical
        lead classes with their rules, first-contact deadlines and nurture on the tiers, the skills
        and capacities of the members of the demo team, routing rules for that team's leads only (so
        that crm's own assignment keeps the other teams), and a lead scoring model trained on the
        demo history and made active. Then every lead is scored again, and the demo team's open
        leads without a salesperson are routed.

        :return: the trained ``crm.lead.scoring.model``
        """
        team = self.env.ref('sales_team.team_sales_department')
        self._setup_demo_classes()
        self._setup_demo_tiers()
        members = self._setup_demo_members(team)
        self._setup_demo_routing(team, members)
        ScoringModel = self.env['crm.lead.scoring.model']
        scoring_model = ScoringModel._train_model()
        if scoring_model.state != 'active':  # the administrator's choice on a small history: show it at work
            scoring_model._activate()
        all_leads = self.with_context(active_test=False).search([])  # pylint: disable=no-search-all
        self._score_leads(all_leads.ids, 'manual')
        self.env.flush_all()
        open_ids = [row[0] for row in self.env.execute_query(SQL(
            """SELECT id FROM crm_lead WHERE team_id = %s AND user_id IS NULL AND active
                  AND won_status = 'pending' ORDER BY id""", team.id))]
        self._route_leads(lead_writes.queue_for_routing(self.env, open_ids))
        self.invalidate_model()
        # the passes the configuration scheduled have nothing left to do: every lead is scored
        self.env['crm.lead.score.run'].search([('state', '=', 'running')]).write(
            {'state': 'cancel', 'date_end': fields.Datetime.now()})
        return scoring_model

    @api.model
    def _setup_demo_classes(self):
        """Regions and their sub-regions, each sub-region given by a classification rule on the country."""
        Class = self.env['crm.lead.class']
        rules = []
        for parent_name, children in DEMO_CLASSES:
            parent = Class.create({'name': parent_name})
            for name, codes in children:
                child = Class.create({'name': name, 'parent_id': parent.id})
                rules.append({
                    'name': self.env._('%s by country', child.complete_name), 'dimension': 'class',
                    'class_id': child.id, 'domain': repr([('country_id.code', 'in', codes)]),
                    'description': self.env._('Leads of these countries go to the region\'s team.'),
                })
        self.env['crm.lead.classification.rule'].create(rules)

    @api.model
    def _setup_demo_tiers(self):
        activity = self.env.ref('mail.mail_activity_data_call', raise_if_not_found=False)
        nurture_tag = self.env['crm.tag'].create({'name': self.env._('Nurture')})
        for xmlid, (hours, nurture) in DEMO_TIER_FOLLOW_UP.items():
            self.env.ref(xmlid).write({
                'sla_hours': hours, 'nurture': nurture, 'nurture_tag_id': nurture_tag.id if nurture else False,
                'followup_activity_type_id': activity.id if hours and activity else False,
                'escalation_leader_hours': hours * 2,
            })

    @api.model
    def _setup_demo_members(self, team):
        """The demo team's salespeople (admin and demo, as members if they are not), with skills and capacities."""
        Member = self.env['crm.team.member']
        users = self.env['res.users'].search([('login', 'in', ['admin', 'demo']), ('share', '=', False)], order='id')
        members = Member.search([('crm_team_id', '=', team.id), ('user_id', 'in', users.ids)])
        members |= Member.create([{'crm_team_id': team.id, 'user_id': user.id}
                                  for user in users - members.user_id])
        countries = self.env['res.country'].search(
            [('code', 'in', [code for skill in DEMO_SKILLS for code in skill[0]])])
        langs = self.env['res.lang'].with_context(active_test=False).search(
            [('code', 'in', [code for skill in DEMO_SKILLS for code in skill[1]])])
        for index, member in enumerate(members.sorted('id')):
            codes, lang_codes, sizes = DEMO_SKILLS[index % len(DEMO_SKILLS)]
            member.write({
                'skill_country_ids': [fields.Command.set(
                    countries.filtered(lambda country, codes=codes: country.code in codes).ids)],
                'skill_lang_ids': [fields.Command.set(
                    langs.filtered(lambda lang, lang_codes=lang_codes: lang.code in lang_codes).ids)],
                'skill_company_sizes': [fields.Command.set([self.env.ref(size).id for size in sizes])],
                'capacity_ids': [fields.Command.create({'tier_id': self.env.ref(tier).id, 'max_open_leads': count})
                                 for tier, count in DEMO_CAPACITIES.items()],
            })
        return members

    @api.model
    def _setup_demo_routing(self, team, members):
        """Hot leads to the best skill match, the others in turn: the demo team's leads only."""
        in_team = repr([('team_id', '=', team.id)])
        self.env['crm.lead.routing.rule'].create([{
            'name': self.env._('Hot leads: the best-matching salesperson'), 'sequence': 10, 'method': 'skill',
            'tier_ids': [fields.Command.set([self.env.ref('lead_intelligence.crm_lead_tier_a').id])],
            'team_id': team.id, 'member_ids': [fields.Command.set(members.ids)], 'domain': in_team,
        }, {
            'name': self.env._('Warm and possible leads: in turn'), 'sequence': 20, 'method': 'round_robin',
            'tier_ids': [fields.Command.set([self.env.ref('lead_intelligence.crm_lead_tier_b').id,
                                             self.env.ref('lead_intelligence.crm_lead_tier_c').id])],
            'team_id': team.id, 'member_ids': [fields.Command.set(members.ids)], 'domain': in_team,
        }])
