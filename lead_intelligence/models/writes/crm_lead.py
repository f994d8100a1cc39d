"""The SQL writes of ``crm_lead``: every column the passes set by SQL, by stage.

Each function writes a set of leads in one statement and leaves the ORM cache
to its caller (which invalidates the fields it knows changed).
"""

import numpy as np

from odoo.tools import SQL

# ------------------------------------------------------------
# SCORING
# ------------------------------------------------------------

# ------------------------------------------------------------
# CLASSIFICATION
# ------------------------------------------------------------

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
    latest = [value if np.isfinite(value) else None for value in np.asarray(latest, dtype=np.float64).tolist()]
    names = list(increments)
    env.execute_query(SQL(
        """UPDATE crm_lead SET last_engagement_date = GREATEST(crm_lead.last_engagement_date,
                                   to_timestamp(v.latest) AT TIME ZONE 'UTC')%(sets)s
             FROM unnest(%(ids)s::int[], %(latest)s::float8[]%(arrays)s) AS v(id, latest%(aliases)s)
            WHERE crm_lead.id = v.id""",
        sets=SQL('').join(SQL(', %s = LEAST(COALESCE(crm_lead.%s, 0)::bigint + v.%s, 2147483647)',
                              SQL.identifier(name), SQL.identifier(name), SQL.identifier(name))
                          for name in names),
        ids=np.asarray(ids).tolist(), latest=latest,
        arrays=SQL('').join(SQL(', %s::bigint[]', np.asarray(increments[name]).tolist()) for name in names),
        aliases=SQL('').join(SQL(', %s', SQL.identifier(name)) for name in names),
    ))

# ------------------------------------------------------------
# ROUTING
# ------------------------------------------------------------
