import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

// The test gives "Popover tour lead" (the admin's, open) the rule "Tour popover rule" and a
// score that rose over the trend window; "Popover tour won lead" is won, out of the default view.
registry.category("web_tour.tours").add("lead_intelligence_score_popover_tour", {
    url: "/odoo",
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            trigger: ".o_app[data-menu-xmlid='crm.crm_menu_root']",
            content: "Open the CRM app",
            run: "click",
        },
        {
            trigger: "[data-menu-xmlid='lead_intelligence.crm_menu_my_leads_by_tier']",
            content: "One click to my leads by tier",
            run: "click",
        },
        {
            trigger: ".o_searchview .o_facet_value:contains('Ongoing')",
            content: "Only open leads by default",
        },
        {
            trigger: ".o_kanban_view:not(:has(.o_kanban_record:contains('Popover tour won lead')))",
            content: "The won lead is out of the default view",
        },
        {
            trigger: ".o_kanban_record:contains('Popover tour lead') .o_lead_score_trend.fa-arrow-up",
            content: "The card shows the score rising",
        },
        {
            trigger: ".o_kanban_record:contains('Popover tour lead') .o_lead_score_badge",
            content: "Click the score badge",
            run: "click",
        },
        {
            trigger: ".o_popover .o_lead_score_popover .o_lead_score_popover_tier:contains('A')",
            content: "The popover names the tier",
        },
        {
            trigger: ".o_popover .o_lead_score_popover:contains('Tour popover rule'):contains('+90')",
            content: "... the top rule with its points",
        },
        {
            trigger: ".o_popover .o_lead_score_popover_trend:contains('Improving')",
            content: "... and the trend",
        },
        {
            trigger: ".o_kanban_view:not(:has(.o_form_view))",
            content: "The lead's form did not open",
        },
        {
            trigger: ".o_kanban_record:contains('Popover tour lead') .o_lead_score_badge",
            content: "Close the popover",
            run: "click",
        },
        {
            trigger: "body:not(:has(.o_lead_score_popover))",
            content: "The popover is closed",
        },
        {
            trigger: ".o_kanban_record:contains('Popover tour lead')",
            content: "Open the lead",
            run: "click",
        },
        {
            trigger: ".o_notebook_headers a[name='lead_intelligence_score']",
            content: "Open the Score tab",
            run: "click",
        },
        {
            trigger: ".o_lead_score_timeline canvas",
            content: "The score is charted over time",
        },
        {
            trigger: ".o_field_widget[name=score_trend]:contains('Improving')",
            content: "... with its trend",
        },
    ],
});
