import numpy as np

from odoo import api, models
from odoo.tools import SQL

from odoo.addons.lead_intelligence.models.classification.dimensions import SELECTION_DIMENSIONS

# what a user's write may change of the leads' nurture lists: the email, the lead archived, a value set by hand
NURTURE_LEAD_FIELDS = frozenset({'email_from', 'active', *SELECTION_DIMENSIONS})


class CrmLead(models.Model):
    _inherit = 'crm.lead'

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        """A lead created with a nurtured value (an import, a form) joins its mailing lists."""
        leads = super().create(vals_list)
        if any(NURTURE_LEAD_FIELDS & set(vals) - {'email_from', 'active'} for vals in vals_list):
            self._sync_nurture_lists(self._nurture_emails(leads.ids))
        return leads

    def write(self, vals):
        """A lead archived, given another email or a nurtured value by hand follows its mailing lists."""
        if not NURTURE_LEAD_FIELDS & set(vals):
            return super().write(vals)
        old_emails = self._nurture_emails(self.ids) if 'email_from' in vals else set()
        res = super().write(vals)
        self._sync_nurture_lists(old_emails | self._nurture_emails(self.ids))
        return res

    def _lead_intelligence_is_reply(self, message):
        """A reply to an email marketing message is logged once, by the mailing's trace.

        Such a reply also lands in the lead's chatter, where lead_intelligence
        logs every email answering a message as an email reply: not this one.
        """
        if not super()._lead_intelligence_is_reply(message):
            return False
        if not message.parent_id.message_id:
            return True
        # sudo: whoever posts, the lead's mailings decide whether the reply is already logged
        return not self.env['mailing.trace'].sudo().search_count([
            ('message_id', '=', message.parent_id.message_id), ('model', '=', 'crm.lead'),
            ('res_id', '=', self.id), ('trace_type', '=', 'mail')], limit=1)

    # ------------------------------------------------------------
    # SCORING HOOKS
    # ------------------------------------------------------------

    @api.model
    def _on_tier_moves(self, ids, old_tier_ids, new_tier_ids):
        """A lead entering or leaving a nurtured tier with a mailing list follows it, in the same pass."""
        res = super()._on_tier_moves(ids, old_tier_ids, new_tier_ids)
        tiers, _rules = self._get_nurture_sources()
        moved = np.isin(old_tier_ids, tiers.ids) | np.isin(new_tier_ids, tiers.ids)
        if moved.any():
            self._sync_nurture_lists(self._nurture_emails(ids[moved].tolist()))
        return res

    @api.model
    def _on_pass_changes(self, changes):
        """The leads whose nurtured value a pass changed (the classification's) follow their
        mailing lists, in the pass's transaction: the pass names them, nothing is read again."""
        res = super()._on_pass_changes(changes)
        values = np.isin(changes.field, list(SELECTION_DIMENSIONS))
        if not values.any():
            return res
        _tiers, rules = self._get_nurture_sources()
        fields = list({rule._field_and_key()[0] for rule in rules.filtered('dimension_value')})
        changed = np.unique(changes.lead_id[values & np.isin(changes.field, fields)]) if fields else []
        if len(changed):
            self._sync_nurture_lists(self._nurture_emails(changed.tolist()))
        return res

    @api.model
    def _on_top_topics_changed(self, lead_ids):
        """The leads whose top content topics changed follow the mailing lists of topics."""
        res = super()._on_top_topics_changed(lead_ids)
        _tiers, rules = self._get_nurture_sources()
        if rules.filtered('topic_id'):
            self._sync_nurture_lists(self._nurture_emails(lead_ids))
        return res

    # ------------------------------------------------------------
    # NURTURE LISTS
    # ------------------------------------------------------------

    @api.model
    def _get_nurture_sources(self):
        """What nurtures: the nurtured tiers with a mailing list and the active nurture lists of values.

        :return: (crm.lead.tier, crm.lead.nurture.list) recordsets, both as superuser
        """
        # sudo: the memberships follow the configuration, whoever's change moved the lead
        tiers = self.env['crm.lead.tier'].sudo().search(
            [('nurture', '=', True), ('nurture_mailing_list_id', '!=', False)])
        return tiers, self.env['crm.lead.nurture.list'].sudo().search([])  # pylint: disable=no-search-all

    @api.model
    def _nurture_emails(self, lead_ids):
        """The normalised emails of the leads ``lead_ids`` (a set), in one query."""
        if not lead_ids:
            return set()
        self.flush_model(['email_from', 'email_normalized'])
        return {email for (email,) in self.env.execute_query(SQL(
            'SELECT DISTINCT email_normalized FROM crm_lead WHERE id = ANY(%s) AND email_normalized IS NOT NULL',
            list(lead_ids)))}

    @api.model
    def _sync_nurture_list_members(self, list_ids):
        """Make the members of the mailing lists ``list_ids`` follow the nurture configuration (after it changed)."""
        if not list_ids:
            return
        self.env.flush_all()
        tiers, rules = self._get_nurture_sources()
        emails = {email for (email,) in self.env.execute_query(SQL(
            """SELECT c.email_normalized FROM mailing_subscription s JOIN mailing_contact c ON c.id = s.contact_id
                WHERE s.list_id = ANY(%s) AND s.lead_intelligence_nurture AND c.email_normalized IS NOT NULL""",
            list(list_ids)))}
        qualifying = self._nurture_pairs_sql(tiers, rules, list_ids=list(list_ids))
        if qualifying is not None:
            emails |= {email for email, _list_id in self.env.execute_query(qualifying)}
        self._sync_nurture_lists(emails, tiers, rules)

    @api.model
    def _nurture_pairs_sql(self, tiers, rules, emails=None, list_ids=None):
        """SQL of the (email, mailing list id) pairs the open leads' tiers and values call for, or None
        when nothing nurtures; restricted to the emails ``emails`` and to the lists ``list_ids`` when given."""
        scope = SQL('lead.active AND lead.email_normalized IS NOT NULL')
        if emails is not None:
            scope = SQL('%s AND lead.email_normalized = ANY(%s)', scope, sorted(emails))
        if list_ids is not None:
            tiers = tiers.filtered(lambda tier: tier.nurture_mailing_list_id.id in list_ids)
            rules = rules.filtered(lambda rule: rule.mailing_list_id.id in list_ids)
        parts = []
        if tiers:
            parts.append(SQL(
                """SELECT lead.email_normalized, tier.nurture_mailing_list_id FROM crm_lead lead
                     JOIN crm_lead_tier tier ON tier.id = lead.tier_id WHERE tier.id = ANY(%s) AND %s""",
                tiers.ids, scope))
        by_field = {}
        for rule in rules.filtered('dimension_value'):
            field, key = rule._field_and_key()
            by_field.setdefault(field, []).append((key, rule.mailing_list_id.id))
        for field, pairs in by_field.items():
            parts.append(SQL(
                """SELECT lead.email_normalized, value.list_id FROM crm_lead lead
                     JOIN unnest(%s::varchar[], %s::int[]) AS value(key, list_id) ON lead.%s = value.key
                    WHERE %s""",
                [key for key, _list_id in pairs], [list_id for _key, list_id in pairs], SQL.identifier(field), scope))
        topics = rules.filtered('topic_id')
        if topics:
            parts.append(SQL(
                """SELECT lead.email_normalized, value.list_id FROM crm_lead lead
                     JOIN crm_lead_topic_rel rel ON rel.lead_id = lead.id
                     JOIN unnest(%s::int[], %s::int[]) AS value(topic_id, list_id) ON value.topic_id = rel.topic_id
                    WHERE %s""",
                [rule.topic_id.id for rule in topics],
                [rule.mailing_list_id.id for rule in topics], scope))
        return SQL(' UNION ').join(parts) if parts else None

    @api.model
    def _sync_nurture_lists(self, emails, tiers=None, rules=None):
        """Subscribe the contacts of the emails ``emails`` to the mailing lists their leads' tiers and
        values call for, and unsubscribe them from those they were subscribed to for nurture and no
        lead of theirs calls for any more; in a few queries and one create and one unlink for all.

        A subscription made otherwise (by hand, a form, an import) is never removed, nor an opted-out
        one changed: a contact who opted out stays out. A missing contact is created from its lead.

        :param emails: normalised emails (a set)
        """
        if not emails:
            return
        if tiers is None:
            tiers, rules = self._get_nurture_sources()
        self.env.flush_all()
        qualifying = self._nurture_pairs_sql(tiers, rules, emails=emails)
        wanted = set(self.env.execute_query(qualifying)) if qualifying is not None else set()
        present, stale = set(), []
        for email, list_id, subscription_id, nurture, opt_out in self.env.execute_query(SQL(
                """SELECT c.email_normalized, s.list_id, s.id, s.lead_intelligence_nurture, s.opt_out
                     FROM mailing_subscription s JOIN mailing_contact c ON c.id = s.contact_id
                    WHERE c.email_normalized = ANY(%s)""", sorted(emails))):
            present.add((email, list_id))
            if nurture and not opt_out and (email, list_id) not in wanted:
                stale.append(subscription_id)
        missing = sorted(wanted - present)
        # sudo: the pass and the users whose edits move leads keep the marketing lists in step
        Subscription = self.env['mailing.subscription'].sudo()
        if stale:
            Subscription.browse(stale).unlink()
        if missing:
            contacts = self._get_nurture_contacts({email for email, _list_id in missing})
            Subscription.create([
                {'contact_id': contacts[email], 'list_id': list_id, 'lead_intelligence_nurture': True}
                for email, list_id in missing])

    @api.model
    def _get_nurture_contacts(self, emails):
        """The mailing contact of each email of ``emails`` (the oldest), created from its lead where
        there is none, in one batch.

        :return: {email: mailing.contact id}
        """
        contacts = dict(self.env.execute_query(SQL(
            """SELECT DISTINCT ON (email_normalized) email_normalized, id FROM mailing_contact
                WHERE email_normalized = ANY(%s) ORDER BY email_normalized, id""", sorted(emails))))
        new = sorted(emails - set(contacts))
        if new:
            leads = self.env.execute_query(SQL(
                """SELECT DISTINCT ON (email_normalized) email_normalized, contact_name, partner_name FROM crm_lead
                    WHERE email_normalized = ANY(%s) ORDER BY email_normalized, active DESC, id DESC""", new))
            # sudo: see _sync_nurture_lists; no chatter message per contact created in bulk
            created = self.env['mailing.contact'].sudo().with_context(
                tracking_disable=True, mail_create_nolog=True).create([
                    {'name': contact_name or email, 'email': email, 'company_name': partner_name or False}
                    for email, contact_name, partner_name in leads])
            contacts.update(zip([row[0] for row in leads], created.ids, strict=True))
        return contacts
