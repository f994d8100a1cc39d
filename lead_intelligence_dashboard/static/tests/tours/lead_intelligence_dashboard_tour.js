import { registry } from "@web/core/registry";

const DASHBOARD = "Lead Intelligence";

/**
 * The figures of the dashboard's sheet once every pivot has its data: throws when a cell is still
 * loading after a while, or shows an error.
 */
async function loadedFigures(model) {
    const sheetId = model.getters.getActiveSheetId();
    for (let attempt = 0; attempt < 100; attempt++) {
        const cells = Object.values(model.getters.getEvaluatedCells(sheetId));
        const errors = cells.filter((cell) => cell.type === "error");
        const loading = errors.filter((cell) => String(cell.message || cell.value).includes("Loading"));
        if (!loading.length && cells.length) {
            if (errors.length) {
                throw new Error(`Dashboard cells in error: ${errors.map((cell) => cell.message).join("; ")}`);
            }
            return cells.filter((cell) => cell.type === "number").map((cell) => cell.value);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error("The dashboard's pivots are still loading after 10 s");
}

// The test scores leads of known tiers; the dashboard's figures must be the database's.
registry.category("web_tour.tours").add("lead_intelligence_dashboard_tour", {
    steps: () => [
        {
            trigger: `.o_search_panel_category_value[data-name='${DASHBOARD}']`,
            content: "Open the Lead Intelligence dashboard",
            run: "click",
        },
        {
            trigger: `.o_search_panel_category_value.active[data-name='${DASHBOARD}']`,
            content: "It is the dashboard shown",
        },
        {
            trigger: ".o_renderer .o-grid",
            content: "The sheet is drawn",
        },
        {
            trigger: ".o_renderer .o-grid",
            content: "Every pivot shows the database's figures, without error",
            run: async () => {
                const { env } = odoo.__WOWL_DEBUG__.root;
                const dashboard = env.services.spreadsheet_dashboard_loader.getActiveDashboard();
                const figures = await loadedFigures(dashboard.model);
                const [total] = await env.services.orm.formattedReadGroup(
                    "crm.lead.tier.report", [], [], ["lead_count:sum", "won_revenue:sum"]
                );
                for (const measure of ["lead_count:sum", "won_revenue:sum"]) {
                    if (!figures.includes(total[measure])) {
                        throw new Error(
                            `The dashboard does not show the ${measure} ${total[measure]} of the tier report (${figures})`
                        );
                    }
                }
            },
        },
    ],
});
