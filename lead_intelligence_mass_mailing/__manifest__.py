{
    "name": "Lead Intelligence - Email Marketing",
    "version": "19.0.1.1.0",
    "category": "Sales/CRM",
    "summary": "Email marketing opens, clicks, replies and bounces of leads become lead behaviour events",
    "website": "https://github.com/lead-intelligence/lead_intelligence",
    "author": "Lead Intelligence founders",
    "maintainers": ["lead-intelligence"],
    "license": "LGPL-3",
    "development_status": "Alpha",
    "depends": ["lead_intelligence", "mass_mailing_crm"],
    "data": [
        "data/crm_lead_event_type_data.xml",
        "security/ir.model.access.csv",
        "views/crm_lead_nurture_list_views.xml",
    ],
    "auto_install": True,
}
