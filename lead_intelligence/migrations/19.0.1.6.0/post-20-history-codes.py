"""19.0.1.6.0: the classification history keeps each value's code (a selection key, an industry id,
the class ids comma-separated) and shows its label in the reader's language; it kept the label,
in the language of whoever or whatever made the change.

Each label kept is turned back into its code where a value has that label in one of the
languages it is translated in (a selection value, an industry), or where every class of a list
of classes is found by its full name. A label no value has any more (a record deleted or
renamed since) stays as it is, and reads as it is.
"""

from odoo.tools import SQL

from odoo.addons.lead_intelligence.models.classification.dimensions import SELECTION_DIMENSIONS


def migrate(cr, version):
    if not version:
        return
    for column in ('old_value', 'new_value'):
        value = SQL.identifier('history', column)
        cr.execute(SQL(
            """UPDATE crm_lead_classification_history history
                  SET %(column)s = choice.value
                 FROM ir_model_fields_selection choice
                 JOIN ir_model_fields field ON field.id = choice.field_id
                WHERE field.model = 'crm.lead' AND field.name = history.dimension
                  AND history.dimension = ANY(%(dimensions)s)
                  AND EXISTS (SELECT 1 FROM jsonb_each_text(choice.name) label WHERE label.value = %(value)s)""",
            column=SQL.identifier(column), dimensions=list(SELECTION_DIMENSIONS), value=value))
        cr.execute(SQL(
            """UPDATE crm_lead_classification_history history
                  SET %(column)s = (SELECT min(industry.id)::varchar FROM res_partner_industry industry
                                     WHERE EXISTS (SELECT 1 FROM jsonb_each_text(industry.name) label
                                                    WHERE label.value = %(value)s))
                WHERE history.dimension = 'industry' AND EXISTS (
                      SELECT 1 FROM res_partner_industry industry
                       WHERE EXISTS (SELECT 1 FROM jsonb_each_text(industry.name) label
                                      WHERE label.value = %(value)s))""",
            column=SQL.identifier(column), value=value))
        cr.execute(SQL(
            """UPDATE crm_lead_classification_history history
                  SET %(column)s = codes.code
                 FROM (SELECT history.id, string_agg(lead_class.id::varchar, ',' ORDER BY lead_class.id) AS code,
                              count(lead_class.id) AS found, count(*) AS wanted
                         FROM crm_lead_classification_history history,
                              unnest(string_to_array(%(value)s, ', ')) AS kept(full_name)
                    LEFT JOIN crm_lead_class lead_class ON lead_class.complete_name = kept.full_name
                        WHERE history.dimension = 'class' AND %(value)s <> ''
                     GROUP BY history.id) codes
                WHERE codes.id = history.id AND codes.found = codes.wanted""",
            column=SQL.identifier(column), value=value))
