import { _t } from "@web/core/l10n/translation";
import { formatDateTime, deserializeDateTime } from "@web/core/l10n/dates";
import { registry } from "@web/core/registry";
import { LineChartField } from "../chart/line_chart_field";

/** A small line chart of the lead's score over time, from its score history. */
export class LeadScoreTimelineField extends LineChartField {
    static template = "lead_intelligence.LeadScoreTimelineField";

    /** ``rows``: [[date, score], ...], oldest first. */
    chartConfig(rows) {
        return {
            type: "line",
            data: {
                labels: rows.map(([date]) => formatDateTime(deserializeDateTime(date))),
                datasets: [
                    {
                        label: _t("Score"),
                        data: rows.map(([, score]) => score),
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
        };
    }
}

registry.category("fields").add("lead_score_timeline", {
    component: LeadScoreTimelineField,
    displayName: _t("Score over Time"),
    supportedTypes: ["json"],
});
