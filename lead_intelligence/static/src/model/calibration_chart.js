import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { LineChartField } from "../chart/line_chart_field";

/** Predicted against observed win rate per decile of a model's validation leads, two lines in one chart. */
export class LeadModelCalibrationChartField extends LineChartField {
    static template = "lead_intelligence.LeadModelCalibrationChartField";

    /** ``rows``: [[decile, predicted, observed], ...], lowest predictions first. */
    chartConfig(rows) {
        const percent = (value) => Math.round(1000 * value) / 10;
        return {
            type: "line",
            data: {
                labels: rows.map(([decile]) => decile),
                datasets: [
                    {
                        label: _t("Predicted"),
                        data: rows.map(([, predicted]) => percent(predicted)),
                        borderColor: "#714b67",
                        borderDash: [6, 4],
                        pointRadius: 3,
                    },
                    {
                        label: _t("Observed"),
                        data: rows.map(([, , observed]) => percent(observed)),
                        borderColor: "#017e84",
                        pointRadius: 3,
                    },
                ],
            },
            options: {
                maintainAspectRatio: false,
                animation: false,
                plugins: { legend: { display: true, position: "bottom" } },
                scales: {
                    x: { title: { display: true, text: _t("Decile of the predicted probability") } },
                    y: { min: 0, max: 100, title: { display: true, text: _t("Win rate (%)") } },
                },
            },
        };
    }
}

registry.category("fields").add("lead_model_calibration_chart", {
    component: LeadModelCalibrationChartField,
    displayName: _t("Predicted against Observed"),
    supportedTypes: ["json"],
});
