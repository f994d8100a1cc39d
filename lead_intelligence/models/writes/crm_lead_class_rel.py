"""The SQL writes of ``crm_lead_class_rel``, the classes of the leads (``crm.lead.class_ids``)."""

from odoo.tools import SQL

from ...engine import arrays


def replace_classes(env, lead_ids, link_lead_ids, link_class_ids):
    """Replace the classes of the leads ``lead_ids`` by the links given: one DELETE, one INSERT
    (none without links).

    :param lead_ids: (n,) int, the leads whose classes are replaced
    :param link_lead_ids, link_class_ids: (m,) int, their new (lead, class) links
    """
    env.execute_query(SQL('DELETE FROM crm_lead_class_rel WHERE lead_id = ANY(%s::int[])',
                          arrays.int_array_literal(lead_ids)))
    if len(link_lead_ids):
        env.execute_query(SQL(
            'INSERT INTO crm_lead_class_rel (lead_id, class_id) SELECT * FROM unnest(%s::int[], %s::int[])',
            arrays.int_array_literal(link_lead_ids), arrays.int_array_literal(link_class_ids)))
