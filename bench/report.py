"""Scenario ``report``: the main queries of the reports, as their views send them, against Odoo's own
``crm.lead`` read_group on the same grouping.

On the scratch database (whose closed leads were never scored, as no pass scores a closed lead):

1. A worker gives the leads without a tier one, by SQL (``id`` modulo the active tiers: a stand-in
   for the tier a lead had when it closed), creates :data:`CLASSES` through the ORM and links a
   third of the leads to one of them and a ninth to a second one (by SQL; both steps change nothing
   on a second run). ``crm_lead`` is vacuumed.
2. A worker runs each case of :data:`CASES` :data:`REPEAT` times through the web client's own
   entry points (``formatted_read_grouping_sets`` for a pivot, ``formatted_read_group`` for a
   graph, as the superuser: no record rule), the ORM cache emptied before each run, then Odoo's
   own ``crm.lead`` on the same grouping of the same leads (open, won and lost) with the measures
   of crm's own pipeline analysis (count, expected revenue, days to close).

Two lines per case: ``impl`` ``odoo_crm_lead`` (the baseline), then ``ours`` with the baseline's
seconds, ``ratio`` (baseline ÷ ours) and the issue's target (each report query under 2 s: ``met``).
``seconds`` is the median of the runs, ``first_seconds`` the first one, ``groups`` the groups returned.
"""

import logging
import statistics
import time
from datetime import timedelta

from bench import scratchdb
from bench.scratchdb import emit

_logger = logging.getLogger(__name__)

TARGET_SECONDS = 2.0
REPEAT = 3
CLASSES = ["Bench class A", "Bench class B", "Bench class C", "Bench class D", "Bench class E", "Bench class F"]
# the pivot's measures on load; the median (a sort of every lead) when asked for
TIER_MEASURES = ["lead_count:sum", "open_count:sum", "won_count:sum", "lost_count:sum", "conversion_rate:avg",
                 "days_to_win:avg", "won_revenue:sum", "deal_size:avg"]
CLASSIFICATION_MEASURES = ["lead_count:sum", "won:sum", "lost:sum", "closed:sum", "conversion_rate:avg", "score:avg"]
ODOO_MEASURES = ["__count", "expected_revenue:sum", "day_close:avg"]  # crm's own pipeline analysis
LEADS = ["|", ("active", "=", True), ("won_status", "=", "lost")]  # open, won and lost: the tier report's leads
DIMENSION_FIELDS = ["industry_id", "company_size", "job_level", "source_type", "sales_stage_class", "intent_level",
                    "lifecycle_stage", "class_ids"]
# case -> (view, our model, our domain, our grouping sets, our measures, crm.lead's domain and grouping sets);
# a graph has one grouping; "closed_90_days" in a domain stands for the date 90 days ago
CASES = {
    "tier_pivot": ("pivot", "crm.lead.tier.report", [], [["tier_id"], []], TIER_MEASURES, [], [["tier_id"], []]),
    "tier_median": ("pivot", "crm.lead.tier.report", [], [["tier_id"], []], [*TIER_MEASURES, "median_days_to_win:avg"],
                    [], [["tier_id"], []]),
    "tier_graph": ("graph", "crm.lead.tier.report", [], [["tier_id"]], ["conversion_rate:avg"], [], [["tier_id"]]),
    "tier_trend": ("graph", "crm.lead.tier.report", [], [["create_date:month", "tier_id"]], ["conversion_rate:avg"],
                   [], [["create_date:month", "tier_id"]]),
    "tier_by_salesperson": ("pivot", "crm.lead.tier.report", [], [["user_id", "tier_id"], ["user_id"], []],
                            TIER_MEASURES, [], [["user_id", "tier_id"], ["user_id"], []]),
    "tier_by_job_level": ("pivot", "crm.lead.tier.report", [], [["job_level", "tier_id"], ["job_level"], []],
                          TIER_MEASURES, [], [["job_level", "tier_id"], ["job_level"], []]),
    "tier_by_class": ("pivot", "crm.lead.tier.report", [], [["class_ids"], []], TIER_MEASURES, [],
                      [["class_ids"], []]),
    "tier_closed_90_days": ("pivot", "crm.lead.tier.report", [("date_closed", ">=", "closed_90_days")],
                            [["tier_id"], []], TIER_MEASURES, [("date_closed", ">=", "closed_90_days")],
                            [["tier_id"], []]),
    "classification_pivot": ("pivot", "crm.lead.classification.report", [],
                             [["dimension", "value"], ["dimension"], []], CLASSIFICATION_MEASURES, [],
                             [[name] for name in DIMENSION_FIELDS] + [[]]),
}


def run(args):
    scratchdb.run_scenario(args, lambda db: Measurements(db, args))


class Measurements:
    def __init__(self, db, args):
        self.db = db
        self.rules = args.rules
        self.common = {"scenario": "report", "leads": args.leads}

    def run(self):
        setup = scratchdb.run_worker("report_setup", self.db, self.rules)
        _logger.info("report set-up: %s", setup)
        scratchdb.vacuum(self.db)
        measures = scratchdb.run_worker("report_queries", self.db, self.rules)
        for case, (view, model, *_rest) in CASES.items():
            ours, odoo = measures[case]["ours"], measures[case]["odoo"]
            emit({**self.common, "case": case, "impl": "odoo_crm_lead", "view": view, **odoo})
            ratio = odoo["seconds"] / ours["seconds"]
            emit({**self.common, "case": case, "impl": "ours", "view": view, "model": model, **ours,
                  "baseline": "odoo_crm_lead", "baseline_seconds": odoo["seconds"], "ratio": round(ratio, 2),
                  "target_seconds": TARGET_SECONDS, "met": ours["seconds"] < TARGET_SECONDS})


def prepare(env):
    """Give every lead a tier and a third of them classes (see the module's docstring); return the counts."""
    cr = env.cr
    tiers = env["crm.lead.tier"].search([], order="min_score desc").ids
    cr.execute("UPDATE crm_lead SET tier_id = (%s::int[])[1 + id %% %s] WHERE tier_id IS NULL", [tiers, len(tiers)])
    tiered = cr.rowcount
    Class = env["crm.lead.class"]
    existing = Class.search([("name", "in", CLASSES)])
    Class.create([{"name": name} for name in CLASSES if name not in existing.mapped("name")])
    class_ids = Class.search([("name", "in", CLASSES)], order="name").ids
    cr.execute(
        """INSERT INTO crm_lead_class_rel (lead_id, class_id)
           SELECT id, (%(classes)s::int[])[1 + id %% %(count)s] FROM crm_lead WHERE id %% 3 = 0
            UNION ALL
           SELECT id, (%(classes)s::int[])[1 + (id / 9 + 1) %% %(count)s] FROM crm_lead WHERE id %% 9 = 0
           ON CONFLICT DO NOTHING""", {"classes": class_ids, "count": len(class_ids)})
    return {"tiered": tiered, "class_links_added": cr.rowcount}


def prepare_and_commit(env):
    """:func:`prepare`, committed."""
    counts = prepare(env)
    env.cr.commit()
    return counts


def measure_queries(env):
    """Time every case of :data:`CASES`, ours and Odoo's; return ``{case: {"ours": …, "odoo": …}}``."""
    closed_since = env.cr.now().replace(microsecond=0) - timedelta(days=90)
    results = {}
    def dated(domain):
        return [(name, op, closed_since if value == "closed_90_days" else value) for name, op, value in domain]

    for case, (view, model, domain, grouping_sets, measures, odoo_domain, odoo_sets) in CASES.items():
        results[case] = {
            "ours": _timed(view, env[model], dated(domain), grouping_sets, measures),
            "odoo": _timed(view, env["crm.lead"].with_context(active_test=False), LEADS + dated(odoo_domain),
                           odoo_sets, ODOO_MEASURES),
        }
        _logger.info("%s: ours %.3f s, Odoo's crm.lead %.3f s", case, results[case]["ours"]["seconds"],
                     results[case]["odoo"]["seconds"])
    return results


def _read(view, model, domain, grouping_sets, measures):
    """What the view asks for on load; return the number of groups."""
    if view == "graph":
        return len(model.formatted_read_group(domain, grouping_sets[0], measures))
    return sum(len(groups) for groups in model.formatted_read_grouping_sets(domain, grouping_sets, measures))


def _timed(view, model, domain, grouping_sets, measures):
    """Run :func:`_read` :data:`REPEAT` times from an empty cache; return its times and groups."""
    runs, groups = [], 0
    for _run in range(REPEAT):
        model.env.invalidate_all()
        started = time.perf_counter()
        groups = _read(view, model, domain, grouping_sets, measures)
        runs.append(time.perf_counter() - started)
    return {"seconds": round(statistics.median(runs), 3), "first_seconds": round(runs[0], 3), "groups": groups}

