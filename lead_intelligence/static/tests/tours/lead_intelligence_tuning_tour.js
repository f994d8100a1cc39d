import { registry } from "@web/core/registry";

// The test closes 10 won leads whose job position matches the rule "Tour VIP" and 20 lost others:
// the tuning suggests more points for the rule, the manager applies them and sees the change recorded.
registry.category("web_tour.tours").add("lead_intelligence_tuning_tour", {
    steps: () => [
        {
            trigger: ".dropdown-toggle[data-menu-xmlid='crm.crm_menu_config']",
            content: "Open CRM's Configuration menu",
            run: "click",
        },
        {
            trigger: ".dropdown-item[data-menu-xmlid='lead_intelligence.crm_menu_config_tuning']",
            content: "Open Lead Intelligence > Tune",
            run: "click",
        },
        {
            trigger: ".o_list_button_add",
            content: "Start a new tuning",
            run: "click",
        },
        {
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_compute]",
            content: "Compute the suggestions from the closed leads",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=rule_line_ids] .o_data_row:contains('Tour VIP') td[name=conversion]:contains('100')",
            content: "The rule's leads all converted",
        },
        {
            trigger: ".o_field_widget[name=rule_line_ids] .o_data_row:contains('Tour VIP') td[name=current_points]:contains('5')",
            content: "... with its current points beside the suggested ones",
        },
        {
            trigger: ".o_field_widget[name=rule_line_ids] .o_data_row:contains('Tour VIP') td[name=selected] input",
            content: "Select the rule's suggestion",
            run: "click",
        },
        {
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_apply_selected]",
            content: "Apply the selected suggestion",
            run: "click",
        },
        {
            trigger: ".modal-footer .btn-primary",
            content: "Confirm: the points are written and the leads rescored",
            run: "click",
        },
        {
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains('Applied')",
            content: "The tuning is applied",
        },
        {
            trigger: ".o_notebook_headers a[name='history']",
            content: "Open the History tab",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=history_ids] .o_data_row:contains('Tour VIP') td[name=old_value]:contains('5')",
            content: "The change is recorded with its old value",
        },
    ],
});
