"""Events' external IDs become unique per company: each logged event gets the
company it was logged for (its lead's), and the unique index moves from
(source, external_id) to (source, company_id, external_id).

A lead shared by all companies has no company: its events go to the first
company (the only one of most databases), as no other record says which
company's integration sent them.
"""


def migrate(cr, version):
    cr.execute("ALTER TABLE crm_lead_event ADD COLUMN IF NOT EXISTS company_id int4")
    cr.execute(
        """UPDATE crm_lead_event e
              SET company_id = COALESCE(lead.company_id, (SELECT min(id) FROM res_company))
             FROM crm_lead lead
            WHERE lead.id = e.lead_id AND e.company_id IS NULL""")
    cr.execute("DROP INDEX IF EXISTS crm_lead_event_source_external_id_uniq")
