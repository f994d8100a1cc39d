import { registry } from "@web/core/registry";

// The test trains a model on a generated history where the industry "Tour Machine Building"
// and email replies win more, then scores the open lead "Tour model lead" of that industry.
registry.category("web_tour.tours").add("lead_intelligence_model_tour", {
    steps: () => [
        {
            trigger: ".dropdown-toggle[data-menu-xmlid='crm.crm_menu_config']",
            content: "Open CRM's Configuration menu",
            run: "click",
        },
        {
            trigger: ".dropdown-item[data-menu-xmlid='lead_intelligence.crm_menu_config_scoring_models']",
            content: "Open Lead Intelligence > Models",
            run: "click",
        },
        {
            trigger: ".o_list_view .o_data_row:has(td[name=state]:contains('Active')) td[name=roc_auc]:contains(/^0\\.[7-9]\\d\\d$/)",
            content: "The trained model is active, with its ROC AUC",
        },
        {
            trigger: ".o_list_view .o_data_row:has(td[name=state]:contains('Active')) td[name=name]",
            content: "Open the model",
            run: "click",
        },
        {
            trigger: ".o_form_view .o_field_widget[name=roc_auc]:contains(/^0\\.[7-9]\\d\\d$/)",
            content: "The form shows the ROC AUC on the validation leads",
        },
        {
            trigger: ".o_form_view .o_field_widget[name=brier_score]:contains(/^0\\.[0-2]\\d\\d\\d$/)",
            content: "... the Brier score",
        },
        {
            trigger: ".o_form_view .o_field_widget[name=n_valid]:text(48)",
            content: "... and the number of validation leads",
        },
        {
            trigger: ".o_notebook_headers a[name='calibration']",
            content: "Open the Calibration tab",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=calibration_ids] .o_data_row:has(td[name=decile]:text(10)) td[name=observed]:contains('%')",
            content: "The calibration table has its ten deciles, with the observed win rates",
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
            trigger: ".o_kanban_view .o_kanban_group",
            content: "The leads are shown by tier",
        },
        {
            trigger: ".o_control_panel .o_searchview_input",
            content: "Search the scored lead",
            run: "edit Tour model lead",
        },
        {
            trigger: ".o_control_panel .o_searchview_input",
            content: "... by its name",
            run: "press Enter",
        },
        {
            trigger: ".o_control_panel .o_facet_value:contains('Tour model lead')",
            content: "The search applies",
        },
        {
            trigger: ".o_kanban_record:contains('Tour model lead')",
            content: "Open the lead",
            run: "click",
        },
        {
            trigger: ".o_notebook_headers a[name='lead_intelligence_score']",
            content: "Open the Score tab",
            run: "click",
        },
        {
            trigger: ".o_lead_model_explanation:contains('ROC AUC'):contains('Industry: Tour Machine Building'):contains('Model score')",
            content: "The explanation shows the model's part, with the lead's industry among its factors",
        },
        {
            trigger: ".o_field_widget[name=score_explanation]:contains('% model')",
            content: "... and how the model blends into the score",
        },
    ],
});
