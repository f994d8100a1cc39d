import { registry } from "@web/core/registry";

// The test trains a model that passes its quality gates on a generated history where the industry
// "Tour Machine Building" wins more, and opens its form; the open lead "Tour page lead" of that industry
// then has the model's probability as its win probability.
registry.category("web_tour.tours").add("lead_intelligence_model_page_tour", {
    steps: () => [
        {
            trigger: ".o_form_view .o_lead_model_verdict:contains(/^Good: ranks won leads above lost ones \\d+ times in 100/)",
            content: "The model page opens on its verdict",
        },
        {
            trigger: ".o_form_view .o_lead_model_drivers li:first:contains('Industry')",
            content: "... and the driver that matters most, in words",
        },
        {
            trigger: ".o_notebook_headers a[name='calibration']",
            content: "Open the Calibration tab",
            run: "click",
        },
        {
            trigger: ".o_lead_model_calibration_chart canvas",
            content: "The chart of predicted against observed is drawn, with its two lines",
            run() {
                const chart = window.Chart.getChart(this.anchor);
                const labels = chart.data.datasets.map((dataset) => dataset.label).join(",");
                if (labels !== "Predicted,Observed" || chart.data.datasets.some((d) => d.data.length !== 10)) {
                    throw new Error(`expected the predicted and observed lines of ten deciles, got ${labels}`);
                }
            },
        },
    ],
});

registry.category("web_tour.tours").add("lead_intelligence_win_probability_tour", {
    steps: () => [
        {
            trigger: ".o_form_view .o_crm_pls_tooltip_button",
            content: "The lead's probability is automated: open Odoo's AI tooltip",
            run: "click",
        },
        {
            trigger: ".o_crm_pls_tooltip:contains('Industry: Tour Machine Building')",
            content: "The tooltip explains the model's factors",
        },
    ],
});
