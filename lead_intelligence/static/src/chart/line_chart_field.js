import { Component, onWillStart, onWillUnmount, useEffect, useRef } from "@odoo/owl";
import { loadBundle } from "@web/core/assets";
import { standardFieldProps } from "@web/views/fields/standard_field_props";

/**
 * A read-only field drawn as a Chart.js line chart: its value is a list of rows, redrawn when it
 * changes. A field says how in ``chartConfig(rows)``; nothing is drawn without rows.
 */
export class LineChartField extends Component {
    static props = { ...standardFieldProps };

    setup() {
        this.canvasRef = useRef("canvas");
        this.chart = null;
        onWillStart(() => loadBundle("web.chartjs_lib"));
        useEffect(
            () => this.renderChart(),
            () => [this.rows]
        );
        onWillUnmount(() => this.chart?.destroy());
    }

    get rows() {
        return this.props.record.data[this.props.name] || [];
    }

    renderChart() {
        this.chart?.destroy();
        this.chart = null;
        if (this.rows.length) {
            this.chart = new window.Chart(this.canvasRef.el, this.chartConfig(this.rows));
        }
    }

    /** The Chart.js configuration of ``rows``. */
    chartConfig(rows) {
        throw new Error("A line chart field says how to draw its rows");
    }
}
