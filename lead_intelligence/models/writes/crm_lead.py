"""The SQL writes of ``crm_lead``: every column the passes set by SQL, by stage.

Each function writes a set of leads in one statement and leaves the ORM cache
to its caller (which invalidates the fields it knows changed).
"""

from odoo.tools import SQL

# ------------------------------------------------------------
# SCORING
# ------------------------------------------------------------


def set_scored(env, ids, tier_ids, line_ids):
    """Mark the leads ``ids`` scored: their tier, their row of scores, and the dirty flag cleared.

    :param ids: (n,) lead ids
    :param tier_ids: (n,) the leads' tiers, 0 for none
    :param line_ids: (n,) the ids of the leads' rows of ``crm_lead_score``
    """
    env.execute_query(SQL(
        """UPDATE crm_lead
              SET tier_id = NULLIF(v.tier_id, 0), score_line_id = v.line_id, score_dirty = FALSE
             FROM unnest(%(ids)s::int[], %(tier)s::int[], %(line)s::int[]) AS v(id, tier_id, line_id)
            WHERE crm_lead.id = v.id""",
        ids=ids.tolist(), tier=tier_ids.tolist(), line=line_ids.tolist(),
    ))


def flag_dirty(env, ids):
    """Flag the leads ``ids`` (a list) for the scoring job; the leads already flagged are left as they are."""
    env.execute_query(SQL('UPDATE crm_lead SET score_dirty = TRUE WHERE id = ANY(%s) AND NOT score_dirty', ids))


# ------------------------------------------------------------
# CLASSIFICATION
# ------------------------------------------------------------

# ------------------------------------------------------------
# EVENTS
# ------------------------------------------------------------

# ------------------------------------------------------------
# ROUTING
# ------------------------------------------------------------
