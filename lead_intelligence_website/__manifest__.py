{
    "name": "Lead Intelligence - Website",
    "version": "19.0.1.0.0",
    "category": "Sales/CRM",
    "summary": "Website page views of leads' visitors become lead behaviour events",
    "website": "https://github.com/lead-intelligence/lead_intelligence",
    "author": "Lead Intelligence founders",
    "maintainers": ["lead-intelligence"],
    "license": "LGPL-3",
    "development_status": "Alpha",
    "depends": ["lead_intelligence", "website_crm"],
    "data": [
        "security/ir.model.access.csv",
        "data/ir_cron_data.xml",
        "views/website_page_views.xml",
    ],
    "auto_install": True,
}
