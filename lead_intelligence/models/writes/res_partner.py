"""The account roll-up's SQL writes: ``res_partner`` (the account's score, tier and engaged
roles), its history, and the account's tier copied on its leads."""

from odoo.tools import SQL

from ..accounts.res_partner import role_codes


def roll_up_accounts(env, lead_ids, engagement_days, role_points):
    """Score the accounts of ``lead_ids`` (every account when None) from their open leads, in
    three statements: the accounts, with one history row per account whose score or tier moved;
    their open leads' copy of the account's tier, where it differs (a closed lead keeps
    the figures it closed with); and the leads left without a contact cleared.

    :param engagement_days: a lead counts as engaged when its last counted event is this recent
    :param role_points: points an account earns for each buying role engaged
    :return: the number of accounts whose score, tier or roles changed
    """
    open_lead = SQL(
        """SELECT contact.commercial_partner_id AS account_id, score.score, lead.job_level,
                  lead.last_engagement_date >= now() at time zone 'UTC' - %s AS engaged""",
        SQL('make_interval(days => %s)', engagement_days))
    rolled = SQL(
        """SELECT account_id, count(*) AS open_count, max(COALESCE(score, 0)) AS best,
                  array_agg(DISTINCT job_level) FILTER (WHERE engaged AND job_level = ANY(%s)) AS roles
             FROM open_leads GROUP BY account_id""", role_codes())
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
        # every account: a few large statements, which JIT compilation slows (see writes/rfm.py)
        cr.execute("SET LOCAL jit = off")
    cr.execute(SQL(
        """%(heads)s
           new AS (
               SELECT account.id AS account_id, account.company_id,
                      CASE WHEN rolled.account_id IS NOT NULL THEN LEAST(
                           100, rolled.best + %(points)s * COALESCE(cardinality(rolled.roles), 0)) END AS score,
                      (SELECT string_agg(role, ',' ORDER BY array_position(%(roles)s, role))
                         FROM unnest(rolled.roles) AS role) AS roles,
                      COALESCE(cardinality(rolled.roles), 0) AS role_count,
                      COALESCE(rolled.open_count, 0) AS open_count
                 FROM res_partner account
                 LEFT JOIN rolled ON rolled.account_id = account.id
                WHERE account.id IN (SELECT * FROM accounts)),
           tiered AS (
               SELECT new.*, (
                   SELECT tier.id FROM crm_lead_tier tier
                    WHERE tier.active AND tier.min_score <= new.score
                      AND tier.company_id IS NOT DISTINCT FROM (
                          SELECT own.company_id FROM crm_lead_tier own
                           WHERE own.active AND own.company_id = new.company_id LIMIT 1)
                    ORDER BY tier.min_score DESC, tier.id LIMIT 1) AS tier_id
                 FROM new),
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
                WHERE (old_score, old_tier_id) IS DISTINCT FROM (new_score, new_tier_id))
           SELECT count(*) FROM changed""",
        heads=heads, roles=role_codes(), points=role_points))
    changed = cr.fetchone()[0]
    # the open leads' copy of their account's tier, by which leads group: where it differs (the
    # accounts updated just now included, as the statement above cannot see its own writes); the
    # score is read through the contact (a tier moves far less often than a score)
    cr.execute(SQL(
        """UPDATE crm_lead lead SET account_tier_id = account.account_tier_id
             FROM res_partner contact, res_partner account
            WHERE contact.id = lead.partner_id AND account.id = contact.commercial_partner_id
              AND %(scope)s AND lead.active AND lead.won_status = 'pending'
              AND lead.account_tier_id IS DISTINCT FROM account.account_tier_id""",
        scope=SQL('TRUE') if lead_ids is None else SQL(
            'account.id IN (SELECT contact.commercial_partner_id FROM crm_lead lead JOIN res_partner contact '
            'ON contact.id = lead.partner_id WHERE lead.id = ANY(%s))', list(lead_ids))))
    # a lead whose contact went keeps no account's tier
    cr.execute(SQL(
        """UPDATE crm_lead SET account_tier_id = NULL
            WHERE partner_id IS NULL AND account_tier_id IS NOT NULL %s""",
        SQL('AND id = ANY(%s)', list(lead_ids)) if lead_ids is not None else SQL()))
    env['res.partner'].invalidate_model(['account_score', 'account_tier_id', 'account_roles', 'account_role_count',
                                         'account_open_lead_count', 'account_history_ids'])
    env['crm.lead'].invalidate_model(['account_score', 'account_tier_id'])
    return changed
