{
    "name": "Lead Intelligence - Dashboard",
    "version": "19.0.1.0.0",
    "category": "Sales/CRM",
    "summary": "A Lead Intelligence dashboard in the Dashboards app: tier funnel, conversion, revenue, scores, SLA",
    "website": "https://github.com/lead-intelligence/lead_intelligence",
    "author": "Lead Intelligence founders",
    "maintainers": ["lead-intelligence"],
    "license": "LGPL-3",
    "development_status": "Alpha",
    "depends": ["lead_intelligence", "spreadsheet_dashboard"],
    "data": [
        "data/spreadsheet_dashboard_data.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "lead_intelligence_dashboard/static/tests/tours/**/*",
        ],
    },
    "auto_install": True,
}
