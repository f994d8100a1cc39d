"""The SQL writes of ``crm_lead_classification_history``, a row per changed value of a lead, the
values as codes (see ``crm.lead.classification.history``)."""

from odoo.tools import SQL

from ...engine import arrays
from ...engine.classification import DIMENSIONS


def insert_changes(env, cells, cause, now, user_id):
    """One INSERT of a history row per cell of ``cells``.

    :param cells: ``engine.classification.ChangedCells``, not empty, labelled with the values' codes
    :param cause: the ``cause`` of the rows; ``now``: their date; ``user_id``: who, None for the rules
    """
    env.execute_query(SQL(
        """INSERT INTO crm_lead_classification_history
               (lead_id, date, user_id, dimension, old_value, new_value, cause)
           SELECT v.lead_id, %(now)s, %(uid)s, (%(dimension_keys)s::varchar[])[v.dimension + 1],
                  (%(labels)s::varchar[])[v.old], (%(labels)s::varchar[])[v.new], %(cause)s
             FROM unnest(%(leads)s::int[], %(dimensions)s::int[], %(old)s::int[], %(new)s::int[])
                  AS v(lead_id, dimension, old, new)""",
        now=now, uid=user_id, cause=cause, dimension_keys=list(DIMENSIONS), labels=list(cells.labels) or [''],
        leads=arrays.int_array_literal(cells.lead_id), dimensions=arrays.int_array_literal(cells.dimension),
        old=arrays.int_array_literal(cells.old_code), new=arrays.int_array_literal(cells.new_code)))
