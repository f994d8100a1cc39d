{
    "name": "Lead Intelligence - Automation Rules",
    "version": "19.0.1.0.0",
    "category": "Sales/CRM",
    "summary": "Automation rules fire on the tiers, scores, classifications and routing the passes change",
    "website": "https://github.com/lead-intelligence/lead_intelligence",
    "author": "Lead Intelligence founders",
    "maintainers": ["lead-intelligence"],
    "license": "LGPL-3",
    "development_status": "Alpha",
    "depends": ["lead_intelligence", "base_automation"],
    "data": [
        "data/base_automation_data.xml",
        "views/base_automation_views.xml",
    ],
    "auto_install": True,
}
