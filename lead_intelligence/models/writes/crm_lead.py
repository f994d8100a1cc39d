"""The SQL writes of ``crm_lead``: every column the passes set by SQL, by stage.

Each function writes a set of leads in one statement and leaves the ORM cache
to its caller (which invalidates the fields it knows changed).
"""

import numpy as np

from odoo.tools import SQL

from ...engine import arrays

# ------------------------------------------------------------
# SCORING
# ------------------------------------------------------------


def set_scored(env, ids, tier_ids, line_ids):
    """Set the tier and the row of scores of the leads ``ids`` (the dirty flag is :func:`clear_dirty`'s).

    :param ids: (n,) lead ids
    :param tier_ids: (n,) the leads' tiers, 0 for none
    :param line_ids: (n,) the ids of the leads' rows of ``crm_lead_score``
    """
    env.execute_query(SQL(
        """UPDATE crm_lead
              SET tier_id = NULLIF(v.tier_id, 0), score_line_id = v.line_id
             FROM unnest(%(ids)s::int[], %(tier)s::int[], %(line)s::int[]) AS v(id, tier_id, line_id)
            WHERE crm_lead.id = v.id""",
        ids=arrays.int_array_literal(ids), tier=arrays.int_array_literal(tier_ids),
        line=arrays.int_array_literal(line_ids),
    ))


def flag_dirty(env, ids):
    """Flag the leads ``ids`` (a list) for the scoring job: their row of ``crm_lead_dirty``, created or
    touched (a pass that read the flag before cannot then delete it unseen: see ``crm.lead._init_dirty_table``)."""
    if not len(ids):
        return
    env.execute_query(SQL(
        """INSERT INTO crm_lead_dirty (lead_id) SELECT unnest(%s::int[])
           ON CONFLICT (lead_id) DO UPDATE SET flagged_at = EXCLUDED.flagged_at""", arrays.int_array_literal(ids)))


def clear_dirty(env, ids):
    """The leads ``ids`` are scored: their flags go."""
    if len(ids):
        env.execute_query(SQL(
            'DELETE FROM crm_lead_dirty WHERE lead_id = ANY(%s::int[])', arrays.int_array_literal(ids)))


def dirty_sql(query):
    """SQL true for a lead of ``query`` (a ``Query`` on ``crm_lead``) flagged for the scoring job.

    The flags are joined to the query once: an ``EXISTS`` in its place would be evaluated again
    wherever the expression is (a pass's query reads it in every stable rule's guard), 2.5 s more
    for the 340,000 open leads of a nightly pass.
    """
    alias = f'{query.table}__dirty'
    query.add_join('LEFT JOIN', alias, 'crm_lead_dirty', SQL(
        '%s = %s', SQL.identifier(alias, 'lead_id'), SQL.identifier(query.table, 'id')))
    return SQL('(%s IS NOT NULL)', SQL.identifier(alias, 'lead_id'))


# ------------------------------------------------------------
# CLASSIFICATION
# ------------------------------------------------------------

def set_classification(env, ids, values, selections):
    """Set the single-valued dimensions of the leads ``ids``, in one UPDATE.

    :param ids: (n,) int
    :param values: ``engine.classification.DimensionValues`` of the leads: the industry's id, or
        the position of the value in its selection, -1 for none
    :param selections: {selection dimension (a field of the lead): its keys, in order}
    """
    env.execute_query(SQL(
        """UPDATE crm_lead SET industry_id = NULLIF(v.industry, -1)%(sets)s
             FROM unnest(%(ids)s::int[], %(industry)s::int[]%(arrays)s) AS v(id, industry%(aliases)s)
            WHERE crm_lead.id = v.id""",
        ids=arrays.int_array_literal(ids), industry=arrays.int_array_literal(values.industry),
        sets=SQL('').join(
            SQL(', %s = (%s::varchar[])[v.%s + 1]', SQL.identifier(dimension), list(keys), SQL.identifier(dimension))
            for dimension, keys in selections.items()),
        arrays=SQL('').join(SQL(', %s::int[]', arrays.int_array_literal(getattr(values, dimension)))
                            for dimension in selections),
        aliases=SQL('').join(SQL(', %s', SQL.identifier(dimension)) for dimension in selections),
    ))


# ------------------------------------------------------------
# EVENTS
# ------------------------------------------------------------

def add_event_counts(env, ids, latest, increments):
    """Add counted events to the leads ``ids``: their last engagement date and behaviour counters.

    :param ids: (n,) int, each lead once
    :param latest: (n,) float, the time of each lead's latest engaging event (POSIX seconds),
        NaN or infinite for none: the date moves forward only
    :param increments: {counter field: (n,) int}, what each counter gains; a counter
        saturates at the largest integer rather than failing the whole chunk
    """
    names = list(increments)
    env.execute_query(SQL(
        """UPDATE crm_lead SET last_engagement_date = GREATEST(crm_lead.last_engagement_date,
                                   to_timestamp(v.latest) AT TIME ZONE 'UTC')%(sets)s
             FROM unnest(%(ids)s::int[], %(latest)s::float8[]%(arrays)s) AS v(id, latest%(aliases)s)
            WHERE crm_lead.id = v.id""",
        sets=SQL('').join(SQL(', %s = LEAST(COALESCE(crm_lead.%s, 0)::bigint + v.%s, 2147483647)',
                              SQL.identifier(name), SQL.identifier(name), SQL.identifier(name))
                          for name in names),
        ids=arrays.int_array_literal(ids), latest=arrays.float_array_literal(latest),
        arrays=SQL('').join(SQL(', %s::bigint[]', arrays.int_array_literal(increments[name])) for name in names),
        aliases=SQL('').join(SQL(', %s', SQL.identifier(name)) for name in names),
    ))

# ------------------------------------------------------------
# ROUTING
# ------------------------------------------------------------


def set_assigned_by_hand(env, ids):
    """The leads ``ids`` leave routing: a user chose their salesperson."""
    env.execute_query(SQL("UPDATE crm_lead SET routing_state = 'manual' WHERE id = ANY(%s)", np.asarray(ids).tolist()))


def queue_for_routing(env, ids):
    """Put the leads ``ids`` that routing may take (open, with a tier) in the routing queue.

    :return: the ids queued, a list
    """
    return [row[0] for row in env.execute_query(SQL(
        """UPDATE crm_lead SET routing_state = 'to_route'
            WHERE id = ANY(%s) AND tier_id IS NOT NULL AND active AND won_status = 'pending'
           RETURNING id""", np.asarray(ids).tolist()))]


def queue_tier_moves(env, ids, tier_ids):
    """Put the leads ``ids``, whose tier just moved, in the routing queue when their tier is one
    of ``tier_ids`` (the routed tiers), out of it when it is not; leads assigned by hand, leads
    with a salesperson routing did not choose and leads already contacted are left alone."""
    env.execute_query(SQL(
        """UPDATE crm_lead
              SET routing_state = CASE WHEN tier_id = ANY(%(tiers)s) THEN 'to_route'
                                       WHEN routing_state = 'routed' THEN 'routed' END
            WHERE id = ANY(%(ids)s) AND active AND won_status = 'pending'
              AND ((user_id IS NULL AND routing_state IS DISTINCT FROM 'manual')
                   OR (routing_state = 'routed' AND first_contact_date IS NULL))
              AND (tier_id = ANY(%(tiers)s) OR routing_state IN ('to_route', 'nurtured', 'unroutable'))""",
        tiers=np.asarray(tier_ids).tolist(), ids=np.asarray(ids).tolist()))


def requeue_unroutable(env):
    """Put the open unroutable leads back in the routing queue.

    :return: the rows of the leads queued again (their id), a list
    """
    return env.execute_query(SQL(
        """UPDATE crm_lead SET routing_state = 'to_route'
            WHERE routing_state = 'unroutable' AND active AND won_status = 'pending' RETURNING id"""))


def set_routed(env, decisions, now):
    """Hand the leads to the salespeople routing chose.

    :param decisions: an :class:`engine.routing.Decisions` of the routed leads: owner, team,
        rule, reason and first-contact deadline
    :param now: the routing date
    """
    env.execute_query(SQL(
        """UPDATE crm_lead
              SET user_id = v.user_id, team_id = v.team_id, routing_state = 'routed',
                  routing_rule_id = v.rule_id, routing_reason = v.reason, routed_date = %(now)s,
                  date_open = %(now)s, sla_deadline = v.deadline,
                  sla_status = CASE WHEN v.deadline IS NULL THEN NULL ELSE 'pending' END,
                  first_contact_date = NULL, escalation_level = 0
             FROM unnest(%(ids)s::int[], %(users)s::int[], %(teams)s::int[], %(rules)s::int[],
                         %(reasons)s::text[], %(deadlines)s::timestamp[])
                  AS v(id, user_id, team_id, rule_id, reason, deadline)
            WHERE crm_lead.id = v.id""",
        now=now, ids=decisions.id.tolist(), users=decisions.user_id.tolist(), teams=decisions.team_id.tolist(),
        rules=decisions.rule_id.tolist(), reasons=decisions.reason.tolist(), deadlines=decisions.deadline.tolist()))


def set_unroutable(env, decisions):
    """Mark the leads no salesperson could take, with the rule that matched them (0: none) and why.

    :param decisions: an :class:`engine.routing.Decisions` of the unroutable leads
    """
    env.execute_query(SQL(
        """UPDATE crm_lead SET routing_state = 'unroutable', routing_rule_id = NULLIF(v.rule_id, 0),
                  routing_reason = v.reason
             FROM unnest(%s::int[], %s::int[], %s::text[]) AS v(id, rule_id, reason)
            WHERE crm_lead.id = v.id""",
        decisions.id.tolist(), decisions.rule_id.tolist(), decisions.reason.tolist()))


def set_nurtured(env, ids, reason, now):
    """The leads ``ids`` are nurtured: no salesperson, no deadline, ``reason`` as their routing reason."""
    env.execute_query(SQL(
        """UPDATE crm_lead SET routing_state = 'nurtured', user_id = NULL, routing_rule_id = NULL,
                  routing_reason = %s, routed_date = %s, sla_deadline = NULL, sla_status = NULL
            WHERE id = ANY(%s)""", reason, now, np.asarray(ids).tolist()))


def set_first_contacts(env, now, comment_subtype_id):
    """The first contact of each routed lead not yet contacted: the first activity done or message
    (of subtype ``comment_subtype_id``) by an internal user since it was routed, up to ``now``; its
    SLA status from it."""
    env.execute_query(SQL(
        """UPDATE crm_lead lead
              SET first_contact_date = contact.first_date,
                  sla_status = CASE WHEN lead.sla_deadline IS NULL THEN NULL
                                    WHEN contact.first_date <= lead.sla_deadline THEN 'on_time'
                                    ELSE 'met_late' END
             FROM (SELECT message.res_id, min(message.date) AS first_date
                     FROM crm_lead routed
                     JOIN mail_message message ON message.model = 'crm.lead' AND message.res_id = routed.id
                    WHERE routed.routing_state = 'routed' AND routed.first_contact_date IS NULL
                      AND message.date >= routed.routed_date AND message.date <= %(now)s
                      AND (message.mail_activity_type_id IS NOT NULL OR message.subtype_id = %(comment)s)
                      AND message.author_id IN (SELECT partner_id FROM res_users WHERE NOT share AND active)
                    GROUP BY message.res_id) AS contact
            WHERE lead.id = contact.res_id""",
        now=now, comment=comment_subtype_id))


def mark_sla_breached(env, now):
    """Routed leads not contacted by their first-contact deadline, before ``now``: breached."""
    env.execute_query(SQL(
        """UPDATE crm_lead SET sla_status = 'breached'
            WHERE routing_state = 'routed' AND first_contact_date IS NULL AND sla_deadline < %s
              AND sla_status = 'pending'""", now))


def set_escalation_levels(env, ids, levels):
    """The escalation level of each lead of ``ids``, from ``levels`` (aligned)."""
    env.execute_query(SQL(
        """UPDATE crm_lead SET escalation_level = v.level FROM unnest(%s::int[], %s::int[]) AS v(id, level)
            WHERE crm_lead.id = v.id""", np.asarray(ids).tolist(), np.asarray(levels).tolist()))


def stop_escalation(env, ids):
    """The leads ``ids`` could not be reassigned: their owner keeps them, their escalation stops."""
    env.execute_query(SQL("""UPDATE crm_lead SET escalation_level = 3 WHERE id = ANY(%s)""", np.asarray(ids).tolist()))


# ------------------------------------------------------------
# DEMO
# ------------------------------------------------------------


def backdate_creation(env, ids, ages):
    """Set the creation date of the demo leads ``ids`` to ``ages`` (days, a list aligned with them) ago."""
    env.execute_query(SQL(
        """UPDATE crm_lead SET create_date = now() - make_interval(days => v.age)
             FROM unnest(%s::int[], %s::int[]) AS v(id, age) WHERE crm_lead.id = v.id""",
        ids, ages))


def backdate_closing(env, ids, ages):
    """Set the closing date of the closed demo leads ``ids`` to ``ages`` (days, a list aligned with them) ago."""
    env.execute_query(SQL(
        """UPDATE crm_lead SET date_closed = now() - make_interval(days => v.age)
             FROM unnest(%s::int[], %s::int[]) AS v(id, age) WHERE crm_lead.id = v.id""",
        ids, ages))


# ------------------------------------------------------------
# WIN PROBABILITY (the model's probability as crm's automated probability)
# ------------------------------------------------------------


def model_win_probabilities_sql(ids, main_company_id):
    """SELECT (id, probability in percent) of the open leads, among ``ids`` (all when None), whose
    company's active model passed its quality gates and gave them a probability.

    A lead without company goes to the main company's model, as in the scoring pass. The
    probability is rounded to a hundredth of a percent, as crm rounds its own.
    """
    return SQL(
        """SELECT lead.id, round((line.model_probability * 100)::numeric, 2)::float8 AS probability
             FROM crm_lead lead
             JOIN crm_lead_score line ON line.id = lead.score_line_id
             JOIN crm_lead_scoring_model model
               ON model.company_id = COALESCE(lead.company_id, %(main)s) AND model.state = 'active'
              AND model.active AND model.quality_passed
            WHERE lead.won_status = 'pending' AND lead.active AND line.model_probability IS NOT NULL
              AND %(ids)s""",
        main=main_company_id, ids=SQL('lead.id = ANY(%s)', list(ids)) if ids is not None else SQL('TRUE'))


def model_probability_holders_sql(main_company_id, setting_on):
    """SELECT id of the open leads whose automated probability is their model probability but should not
    be: the setting is off (``setting_on`` False), or their company has no active model that passed its
    quality gates."""
    return SQL(
        """SELECT lead.id
             FROM crm_lead lead
             JOIN crm_lead_score line ON line.id = lead.score_line_id
            WHERE lead.won_status = 'pending' AND lead.active AND line.model_probability IS NOT NULL
              AND lead.automated_probability = round((line.model_probability * 100)::numeric, 2)::float8
              AND (NOT %(on)s OR NOT EXISTS (
                   SELECT 1 FROM crm_lead_scoring_model model
                    WHERE model.company_id = COALESCE(lead.company_id, %(main)s) AND model.state = 'active'
                      AND model.active AND model.quality_passed))
            ORDER BY lead.id""",
        on=setting_on, main=main_company_id)


def values_sql(ids, probabilities):
    """SELECT (id, probability) of the aligned lists ``ids`` and ``probabilities`` (percent)."""
    return SQL('SELECT * FROM unnest(%s::int[], %s::float8[]) AS v(id, probability)', ids, probabilities)


def set_automated_probabilities(env, rows):
    """Set the automated probability of the open leads of ``rows``.

    As crm's own update: the probability follows where it equalled the automated one (or was empty),
    a probability set by hand stays; the prorated revenues follow the probability. Only the leads
    whose automated probability differs are written.

    :param rows: SQL of (id, probability in percent) rows, as :func:`model_win_probabilities_sql`
    :return: ids of the leads written
    """
    return [row[0] for row in env.execute_query(SQL(
        """UPDATE crm_lead
              SET automated_probability = v.probability, probability = v.new_probability,
                  prorated_revenue = round((COALESCE(crm_lead.expected_revenue, 0) * v.new_probability / 100)::numeric,
                                           2),
                  recurring_revenue_prorated = COALESCE(crm_lead.recurring_revenue, 0) * v.new_probability / 100,
                  recurring_revenue_monthly_prorated =
                      COALESCE(crm_lead.recurring_revenue_monthly, 0) * v.new_probability / 100
             FROM (SELECT rows.id, rows.probability,
                          CASE WHEN lead.probability IS NULL OR lead.probability = lead.automated_probability
                               THEN rows.probability ELSE lead.probability END AS new_probability
                     FROM (%(rows)s) AS rows JOIN crm_lead lead ON lead.id = rows.id
                    WHERE lead.won_status = 'pending') AS v
            WHERE crm_lead.id = v.id AND crm_lead.automated_probability IS DISTINCT FROM v.probability
        RETURNING crm_lead.id""",
        rows=rows))]
# SEGMENTATION
# ------------------------------------------------------------

def set_clusters(env, ids, cluster_ids):
    """Set the segment ``cluster_ids[i]`` on each lead ``ids[i]`` where it differs, in one statement."""
    env.cr.execute(SQL(
        """UPDATE crm_lead lead SET cluster_id = new.cluster_id
             FROM unnest(%s::int[], %s::int[]) AS new(id, cluster_id)
            WHERE lead.id = new.id AND lead.cluster_id IS DISTINCT FROM new.cluster_id""",
        [int(value) for value in ids], [int(value) for value in cluster_ids]))
# PROFILE COMPLETENESS
# ------------------------------------------------------------


def set_profile_completeness(env, expression, ids=None):
    """Set the profile completeness of the leads ``ids`` (every lead when None) to ``expression``
    (an SQL expression on ``crm_lead``), in one UPDATE of the rows where it changes."""
    env.execute_query(SQL(
        """UPDATE crm_lead SET profile_completeness = %(value)s
            WHERE profile_completeness IS DISTINCT FROM %(value)s%(restrict)s""",
        value=expression, restrict=SQL(' AND id = ANY(%s)', list(ids)) if ids is not None else SQL()))
