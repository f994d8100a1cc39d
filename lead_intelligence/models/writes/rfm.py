"""The RFM and ABC refresh's SQL writes: ``crm_lead`` and ``res_partner`` (four statements, each
writing only the rows whose values changed)."""

from odoo.tools import SQL

from ..segmentation.rfm import quintile, segment

NOW = SQL("(now() at time zone 'UTC')")


def refresh(env, rfm_days, abc_days, a_share, b_share):
    """Refresh every open lead's and customer's RFM, and the customers' ABC class and their leads'.

    * leads: recency by the last counted event (none: the oldest), frequency by the decayed units of
      the engagement rows of the RFM window (the counted events, without the event log), monetary by
      the expected revenue; quintiles per company, over the open leads; a lead that closed keeps its
      last values;
    * customers (commercial entities with a won lead): recency by the last won deal, frequency and
      monetary by the won deals and revenue of the RFM window; quintiles per company;
    * ABC: per company, customers by won revenue over the ABC period, largest first: A while the
      revenue before them is under ``a_share`` % of the total, B under ``a_share + b_share`` %, C
      after; none without won revenue in the period; copied on the open leads (a closed lead keeps
      the class it closed with).

    :return: {'leads': n, 'customers': n, 'abc': n, 'lead_abc': n} rows written
    """
    cr = env.cr
    # the quintiles sort every open lead three times: in memory, not spilled to disk (measured at
    # 1,000,000 leads: 4.6 s at the default 4 MB, 2.3 s at 64 MB); for this transaction only
    cr.execute("SET LOCAL work_mem = '64MB'")
    written = {}
    cr.execute(SQL(
        """WITH facts AS (
               SELECT lead.id, lead.company_id, lead.last_engagement_date, lead.expected_revenue,
                      COALESCE(recent.units, 0) AS frequency
                 FROM crm_lead lead
                 LEFT JOIN (SELECT lead_id, sum(units) AS units FROM crm_lead_engagement
                             WHERE ref_date >= %(now)s - %(window)s GROUP BY lead_id) recent
                        ON recent.lead_id = lead.id
                WHERE lead.active AND lead.won_status = 'pending'),
           scores AS (
               SELECT id, %(r)s AS r, %(f)s AS f, %(m)s AS m FROM facts)
           UPDATE crm_lead lead
              SET rfm_recency = scores.r, rfm_frequency = scores.f, rfm_monetary = scores.m,
                  rfm_segment = %(segment)s
             FROM scores
            WHERE lead.id = scores.id
              AND (lead.rfm_recency, lead.rfm_frequency, lead.rfm_monetary)
                  IS DISTINCT FROM (scores.r, scores.f, scores.m)""",
        now=NOW, window=SQL('make_interval(days => %s)', rfm_days),
        r=quintile(SQL('last_engagement_date ASC NULLS FIRST'), SQL('company_id')),
        f=quintile(SQL('frequency'), SQL('company_id')),
        m=quintile(SQL('COALESCE(expected_revenue, 0)'), SQL('company_id')),
        segment=segment(SQL('scores.r'), SQL('scores.f'), SQL('scores.m'))))
    written['leads'] = cr.rowcount
    won = SQL(
        """SELECT COALESCE(contact.commercial_partner_id, contact.id) AS account_id, lead.company_id,
                  lead.date_closed, COALESCE(lead.expected_revenue, 0) AS revenue
             FROM crm_lead lead JOIN res_partner contact ON contact.id = lead.partner_id
            WHERE lead.active AND lead.won_status = 'won'""")
    cr.execute(SQL(
        """WITH won AS (%(won)s),
           facts AS (
               SELECT account_id, min(company_id) AS company_id, max(date_closed) AS last_won,
                      count(*) FILTER (WHERE date_closed >= %(now)s - %(window)s) AS deals,
                      COALESCE(sum(revenue) FILTER (WHERE date_closed >= %(now)s - %(window)s), 0) AS revenue
                 FROM won GROUP BY account_id),
           scores AS (
               SELECT account_id, %(r)s AS r, %(f)s AS f, %(m)s AS m FROM facts),
           target AS (
               SELECT partner.id, scores.r, scores.f, scores.m
                 FROM res_partner partner LEFT JOIN scores ON scores.account_id = partner.id
                WHERE scores.account_id IS NOT NULL OR partner.rfm_recency IS NOT NULL)
           UPDATE res_partner partner
              SET rfm_recency = target.r, rfm_frequency = target.f, rfm_monetary = target.m,
                  rfm_segment = CASE WHEN target.r IS NOT NULL THEN %(segment)s END
             FROM target
            WHERE partner.id = target.id
              AND (partner.rfm_recency, partner.rfm_frequency, partner.rfm_monetary)
                  IS DISTINCT FROM (target.r, target.f, target.m)""",
        won=won, now=NOW, window=SQL('make_interval(days => %s)', rfm_days),
        r=quintile(SQL('last_won ASC NULLS FIRST'), SQL('company_id')),
        f=quintile(SQL('deals'), SQL('company_id')),
        m=quintile(SQL('revenue'), SQL('company_id')),
        segment=segment(SQL('target.r'), SQL('target.f'), SQL('target.m'))))
    written['customers'] = cr.rowcount
    cr.execute(SQL(
        """WITH won AS (%(won)s),
           revenue AS (
               SELECT account_id, company_id, sum(revenue) AS revenue FROM won
                WHERE date_closed >= %(now)s - %(period)s GROUP BY account_id, company_id HAVING sum(revenue) > 0),
           ranked AS (
               SELECT account_id,
                      100.0 * (sum(revenue) OVER (PARTITION BY company_id ORDER BY revenue DESC, account_id
                                                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - revenue)
                            / sum(revenue) OVER (PARTITION BY company_id) AS share_before
                 FROM revenue),
           classed AS (
               SELECT account_id, min(CASE WHEN share_before < %(a)s THEN 'a'
                                           WHEN share_before < %(ab)s THEN 'b' ELSE 'c' END) AS abc
                 FROM ranked GROUP BY account_id),
           target AS (
               SELECT partner.id, classed.abc FROM res_partner partner
                 LEFT JOIN classed ON classed.account_id = partner.id
                WHERE classed.account_id IS NOT NULL OR partner.abc_class IS NOT NULL)
           UPDATE res_partner partner SET abc_class = target.abc FROM target
            WHERE partner.id = target.id AND partner.abc_class IS DISTINCT FROM target.abc""",
        won=won, now=NOW, period=SQL('make_interval(days => %s)', abc_days), a=a_share, ab=a_share + b_share))
    written['abc'] = cr.rowcount
    # the open leads' copy, which the rules read (a closed lead keeps the class it closed with)
    cr.execute(SQL(
        """UPDATE crm_lead lead SET abc_class = account.abc_class
             FROM res_partner contact, res_partner account
            WHERE contact.id = lead.partner_id AND account.id = COALESCE(contact.commercial_partner_id, contact.id)
              AND lead.active AND lead.won_status = 'pending'
              AND lead.abc_class IS DISTINCT FROM account.abc_class"""))
    written['lead_abc'] = cr.rowcount
    cr.execute(SQL(
        """UPDATE crm_lead SET abc_class = NULL
            WHERE partner_id IS NULL AND abc_class IS NOT NULL AND active AND won_status = 'pending'"""))
    written['lead_abc'] += cr.rowcount
    return written
