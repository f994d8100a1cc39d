import { Component, onWillStart, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { usePopover } from "@web/core/popover/popover_hook";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { standardFieldProps } from "@web/views/fields/standard_field_props";

/**
 * The reasons of one lead's score, asked of the server when the popover opens:
 * its tier, its trend and the top rules, behaviour and model factors.
 */
export class LeadScorePopover extends Component {
    static template = "lead_intelligence.LeadScorePopover";
    static props = { leadId: Number, close: { type: Function, optional: true } };

    setup() {
        this.orm = useService("orm");
        this.state = useState({ reasons: null });
        onWillStart(async () => {
            this.state.reasons = await this.orm.call("crm.lead", "get_score_reasons", [[this.props.leadId]]);
        });
    }

    get sections() {
        const reasons = this.state.reasons;
        return [
            { key: "fit", title: _t("Profile fit"), rows: reasons.fit },
            { key: "behaviour", title: _t("Behaviour"), rows: reasons.behaviour },
            { key: "model", title: _t("Model"), rows: reasons.model },
        ].filter((section) => section.rows.length);
    }

    formatPoints(points) {
        return points > 0 ? `+${points}` : `${points}`;
    }
}

/**
 * The lead's score as a badge in its tier's colour; a click opens the score's reasons
 * without opening the lead.
 */
export class LeadScorePopoverField extends Component {
    static template = "lead_intelligence.LeadScorePopoverField";
    static props = { ...standardFieldProps };

    setup() {
        this.popover = usePopover(LeadScorePopover, { position: "bottom" });
    }

    get badgeClass() {
        return `o_badge_color_${this.props.record.data.tier_color || 0}`;
    }

    onClick(ev) {
        ev.stopPropagation();
        if (this.popover.isOpen) {
            this.popover.close();
        } else if (this.props.record.resId) {
            this.popover.open(ev.currentTarget, { leadId: this.props.record.resId });
        }
    }
}

registry.category("fields").add("lead_score_popover", {
    component: LeadScorePopoverField,
    displayName: _t("Lead Score with Reasons"),
    supportedTypes: ["integer"],
    fieldDependencies: [{ name: "tier_color", type: "integer" }],
});

/** The score trend as an arrow, its label as the tooltip. */
export class LeadScoreTrendField extends Component {
    static template = "lead_intelligence.LeadScoreTrendField";
    static props = { ...standardFieldProps };

    get trend() {
        return this.props.record.data[this.props.name];
    }

    get label() {
        const selection = this.props.record.fields[this.props.name].selection;
        return (selection.find(([key]) => key === this.trend) || [null, ""])[1];
    }
}

registry.category("fields").add("lead_score_trend", {
    component: LeadScoreTrendField,
    displayName: _t("Score Trend Arrow"),
    supportedTypes: ["selection"],
});
