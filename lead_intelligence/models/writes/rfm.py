"""The RFM and ABC refresh's SQL writes: ``crm_lead`` and ``res_partner``, in one statement that
reads the won and open leads once and writes only the rows whose values changed."""

from odoo.tools import SQL

from ..segmentation.rfm import quintile, quintile_cuts, segment, sorted_values

NOW = SQL("(now() at time zone 'UTC')")


def _cuts(source, values):
    """SQL of a CTE's body: per ``company`` of ``source``, the four quintile cuts of each of
    ``values`` ({name: SQL value}), as columns ``<name>_1`` to ``<name>_4`` (see :func:`_quintile`)."""
    return SQL(
        """SELECT company, %(cuts)s FROM (
               SELECT company, count(*) AS n, %(sorted)s FROM %(source)s GROUP BY company) sorted""",
        source=SQL.identifier(source),
        sorted=SQL(', ').join(SQL('%s AS %s', sorted_values(value), SQL.identifier(f'{name}_sorted'))
                              for name, value in values.items()),
        cuts=SQL(', ').join(
            SQL('%s AS %s', cut, SQL.identifier(f'{name}_{k}'))
            for name in values
            for k, cut in enumerate(quintile_cuts(SQL.identifier(f'{name}_sorted'), SQL('n')), start=1)))


def _quintile(value, name):
    """SQL: the quintile of ``value`` by the cuts ``cut.<name>_1..4`` of :func:`_cuts`."""
    return quintile(value, [SQL('cut.%s', SQL.identifier(f'{name}_{k}')) for k in range(1, 5)])


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

    The quintiles are those of ``percent_rank`` (see :func:`..segmentation.rfm.quintile_cuts`),
    from each kind of value sorted alone rather than from the rows sorted three times.

    :return: {'leads': n, 'customers': n, 'abc': n, 'lead_abc': n} rows written
    """
    cr = env.cr
    # the leads read once are kept in memory (1M leads: 660k won and open rows), not spilled to
    # disk; and no JIT compilation, which costs these few large statements more than it saves (1M
    # leads: 11.0 s -> 9.3 s for the three refreshes of the nightly pass); for this transaction only
    cr.execute("SET LOCAL work_mem = '64MB'")
    cr.execute("SET LOCAL jit = off")
    window = SQL('%s - make_interval(days => %s)', NOW, rfm_days)
    cr.execute(SQL(
        """WITH leads AS MATERIALIZED (
               SELECT lead.id, lead.company_id, lead.won_status = 'won' AS won,
                      COALESCE(contact.commercial_partner_id, contact.id) AS account_id, lead.date_closed,
                      COALESCE(lead.expected_revenue, 0) AS revenue,
                      COALESCE(lead.last_engagement_date, '-infinity') AS last_event,
                      lead.rfm_recency, lead.rfm_frequency, lead.rfm_monetary, lead.abc_class
                 FROM crm_lead lead LEFT JOIN res_partner contact ON contact.id = lead.partner_id
                WHERE lead.active AND lead.won_status IN ('won', 'pending')),
           won AS (
               SELECT account_id, company_id, date_closed, revenue FROM leads WHERE won AND account_id IS NOT NULL),
           -- the customers' RFM
           customers AS (
               SELECT account_id, COALESCE(min(company_id), 0) AS company,
                      COALESCE(max(date_closed), '-infinity') AS last_won,
                      count(*) FILTER (WHERE date_closed >= %(window)s) AS deals,
                      COALESCE(sum(revenue) FILTER (WHERE date_closed >= %(window)s), 0) AS revenue
                 FROM won GROUP BY account_id),
           -- materialized: each cut is taken once from its sorted values, not once per row
           customer_cuts AS MATERIALIZED (%(customer_cuts)s),
           customer_scores AS (
               SELECT customers.account_id, %(customer_r)s AS r, %(customer_f)s AS f, %(customer_m)s AS m
                 FROM customers JOIN customer_cuts cut ON cut.company = customers.company),
           -- the customers' ABC
           abc_revenue AS (
               SELECT account_id, company_id, sum(revenue) AS revenue FROM won
                WHERE date_closed >= %(now)s - %(period)s GROUP BY account_id, company_id HAVING sum(revenue) > 0),
           ranked AS (
               SELECT account_id,
                      100.0 * (sum(revenue) OVER (PARTITION BY company_id ORDER BY revenue DESC, account_id
                                                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - revenue)
                            / sum(revenue) OVER (PARTITION BY company_id) AS share_before
                 FROM abc_revenue),
           classed AS (
               SELECT account_id, min(CASE WHEN share_before < %(a)s THEN 'a'
                                           WHEN share_before < %(ab)s THEN 'b' ELSE 'c' END) AS abc
                 FROM ranked GROUP BY account_id),
           partner_target AS (
               SELECT partner.id, scores.r, scores.f, scores.m, classed.abc,
                      (partner.rfm_recency, partner.rfm_frequency, partner.rfm_monetary)
                          IS DISTINCT FROM (scores.r, scores.f, scores.m) AS rfm_moved,
                      partner.abc_class IS DISTINCT FROM classed.abc AS abc_moved
                 FROM res_partner partner
                 LEFT JOIN customer_scores scores ON scores.account_id = partner.id
                 LEFT JOIN classed ON classed.account_id = partner.id
                WHERE scores.account_id IS NOT NULL OR classed.account_id IS NOT NULL
                   OR partner.rfm_recency IS NOT NULL OR partner.abc_class IS NOT NULL),
           partners_written AS (
               UPDATE res_partner partner
                  SET rfm_recency = target.r, rfm_frequency = target.f, rfm_monetary = target.m,
                      rfm_segment = CASE WHEN target.r IS NOT NULL THEN %(customer_segment)s END,
                      abc_class = target.abc
                 FROM partner_target target
                WHERE partner.id = target.id AND (target.rfm_moved OR target.abc_moved)
            RETURNING target.rfm_moved, target.abc_moved),
           -- the open leads' RFM, and their copy of their account's new ABC class (which the rules
           -- read; a closed lead keeps the values it closed with)
           recent AS (
               SELECT lead_id, sum(units) AS units FROM crm_lead_engagement
                WHERE ref_date >= %(window)s GROUP BY lead_id),
           open_leads AS (
               SELECT leads.id, COALESCE(leads.company_id, 0) AS company, leads.account_id, leads.last_event,
                      COALESCE(recent.units, 0) AS frequency, leads.revenue,
                      leads.rfm_recency, leads.rfm_frequency, leads.rfm_monetary, leads.abc_class
                 FROM leads LEFT JOIN recent ON recent.lead_id = leads.id
                WHERE NOT leads.won),
           lead_cuts AS MATERIALIZED (%(lead_cuts)s),
           lead_scores AS (
               SELECT open_leads.id, open_leads.rfm_recency, open_leads.rfm_frequency, open_leads.rfm_monetary,
                      open_leads.abc_class, classed.abc AS account_abc,
                      %(lead_r)s AS r, %(lead_f)s AS f, %(lead_m)s AS m
                 FROM open_leads JOIN lead_cuts cut ON cut.company = open_leads.company
                 LEFT JOIN classed ON classed.account_id = open_leads.account_id),
           -- the leads whose values changed, returned as arrays and written by id below: an UPDATE
           -- joined to them here would walk every lead again to find them
           lead_changes AS (
               SELECT id, r, f, m, %(lead_segment)s AS segment, account_abc,
                      (rfm_recency, rfm_frequency, rfm_monetary) IS DISTINCT FROM (r, f, m) AS rfm_moved,
                      abc_class IS DISTINCT FROM account_abc AS abc_moved
                 FROM lead_scores
                WHERE (rfm_recency, rfm_frequency, rfm_monetary) IS DISTINCT FROM (r, f, m)
                   OR abc_class IS DISTINCT FROM account_abc)
           SELECT (SELECT count(*) FILTER (WHERE rfm_moved) FROM partners_written),
                  (SELECT count(*) FILTER (WHERE abc_moved) FROM partners_written),
                  COALESCE(array_agg(id), '{}'), array_agg(r), array_agg(f), array_agg(m), array_agg(segment),
                  array_agg(account_abc), count(*) FILTER (WHERE rfm_moved), count(*) FILTER (WHERE abc_moved)
             FROM lead_changes""",
        now=NOW, window=window, period=SQL('make_interval(days => %s)', abc_days), a=a_share, ab=a_share + b_share,
        customer_cuts=_cuts('customers', {'r': SQL('last_won'), 'f': SQL('deals'), 'm': SQL('revenue')}),
        customer_r=_quintile(SQL('customers.last_won'), 'r'),
        customer_f=_quintile(SQL('customers.deals'), 'f'),
        customer_m=_quintile(SQL('customers.revenue'), 'm'),
        customer_segment=segment(SQL('target.r'), SQL('target.f'), SQL('target.m')),
        lead_cuts=_cuts('open_leads', {'r': SQL('last_event'), 'f': SQL('frequency'), 'm': SQL('revenue')}),
        lead_r=_quintile(SQL('open_leads.last_event'), 'r'),
        lead_f=_quintile(SQL('open_leads.frequency'), 'f'),
        lead_m=_quintile(SQL('open_leads.revenue'), 'm'),
        lead_segment=segment(SQL('r'), SQL('f'), SQL('m'))))
    customers, abc, ids, r, f, m, segments, account_abc, leads, lead_abc = cr.fetchone()
    if ids:
        cr.execute(SQL(
            """UPDATE crm_lead lead
                  SET rfm_recency = v.r, rfm_frequency = v.f, rfm_monetary = v.m, rfm_segment = v.segment,
                      abc_class = v.abc
                 FROM unnest(%s::int[], %s::int[], %s::int[], %s::int[], %s::varchar[], %s::varchar[])
                      AS v(id, r, f, m, segment, abc)
                WHERE lead.id = v.id""",
            ids, r, f, m, segments, account_abc))
    return {'leads': leads, 'customers': customers, 'abc': abc, 'lead_abc': lead_abc}
