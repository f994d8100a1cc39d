import { Component, onWillStart, onWillUnmount, useEffect, useRef } from "@odoo/owl";
import { loadBundle } from "@web/core/assets";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { standardFieldProps } from "@web/views/fields/standard_field_props";

/** Predicted against observed win rate per decile of a model's validation leads, two lines in one chart. */
export class LeadModelCalibrationChartField extends Component {
    static template = "lead_intelligence.LeadModelCalibrationChartField";
    static props = { ...standardFieldProps };

    setup() {
        this.canvasRef = useRef("canvas");
        this.chart = null;
        onWillStart(() => loadBundle("web.chartjs_lib"));
        useEffect(
            () => this.renderChart(),
            () => [this.lines]
        );
        onWillUnmount(() => this.chart?.destroy());
    }

    /** [[decile, predicted, observed], ...], lowest predictions first. */
    get lines() {
        return this.props.record.data[this.props.name] || [];
    }

    renderChart() {
        this.chart?.destroy();
        this.chart = null;
        if (!this.lines.length) {
            return;
        }
        const percent = (value) => Math.round(1000 * value) / 10;
        this.chart = new window.Chart(this.canvasRef.el, {
            type: "line",
            data: {
                labels: this.lines.map(([decile]) => decile),
                datasets: [
                    {
                        label: _t("Predicted"),
                        data: this.lines.map(([, predicted]) => percent(predicted)),
                        borderColor: "#714b67",
                        borderDash: [6, 4],
                        pointRadius: 3,
                    },
                    {
                        label: _t("Observed"),
                        data: this.lines.map(([, , observed]) => percent(observed)),
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
        });
    }
}

registry.category("fields").add("lead_model_calibration_chart", {
    component: LeadModelCalibrationChartField,
    displayName: _t("Predicted against Observed"),
    supportedTypes: ["json"],
});
