import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

// The test routes "Tour routed lead" (tier B, industry "Tour Electronics") by the rule
// "Tour skilled routing" to Rita Router, whose industry skill matches; Bruno, without
// skills, loses the tie-break of skills.
registry.category("web_tour.tours").add("lead_intelligence_routing_tour", {
    steps: () => [
        {
            trigger: ".o_breadcrumb:contains('Tour routed lead')",
            content: "The routed lead's form is open",
        },
        {
            trigger: ".o_form_view .o_field_widget[name=user_id] input:value(Rita Router)",
            content: "Routing chose the salesperson with the matching skill",
        },
        {
            trigger: ".o_notebook_headers a[name='lead_intelligence_routing']",
            content: "Open the Routing tab",
            run: "click",
        },
        {
            trigger: ".o_notebook .o_field_widget[name=routing_state]:contains('Routed')",
            content: "The lead is routed",
        },
        {
            trigger: ".o_notebook .o_field_widget[name=routing_rule_id]:contains('Tour skilled routing')",
            content: "... by the rule",
        },
        {
            trigger: ".o_notebook .o_field_widget[name=routing_explanation]:contains('Rita Router'):contains('Skills matched: industry')",
            content: "The tab explains the choice",
        },
        {
            trigger: ".o_action button[name='action_explain_routing']",
            content: "Ask why this salesperson",
            run: "click",
        },
        {
            trigger: ".modal .o_form_view .o_field_widget[name=user_id]:contains('Rita Router')",
            content: "The dialog shows the salesperson",
        },
        {
            trigger: ".modal .o_form_view .o_field_widget[name=routing_rule_id]:contains('Tour skilled routing')",
            content: "... the rule",
        },
        {
            trigger: ".modal .o_form_view .o_field_widget[name=routing_explanation]:contains('Tour skilled routing'):contains('Skills matched: industry (1 of 5)')",
            content: "... and the reason: the industry skill matched",
        },
        {
            trigger: ".modal .modal-footer button.btn-secondary",
            content: "Close the dialog",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
            content: "The dialog is closed",
        },
        {
            trigger: ".dropdown-toggle[data-menu-xmlid='crm.crm_menu_config']",
            content: "Open CRM's Configuration menu",
            run: "click",
        },
        {
            trigger: ".dropdown-item[data-menu-xmlid='lead_intelligence.crm_menu_config_routing_rules']",
            content: "Open Lead Intelligence > Routing Rules",
            run: "click",
        },
        {
            trigger: ".o_list_view .o_data_row:has(td[name=name]:contains('Tour skilled routing')) td[name=team_id]:contains('Tour Routing Team')",
            content: "The rule is listed with its team",
        },
        {
            trigger: ".o_list_view .o_data_row:has(td[name=name]:contains('Tour skilled routing')) td[name=routed_count]:text(1)",
            content: "... and the lead it routed",
        },
    ],
});
