import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

registry.category("web_tour.tours").add("lead_intelligence_tour", {
    url: "/odoo",
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            trigger: ".o_app[data-menu-xmlid='crm.crm_menu_root']",
            content: "Open the CRM app",
            run: "click",
        },
        {
            trigger: ".dropdown-toggle[data-menu-xmlid='crm.crm_menu_sales']",
            content: "Open the Sales menu",
            run: "click",
        },
        {
            trigger: ".dropdown-item[data-menu-xmlid='lead_intelligence.crm_menu_leads_by_tier']",
            content: "Open Leads by Tier",
            run: "click",
        },
        {
            trigger: ".o_kanban_group .o_column_title:contains('A')",
            content: "Tier A has its column",
        },
        {
            trigger: ".o_kanban_group .o_column_title:contains('D')",
            content: "Tier D has its column, even when empty",
        },
        {
            trigger: ".o_kanban_group:has(.o_column_title:contains('B')) .o_kanban_record:contains('Tour lead from Shenzhen')",
            content: "The lead sits in tier B; open it",
            run: "click",
        },
        {
            trigger: ".o_form_view .o_field_widget[name=tier_id]:contains('B')",
            content: "The form shows the tier",
        },
        {
            trigger: ".o_notebook_headers a[name='lead_intelligence_score']",
            content: "Open the Score tab",
            run: "click",
        },
        {
            trigger: ".o_lead_score_explanation:contains('Decision maker'):contains('Fit points')",
            content: "The explanation lists the matched rules",
        },
        {
            trigger: ".o_lead_engagement_explanation:contains('Content download')",
            content: "... and each event type's decayed points",
        },
        {
            trigger: ".o_notebook_headers a[name='lead_intelligence_behaviour']",
            content: "Open the Behaviour tab",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=download_count]:contains('1')",
            content: "The download is counted",
        },
        {
            trigger: ".o_field_widget[name=event_ids] .o_data_row:contains('Content download'):contains('Counted')",
            content: "The timeline shows the counted download",
        },
        {
            trigger: ".o_field_widget[name=event_ids] .o_data_row:contains('Website visit'):contains('Bot user agent')",
            content: "... and the bot's visit, filtered, with the reason",
        },
    ],
});
