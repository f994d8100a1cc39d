import { Component, onWillStart, onWillUnmount, useEffect, useRef } from "@odoo/owl";
import { loadBundle } from "@web/core/assets";
import { _t } from "@web/core/l10n/translation";
import { formatDateTime, deserializeDateTime } from "@web/core/l10n/dates";
import { registry } from "@web/core/registry";
import { standardFieldProps } from "@web/views/fields/standard_field_props";

/** A small line chart of the lead's score over time, from its score history. */
export class LeadScoreTimelineField extends Component {
    static template = "lead_intelligence.LeadScoreTimelineField";
    static props = { ...standardFieldProps };

    setup() {
        this.canvasRef = useRef("canvas");
        this.chart = null;
        onWillStart(() => loadBundle("web.chartjs_lib"));
        useEffect(
            () => this.renderChart(),
            () => [this.points]
        );
        onWillUnmount(() => this.chart?.destroy());
    }

    get points() {
        return this.props.record.data[this.props.name] || [];
    }

    renderChart() {
        this.chart?.destroy();
        this.chart = null;
        if (!this.points.length) {
            return;
        }
        this.chart = new window.Chart(this.canvasRef.el, {
            type: "line",
            data: {
                labels: this.points.map(([date]) => formatDateTime(deserializeDateTime(date))),
                datasets: [
                    {
                        label: _t("Score"),
                        data: this.points.map(([, score]) => score),
                        stepped: "before",
                        borderColor: "#017e84",
                        pointRadius: 2,
                    },
                ],
            },
            options: {
                maintainAspectRatio: false,
                animation: false,
                plugins: { legend: { display: false } },
                scales: { x: { ticks: { maxTicksLimit: 6 } }, y: { min: 0, max: 100 } },
            },
        });
    }
}

registry.category("fields").add("lead_score_timeline", {
    component: LeadScoreTimelineField,
    displayName: _t("Score over Time"),
    supportedTypes: ["json"],
});
