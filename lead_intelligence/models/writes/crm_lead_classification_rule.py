"""The SQL writes of ``crm_lead_classification_rule``."""

from odoo.tools import SQL


def set_last_match_date(env, rule_ids, now):
    """The rules ``rule_ids`` (list of int) gave a value at ``now``: their last match date moves
    to it, once a day at most."""
    env.execute_query(SQL(
        """UPDATE crm_lead_classification_rule SET last_match_date = %s
            WHERE id = ANY(%s) AND (last_match_date IS NULL OR last_match_date < %s::date)""",
        now, rule_ids, now))
