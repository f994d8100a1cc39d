"""The SQL writes of ``crm_lead_classification_snapshot``, the quality check's daily counts."""

from odoo.tools import SQL


def replace_day(env, day, rows):
    """The counts of ``day``, per company, dimension and value of the rows ``rows``, in place of
    those already taken that day: one DELETE, one INSERT ... SELECT.

    :param rows: SQL of a relation with the columns ``company_id``, ``dimension`` and ``value``,
        a row per lead and dimension
    """
    env.execute_query(SQL('DELETE FROM crm_lead_classification_snapshot WHERE date = %s', day))
    env.execute_query(SQL(
        """INSERT INTO crm_lead_classification_snapshot (date, dimension, value, count, company_id)
           SELECT %s, rows.dimension, rows.value, COUNT(*), rows.company_id
             FROM (%s) AS rows
            GROUP BY rows.company_id, rows.dimension, rows.value""", day, rows))
