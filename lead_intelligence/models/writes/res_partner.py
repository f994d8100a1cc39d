"""The account roll-up's SQL writes: ``res_partner`` (the account's score, tier and engaged
roles), its history, and the account's tier copied on its leads."""

from odoo.tools import SQL

from ..accounts.res_partner import role_codes


def roll_up_accounts(env, lead_ids, engagement_days, role_points):
    """Score the accounts of ``lead_ids`` (every account when None) from their open leads, in
    three statements: one that reads the open leads once, writes the accounts and one history row
    per account whose score or tier moved, and returns the open leads whose copy of their
    account's tier differs; their copy written (a closed lead keeps the figures it closed with);
    and the leads left without a contact cleared.

    :param engagement_days: a lead counts as engaged when its last counted event is this recent
    :param role_points: points an account earns for each buying role engaged
    :return: the number of accounts whose score, tier or roles changed
    """
    open_lead = SQL(
        """SELECT lead.id, lead.account_tier_id, contact.commercial_partner_id AS account_id, score.score,
                  lead.job_level, lead.last_engagement_date >= now() at time zone 'UTC' - %s AS engaged""",
        SQL('make_interval(days => %s)', engagement_days))
    # the engaged buying roles, in the order of role_codes(), by one flag per role: an aggregate
    # that hashes (array_agg(DISTINCT) sorts every open lead by account)
    rolled = SQL(
        """SELECT account_id, count(*) AS open_count, max(COALESCE(score, 0)) AS best,
                  array_remove(ARRAY[%s]::varchar[], NULL) AS roles
             FROM open_leads GROUP BY account_id""",
        SQL(', ').join(SQL('CASE WHEN bool_or(engaged AND job_level = %s) THEN %s END', role, role)
                       for role in role_codes()))
    if lead_ids is None:
        # every account: the open leads read once, the accounts being theirs and those with a score
        heads = SQL(
            """WITH open_leads AS (
                   %(open_lead)s
                     FROM crm_lead lead
                     JOIN res_partner contact ON contact.id = lead.partner_id
                     LEFT JOIN crm_lead_score score ON score.id = lead.score_line_id
                    WHERE lead.active AND lead.won_status = 'pending'),
               rolled AS (%(rolled)s),
               accounts(id) AS (
                   SELECT account_id FROM rolled UNION SELECT id FROM res_partner WHERE account_score IS NOT NULL),""",
            open_lead=open_lead, rolled=rolled)
    else:
        heads = SQL(
            """WITH accounts(id) AS (
                   SELECT DISTINCT contact.commercial_partner_id
                     FROM crm_lead lead JOIN res_partner contact ON contact.id = lead.partner_id
                    WHERE lead.id = ANY(%(ids)s)),
               open_leads AS (
                   -- from the accounts to their contacts and leads, by the indexes of both links
                   %(open_lead)s
                     FROM accounts
                     JOIN res_partner contact ON contact.commercial_partner_id = accounts.id
                     JOIN crm_lead lead ON lead.partner_id = contact.id
                     LEFT JOIN crm_lead_score score ON score.id = lead.score_line_id
                    WHERE lead.active AND lead.won_status = 'pending'),
               rolled AS (%(rolled)s),""",
            ids=list(lead_ids), open_lead=open_lead, rolled=rolled)
    cr = env.cr
    if lead_ids is None:
        # every account: a few large statements, which JIT compilation slows and whose sorts and
        # hashes of the open leads stay in memory (see writes/rfm.py)
        cr.execute("SET LOCAL jit = off")
        cr.execute("SET LOCAL work_mem = '64MB'")
    cr.execute(SQL(
        """%(heads)s
           new AS (
               SELECT account.id AS account_id, account.company_id,
                      CASE WHEN rolled.account_id IS NOT NULL THEN LEAST(
                           100, rolled.best + %(points)s * COALESCE(cardinality(rolled.roles), 0)) END AS score,
                      NULLIF(array_to_string(rolled.roles, ','), '') AS roles,
                      COALESCE(cardinality(rolled.roles), 0) AS role_count,
                      COALESCE(rolled.open_count, 0) AS open_count
                 FROM res_partner account
                 LEFT JOIN rolled ON rolled.account_id = account.id
                WHERE account.id IN (SELECT * FROM accounts)),
           -- the tiers of a company (0: those shared, used by a company without its own), each
           -- with the score range it takes: from its minimum up to the next tier's (the first by
           -- minimum score, then id, whose minimum the score reaches); one join, not a lookup per account
           tier_ranges AS (
               SELECT id, COALESCE(company_id, 0) AS company, min_score,
                      lag(min_score) OVER (PARTITION BY company_id ORDER BY min_score DESC, id) AS below
                 FROM crm_lead_tier WHERE active),
           tiered AS (
               SELECT new.*, tier.id AS tier_id
                 FROM new
                 LEFT JOIN tier_ranges tier
                   ON tier.company = CASE WHEN new.company_id IN (SELECT company_id FROM crm_lead_tier WHERE active)
                                          THEN new.company_id ELSE 0 END
                  AND tier.min_score <= new.score AND (tier.below IS NULL OR new.score < tier.below)),
           changed AS (
               UPDATE res_partner partner
                  SET account_score = tiered.score, account_tier_id = tiered.tier_id, account_roles = tiered.roles,
                      account_role_count = tiered.role_count, account_open_lead_count = tiered.open_count
                 FROM tiered, res_partner old
                WHERE partner.id = tiered.account_id AND old.id = tiered.account_id
                  AND (old.account_score, old.account_tier_id, old.account_roles, old.account_open_lead_count)
                      IS DISTINCT FROM (tiered.score, tiered.tier_id, tiered.roles, tiered.open_count)
            RETURNING partner.id, old.account_score AS old_score, tiered.score AS new_score,
                      old.account_tier_id AS old_tier_id, tiered.tier_id AS new_tier_id, tiered.role_count,
                      partner.company_id),
           logged AS (
               INSERT INTO crm_lead_account_history (partner_id, company_id, date, old_score, new_score,
                                                     old_tier_id, new_tier_id, role_count)
               SELECT id, company_id, now() at time zone 'UTC', old_score, new_score, old_tier_id, new_tier_id,
                      role_count
                 FROM changed
                WHERE (old_score, old_tier_id) IS DISTINCT FROM (new_score, new_tier_id)),
           -- the open leads' copy of their account's new tier, by which leads group, where it
           -- differs: from the open leads read above, not by a second walk of every lead (1M
           -- leads: 0.5 s), returned and written by id below (an UPDATE joined to them here would
           -- walk every lead again); the score is read through the contact (a tier moves less often)
           copies AS (
               SELECT open_leads.id, tiered.tier_id
                 FROM open_leads JOIN tiered ON tiered.account_id = open_leads.account_id
                WHERE open_leads.account_tier_id IS DISTINCT FROM tiered.tier_id)
           SELECT (SELECT count(*) FROM changed), COALESCE(array_agg(id), '{}'), array_agg(tier_id) FROM copies""",
        heads=heads, points=role_points))
    changed, lead_ids_copied, tier_ids = cr.fetchone()
    if lead_ids_copied:
        cr.execute(SQL(
            """UPDATE crm_lead lead SET account_tier_id = v.tier_id
                 FROM unnest(%s::int[], %s::int[]) AS v(id, tier_id) WHERE lead.id = v.id""",
            lead_ids_copied, tier_ids))
    # a lead whose contact went keeps no account's tier
    cr.execute(SQL(
        """UPDATE crm_lead SET account_tier_id = NULL
            WHERE partner_id IS NULL AND account_tier_id IS NOT NULL %s""",
        SQL('AND id = ANY(%s)', list(lead_ids)) if lead_ids is not None else SQL()))
    env['res.partner'].invalidate_model(['account_score', 'account_tier_id', 'account_roles', 'account_role_count',
                                         'account_open_lead_count', 'account_history_ids'])
    env['crm.lead'].invalidate_model(['account_score', 'account_tier_id'])
    return changed
