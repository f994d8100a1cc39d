"""19.0.1.6.0: the default fit rules score the job level the classification gives (one rule per
level, a lead earns one job-level bonus only), and the job-level classification rules hold the
titles, in English and Chinese, in an order that settles a title naming two levels.

The shipped rules are loaded once (``noupdate``): an upgrade does not reload them. Those an
administrator has not edited (every value the data file set still as shipped) are rewritten
here with the values the data file ships now; their names lose their former translations,
which the upgrade's translations give anew right after. The rules an administrator edited
stay as they are. Rewriting a rule starts a full pass, as any edit of a rule does.
"""

from lxml import etree

from odoo import SUPERUSER_ID, api
from odoo.tools import SQL, file_open

# (external id, table, the values the previous data file set)
SHIPPED = [
    ('fit_rule_decision_maker', 'crm_lead_fit_rule', {
        'name': 'Decision maker (CEO, owner, director, general manager)',
        'sequence': 20,
        'domain': ("['|', '|', '|', '|', '|', ('function', 'ilike', 'CEO'), "
                   "('function', 'ilike', 'owner'), ('function', 'ilike', 'director'), "
                   "('function', 'ilike', 'general manager'), ('function', 'ilike', '总经理'), "
                   "('function', 'ilike', '总监')]"),
        'points': 25,
    }),
    ('fit_rule_technical_lead', 'crm_lead_fit_rule', {
        'name': 'Technical lead (CTO, IT manager, engineering head)',
        'sequence': 21,
        'domain': ("['|', '|', '|', ('function', 'ilike', 'CTO'), "
                   "('function', 'ilike', 'IT manager'), ('function', 'ilike', 'engineering'), "
                   "('function', 'ilike', '技术')]"),
        'points': 15,
    }),
    ('fit_rule_procurement', 'crm_lead_fit_rule', {
        'name': 'Procurement contact',
        'sequence': 22,
        'domain': ("['|', '|', ('function', 'ilike', 'purchas'), ('function', 'ilike', 'procure'), "
                   "('function', 'ilike', '采购')]"),
        'points': 10,
    }),
    ('classification_job_decision_maker', 'crm_lead_classification_rule', {
        'name': 'Decision maker: CEO, founder, owner, general manager (总经理, 董事长, 总裁)',
        'dimension': 'job_level',
        'value': 'job_level:decision_maker',
        'sequence': 10,
        'domain': ("['|', '|', '|', '|', '|', '|', '|', '|', '|', '|', "
                   "('function', 'ilike', 'chief executive'), ('function', '=ilike', 'CEO%'), "
                   "('function', 'ilike', 'founder'), ('function', 'ilike', 'owner'), "
                   "('function', 'ilike', 'president'), ('function', 'ilike', 'general manager'), "
                   "('function', 'ilike', 'managing director'), ('function', 'ilike', '总经理'), "
                   "('function', 'ilike', '董事长'), ('function', 'ilike', '总裁'), "
                   "('function', 'ilike', '创始人')]"),
    }),
    ('classification_job_technical', 'crm_lead_classification_rule', {
        'name': 'Technical lead: CTO, engineering, IT (技术总监, 工程师)',
        'dimension': 'job_level',
        'value': 'job_level:technical',
        'sequence': 20,
        'domain': ("['|', '|', '|', '|', '|', '|', '|', ('function', '=ilike', 'CTO%'), "
                   "('function', 'ilike', 'chief technology'), ('function', 'ilike', 'engineer'), "
                   "('function', 'ilike', 'technical'), ('function', 'ilike', 'IT manager'), "
                   "('function', 'ilike', '技术'), ('function', 'ilike', '工程师'), "
                   "('function', '=ilike', 'CIO%')]"),
    }),
    ('classification_job_procurement', 'crm_lead_classification_rule', {
        'name': 'Procurement: purchasing, buyer (采购)',
        'dimension': 'job_level',
        'value': 'job_level:procurement',
        'sequence': 30,
        'domain': ("['|', '|', '|', ('function', 'ilike', 'procurement'), "
                   "('function', 'ilike', 'purchas'), ('function', 'ilike', 'buyer'), "
                   "('function', 'ilike', '采购')]"),
    }),
    ('classification_job_manager', 'crm_lead_classification_rule', {
        'name': 'Manager: manager, director, head of (经理, 总监, 主管)',
        'dimension': 'job_level',
        'value': 'job_level:manager',
        'sequence': 40,
        'domain': ("['|', '|', '|', '|', '|', ('function', 'ilike', 'manager'), "
                   "('function', 'ilike', 'director'), ('function', 'ilike', 'head of'), "
                   "('function', 'ilike', '经理'), ('function', 'ilike', '总监'), "
                   "('function', 'ilike', '主管')]"),
    }),
]


MODELS = {'crm_lead_fit_rule': 'crm.lead.fit.rule', 'crm_lead_classification_rule': 'crm.lead.classification.rule'}
DATA_FILES = {
    'crm_lead_fit_rule': 'lead_intelligence/data/crm_lead_fit_rule_data.xml',
    'crm_lead_classification_rule': 'lead_intelligence/data/crm_lead_classification_rule_data.xml',
}


def _shipped_values(table):
    """The values the data file of ``table`` ships now, by external id: its fields' texts."""
    with file_open(DATA_FILES[table], 'rb') as data_file:
        tree = etree.parse(data_file)
    return {
        record.get('id'): {field.get('name'): field.text for field in record.iterfind('field')}
        for record in tree.iterfind('.//record')
    }


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    shipped = {table: _shipped_values(table) for table in DATA_FILES}
    for name, table, values in SHIPPED:
        same = [
            SQL("rule.name->>'en_US' = %s", value) if column == 'name'
            else SQL('rule.%s = %s', SQL.identifier(column), value)
            for column, value in values.items()
        ]
        cr.execute(SQL(
            """UPDATE %(table)s rule SET name = jsonb_build_object('en_US', rule.name->>'en_US')
                 FROM ir_model_data data
                WHERE data.module = 'lead_intelligence' AND data.name = %(name)s AND rule.id = data.res_id
                  AND %(same)s
            RETURNING rule.id""",
            table=SQL.identifier(table), name=name, same=SQL(' AND ').join(same)))
        rule = env[MODELS[table]].browse([row[0] for row in cr.fetchall()])
        if rule:
            new = shipped[table][name]
            rule.write({column: int(new[column]) if column in ('sequence', 'points') else new[column]
                        for column in values})
