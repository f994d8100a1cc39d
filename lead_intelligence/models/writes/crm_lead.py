"""The SQL writes of ``crm_lead``: every column the passes set by SQL, by stage.

Each function writes a set of leads in one statement and leaves the ORM cache
to its caller (which invalidates the fields it knows changed).
"""

from odoo.tools import SQL

from ...engine import arrays

# ------------------------------------------------------------
# SCORING
# ------------------------------------------------------------

# ------------------------------------------------------------
# CLASSIFICATION
# ------------------------------------------------------------

def set_classification(env, ids, values, selections):
    """Set the single-valued dimensions of the leads ``ids``, in one UPDATE, and clear their dirty
    flag: they are scored next, in the same transaction, which then need not rewrite their rows a
    second time for the flag alone.

    :param ids: (n,) int
    :param values: ``engine.classification.DimensionValues`` of the leads: the industry's id, or
        the position of the value in its selection, -1 for none
    :param selections: {selection dimension (a field of the lead): its keys, in order}
    """
    env.execute_query(SQL(
        """UPDATE crm_lead SET score_dirty = FALSE, industry_id = NULLIF(v.industry, -1)%(sets)s
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

# ------------------------------------------------------------
# ROUTING
# ------------------------------------------------------------
