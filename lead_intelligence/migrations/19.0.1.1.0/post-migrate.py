"""19.0.1.1.0 adds behaviour, and the engagement score to the lead score (weights 60 / 40).

A database upgraded from 19.0.1.0.0 has no behaviour logged yet: weighing engagement at
once would cut every score to 60 % of its fit and move most leads down a tier overnight.
Its scores stay on profile fit alone until an administrator sets an engagement weight.
"""


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        """INSERT INTO ir_config_parameter (key, value, create_uid, write_uid, create_date, write_date)
           SELECT 'lead_intelligence.weight_engagement', '0', 1, 1, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
            WHERE NOT EXISTS (SELECT 1 FROM ir_config_parameter WHERE key = 'lead_intelligence.weight_engagement')""")
