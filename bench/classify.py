"""Scenario ``classify``: the nightly full pass with 50 classification rules, against the same pass fit-only.

Every full pass classifies the leads before it scores them
(``crm.lead._score_query`` calls ``_classify_query``: every active
classification rule matched in one query per chunk, the first match per
dimension taken in numpy, the leads that changed written back with their
history and chatter). On the scratch database:

1. A database built with another version of the addon is upgraded
   (``odoo-bin -u lead_intelligence``). A worker archives the rules the addon
   ships and creates :data:`RULES` through the ORM (50 rules over every
   dimension, and the classes the class rules give). Every lead's
   classification, its history and its chatter notes are cleared by SQL.
2. ``fit_only``: every classification rule is archived (by SQL, like every
   lever here), the fit rule every lead matches is given its first points
   (``bench.fit_rules.BASE_POINTS``), an untimed full pass settles the scores,
   and the full pass is timed where nothing changes. ``fit_only_edited``: the
   same after the job position of 5 % of the open leads moved (see 5.),
   flagged dirty: the pass writes those leads back (their dirty flag) even
   though no score moves. ``all_change``: that rule's points move and the full
   pass is timed while it rewrites every open lead's score, as the
   foundation's ``rescore`` scenario does.
3. ``first_classification``: the 50 rules are activated and the pass a
   configuration change starts (every rule matched on every open lead) is
   timed while it classifies every open lead from empty: the worst case. What
   it wrote is copied aside (``bench.classify_floor.snapshot_writes``).
4. ``rematch_unchanged``: the same configuration pass again (as editing a rule
   starts it): every rule matched on every open lead, and nothing to write.
5. ``with_classification``: the job position of 5 % of the open leads moves
   between a manager's and a staff title (titles no fit rule reads, so that
   only their classification changes), the leads flagged dirty as a write
   flags them, and the nightly pass is timed again. It matches the rules on
   fields only a write changes (job position, company name, revenue) on the
   dirty leads only, the others (scores, paths such as ``stage_id.sequence``)
   on every lead.
6. ``first_classification_writes`` (``impl`` ``sql_floor``): the classification
   cleared again, the very rows the first classification wrote are written
   back by plain SQL with no Odoo and no rule (``bench.classify_floor``): the
   floor of what the issue asks that pass to store.

Whatever happens, the scenario ends by leaving the classification rules as it
found them (the rules active at its start active again, the bench's archived)
and the pass a rule change starts waiting: the next scenario measures the
database's own configuration, not this one's.

The issue's target, at most 2x the fit-only full rescore (``ratio`` = baseline
seconds / ours, at least 0.5: ``TARGETS``), is checked for each kind of pass
against the fit-only pass that writes alike: ``with_classification`` against
``fit_only_edited`` (the same edits), ``rematch_unchanged`` against
``fit_only`` (nothing written either way), ``first_classification`` against
``all_change`` (every open lead written either way), and the floor of the
first classification's writes against ``all_change`` too. The first
classification is also set against its floor.
"""

import logging
import time

from psycopg2 import sql

from bench import classify_floor, scratchdb
from bench.event_tasks import PassClock, PhaseClock, timed_with_clock
from bench.fit_rules import BASE_POINTS
from bench.rescore import count_changed, count_open, set_base_points, snapshot
from bench.scratchdb import OPEN_LEADS, emit

_logger = logging.getLogger(__name__)

TARGET_RATIO = 0.5  # with classification at most 2x the fit-only pass
# (case, baseline case) -> minimum ratio (baseline seconds / ours): the issue's "at most 2x the fit-only full
# rescore", for each kind of classification pass against the fit-only pass that writes alike
TARGETS = {
    ("with_classification", "fit_only_edited"): TARGET_RATIO,  # the nightly pass, the same edits
    ("rematch_unchanged", "fit_only"): TARGET_RATIO,  # every rule on every lead; nothing to write either way
    ("first_classification", "all_change"): TARGET_RATIO,  # every open lead written either way
    ("first_classification_writes", "all_change"): TARGET_RATIO,  # the floor of those writes, no Odoo
}
RSS_TARGET_MB = 500
FLIP_SHARE = 0.05  # share of the open leads whose job position moves before `with_classification`
# job positions no fit rule of bench.fit_rules reads: moving between them changes no score
MANAGER_TITLE, STAFF_TITLE = "Project Manager", "Analyst"
NEUTRAL_TITLES = [
    "Project Manager", "Analyst", "Consultant", "Office Manager", "Head of Operations", "Sales Director",
    "Marketing Manager", "Engineer", "CFO", "COO", "财务总监", "销售经理", "市场经理", "项目经理", "工程师", "行政助理",
]
SELECTION_COLUMNS = ["company_size", "job_level", "source_type", "sales_stage_class", "intent_level",
                     "lifecycle_stage"]
CLASSIFIED_COLUMNS = ["industry_id", *SELECTION_COLUMNS]
# the crm.lead fields whose tracking the classifier posts in the chatter
TRACKED_FIELDS = [*CLASSIFIED_COLUMNS, "class_ids"]
# rules the addon ships have an xmlid; the bench's have none
ACTIVATE_BENCH_RULES = (
    "UPDATE crm_lead_classification_rule SET active = TRUE "
    "WHERE id NOT IN (SELECT res_id FROM ir_model_data WHERE model = 'crm.lead.classification.rule')")

# (parent, child) classes the class rules give
CLASSES = [
    ("Region", "Greater China"), ("Region", "Europe"), ("Region", "Americas"),
    ("Account", "Key account"), ("Account", "Small deal"),
    ("Interest", "Software"), ("Interest", "Hardware"), ("Interest", "Services"),
]


def _any(field, operator, values):
    """An OR domain of ``(field, operator, value)`` over ``values``, as a string."""
    leaves = [repr((field, operator, value)) for value in values]
    return "[" + ", ".join(["'|'"] * (len(leaves) - 1) + leaves) + "]"


# (name, dimension, value, domain): value is a selection key, an industry xmlid or a "Parent / Child" class;
# within a dimension, the order of the list is the rules' sequence
RULES = [
    # job level, from the job position, in English and Chinese
    ("Decision maker (EN)", "job_level", "decision_maker",
     _any("function", "ilike", ["chief executive", "CEO", "founder", "owner", "president", "CFO", "COO",
                                "general manager", "managing director"])),
    ("Decision maker (ZH)", "job_level", "decision_maker",
     _any("function", "ilike", ["总经理", "董事长", "总裁", "创始人"])),
    ("Technical lead (EN)", "job_level", "technical",
     _any("function", "ilike", ["CTO", "chief technology", "engineer", "technical", "IT manager"])),
    ("Technical lead (ZH)", "job_level", "technical", _any("function", "ilike", ["技术", "工程师", "IT主管"])),
    ("Procurement (EN)", "job_level", "procurement", _any("function", "ilike", ["procurement", "purchas", "buyer"])),
    ("Procurement (ZH)", "job_level", "procurement", _any("function", "ilike", ["采购"])),
    ("Manager (EN)", "job_level", "manager", _any("function", "ilike", ["manager", "director", "head of"])),
    ("Manager (ZH)", "job_level", "manager", _any("function", "ilike", ["经理", "总监", "主管"])),
    ("Staff: any other job position", "job_level", "staff", "[('function', '!=', False)]"),
    # source type, from the UTM source and medium
    ("Referral or partner", "source_type", "internal", _any("source_id.name", "ilike", ["referral", "partner"])),
    ("Website or direct", "source_type", "self_initiated", "[('medium_id.name', 'in', ['Website', 'Direct'])]"),
    ("Organic search", "source_type", "self_initiated", "[('source_id.name', '=', 'Search engine')]"),
    ("Paid and social", "source_type", "external",
     "[('source_id.name', 'in', ['Facebook', 'X', 'LinkedIn', 'Google Ads', 'Banner'])]"),
    ("Campaigns and events", "source_type", "external",
     "[('source_id.name', 'in', ['Newsletter', 'Trade show', 'Webinar', 'Cold call'])]"),
    ("Any other source or medium", "source_type", "external",
     "['|', ('source_id', '!=', False), ('medium_id', '!=', False)]"),
    # sales-stage class, from the stage and the probability
    ("Proposition and beyond", "sales_stage_class", "negotiation",
     "[('stage_id.sequence', '>=', 3), ('stage_id.is_won', '=', False)]"),
    ("Likely to close", "sales_stage_class", "negotiation", "[('probability', '>=', 60)]"),
    ("Qualified", "sales_stage_class", "intent", "[('stage_id.sequence', '=', 2)]"),
    ("Opportunity", "sales_stage_class", "intent", "[('type', '=', 'opportunity'), ('probability', '>=', 30)]"),
    ("New leads and opportunities", "sales_stage_class", "potential", "[('stage_id.is_won', '=', False)]"),
    # intent level, from buying signals, engagement and priority
    ("Buying signal", "intent_level", "high", "[('buying_signal_count', '>', 0)]"),
    ("Highly engaged", "intent_level", "high", "[('engagement_score', '>=', 60)]"),
    ("Engaged", "intent_level", "medium", "[('engagement_score', '>=', 25)]"),
    ("High priority", "intent_level", "medium", "[('priority', 'in', ['2', '3'])]"),
    ("Some engagement", "intent_level", "low", "[('engagement_score', '>', 0)]"),
    ("No intent yet", "intent_level", "low", "[]"),
    # lifecycle, from the score and the type
    ("Hot: high score and a buying signal", "lifecycle_stage", "hot",
     "[('score', '>=', 75), ('buying_signal_count', '>', 0)]"),
    ("Hot: very high score", "lifecycle_stage", "hot", "[('score', '>=', 85)]"),
    ("SQL: an opportunity", "lifecycle_stage", "sql", "[('type', '=', 'opportunity')]"),
    ("MQL: a score of 40 or more", "lifecycle_stage", "mql", "[('score', '>=', 40)]"),
    ("MQL: high priority", "lifecycle_stage", "mql", "[('priority', 'in', ['2', '3'])]"),
    ("Cold: the others", "lifecycle_stage", "cold", "[]"),
    # company size, from the expected revenue (headcount and turnover are empty in the generated leads)
    ("Large deal, large company", "company_size", "large", "[('expected_revenue', '>=', 500000)]"),
    ("Mid-size deal", "company_size", "medium", "[('expected_revenue', '>=', 50000)]"),
    # industry, from the company name, in English and Chinese
    ("IT companies", "industry", "base.res_partner_industry_J",
     _any("partner_name", "ilike", ["Software", "Systems", "Networks", "Labs", "科技", "信息技术", "电子"])),
    ("Manufacturers", "industry", "base.res_partner_industry_C",
     _any("partner_name", "ilike", ["Manufacturing", "Motors", "Textiles", "Robotics", "Packaging", "制造",
                                    "汽车配件", "新材料"])),
    ("Trade and retail", "industry", "base.res_partner_industry_G", _any("partner_name", "ilike", ["Retail", "贸易"])),
    ("Logistics", "industry", "base.res_partner_industry_H", _any("partner_name", "ilike", ["Logistics", "物流"])),
    ("Health", "industry", "base.res_partner_industry_Q",
     _any("partner_name", "ilike", ["Health", "Pharma", "医疗器械"])),
    ("Food", "industry", "base.res_partner_industry_I", _any("partner_name", "ilike", ["Foods", "食品"])),
    ("Consulting", "industry", "base.res_partner_industry_M", _any("partner_name", "ilike", ["Consulting"])),
    ("Energy", "industry", "base.res_partner_industry_D", _any("partner_name", "ilike", ["Energy"])),
    # classes, from the country, the expected revenue and the tags
    ("Greater China", "class", "Region / Greater China", "[('country_id.code', 'in', ['CN', 'HK', 'TW', 'SG'])]"),
    ("Europe", "class", "Region / Europe", "[('country_id.code', 'in', ['DE', 'FR', 'GB', 'NL', 'IT', 'ES'])]"),
    ("Americas", "class", "Region / Americas", "[('country_id.code', 'in', ['US', 'CA', 'BR', 'MX'])]"),
    ("Key account", "class", "Account / Key account", "[('expected_revenue', '>=', 200000)]"),
    ("Small deal", "class", "Account / Small deal", "[('expected_revenue', '>', 0), ('expected_revenue', '<', 5000)]"),
    ("Software interest", "class", "Interest / Software", "[('tag_ids.name', '=', 'Software')]"),
    ("Hardware interest", "class", "Interest / Hardware", "[('tag_ids.name', '=', 'Hardware')]"),
    ("Services interest", "class", "Interest / Services",
     "[('tag_ids.name', 'in', ['Services', 'Consulting', 'Training'])]"),
]


def run(args):
    scratchdb.run_scenario(args, lambda db: Measurements(db, args))


class Measurements:
    def __init__(self, db, args):
        self.db = db
        self.fit_rules = args.rules
        self.open = count_open(db)
        self.common = {"scenario": "classify", "leads": args.leads, "open": self.open, "rules": len(RULES),
                       "fit_rules": args.rules}
        self.started = {}  # case -> when its pass started (database time)

    def run(self):
        shipped = active_rule_ids(self.db)
        _logger.info("the database's active classification rules, restored at the end: %s", shipped)
        try:
            self.measure_all()
        finally:
            restore_rules(self.db, shipped)

    def measure_all(self):
        created = scratchdb.run_worker("classification_rules", self.db, self.fit_rules)
        _logger.info("created %d classification rules through the ORM in %.1f s", len(RULES), created["seconds"])
        reset_classification(self.db)

        set_rules_active(self.db, False)
        set_base_points(self.db, BASE_POINTS[0])
        self.untimed_pass("fit-only")
        fit_only = emit(self.measure("fit_only", 0))
        flipped = flip_functions(self.db, round(FLIP_SHARE * self.open))
        fit_only_edited = emit(self.measure("fit_only_edited", 0, flipped_functions=flipped))
        set_base_points(self.db, BASE_POINTS[1])  # every open lead's score moves
        all_change = emit(self.measure("all_change", 0))

        active = set_rules_active(self.db, True)
        start_config_pass(self.db)  # as activating rules through the ORM does
        first = emit(self.measure("first_classification", active))
        written = classify_floor.snapshot_writes(self.db, self.started["first_classification"], TRACKED_FIELDS)
        _logger.info("what the first classification wrote: %s", written)
        start_config_pass(self.db)  # as editing a rule does: every rule matched again on every lead
        rematch = emit(self.measure("rematch_unchanged", active))
        flipped = flip_functions(self.db, round(FLIP_SHARE * self.open))
        with_classification = emit(self.measure("with_classification", active, flipped_functions=flipped))

        reset_classification(self.db)
        try:
            floor = emit(self.measure_floor(written))
        finally:
            classify_floor.drop_snapshot(self.db)

        for line, baseline in ((with_classification, fit_only_edited), (with_classification, fit_only),
                               (rematch, fit_only), (first, all_change), (first, floor), (floor, all_change)):
            emit(compare(line, baseline))

    def measure_floor(self, written):
        """Time the plain-SQL replay of the first classification's writes (``bench.classify_floor``)."""
        for table in ("crm_lead", "crm_lead_class_rel", "crm_lead_classification_history", "mail_message",
                      "mail_tracking_value"):
            scratchdb.vacuum(self.db, table)
        started = scratchdb.scalar(self.db, "SELECT now() AT TIME ZONE 'UTC'")
        measure = scratchdb.run_worker("classify_floor", self.db, self.fit_rules)
        cells, leads = count_classified(self.db, started)
        seconds = measure["seconds"]
        return {
            **self.common, "case": "first_classification_writes", "impl": "sql_floor",
            "seconds": round(seconds, 3), "per_s": round(self.open / seconds),
            "classified_leads": leads, "classified_values": cells,
            "leads_updated": written["bench_classify_leads"],
            "tracking_values": written["bench_classify_tracking"],
            "class_links": written["bench_classify_classes"],
            "peak_rss_mb": round(measure["peak_rss_mb"], 1), "base_rss_mb": round(measure["base_rss_mb"], 1),
            "phases": measure["phases"],
        }

    def untimed_pass(self, what):
        first = scratchdb.run_worker("rescore_all", self.db, self.fit_rules)
        _logger.info("untimed full pass %s: %.1f s", what, first["seconds"])

    def measure(self, case, active_rules, **counts):
        for table in ("crm_lead", "crm_lead_score", "crm_lead_class_rel", "crm_lead_classification_history"):
            scratchdb.vacuum(self.db, table)
        snapshot(self.db)
        started = self.started[case] = scratchdb.scalar(self.db, "SELECT now() AT TIME ZONE 'UTC'")
        measure = scratchdb.run_worker("classify_phases", self.db, self.fit_rules)
        score_changed = count_changed(self.db)
        cells, leads = count_classified(self.db, started)
        seconds = measure["seconds"]
        return {
            **self.common, "case": case, "impl": "ours", "active_rules": active_rules, **counts,
            "seconds": round(seconds, 3), "per_s": round(self.open / seconds),
            "classified_leads": leads, "classified_values": cells, "score_changed": score_changed,
            "peak_rss_mb": round(measure["peak_rss_mb"], 1), "base_rss_mb": round(measure["base_rss_mb"], 1),
            "rss_ok": measure["peak_rss_mb"] < RSS_TARGET_MB, "phases": measure["phases"],
        }


def compare(line, baseline):
    """``line`` with its baseline's case and seconds, the ratio and the issue's target where there is one."""
    ratio = baseline["seconds"] / line["seconds"]
    target = TARGETS.get((line["case"], baseline["case"]))
    return {**line, "baseline": baseline["case"], "baseline_impl": baseline["impl"],
            "baseline_seconds": baseline["seconds"], "ratio": round(ratio, 2), "target_ratio": target,
            "met": None if target is None else ratio >= target}


# ------------------------------------------------------------
# the database (orchestrator side, plain SQL)
# ------------------------------------------------------------

def reset_classification(db):
    """Clear every lead's classification, the classification history and its chatter notes."""
    is_set = sql.SQL(" OR ").join(sql.SQL("{} IS NOT NULL").format(sql.Identifier(c)) for c in CLASSIFIED_COLUMNS)
    clear = sql.SQL(", ").join(sql.SQL("{} = NULL").format(sql.Identifier(c)) for c in CLASSIFIED_COLUMNS)
    with scratchdb.cursor(db) as cr:
        cr.execute(sql.SQL("UPDATE crm_lead SET {} WHERE {}").format(clear, is_set))
        cleared = cr.rowcount
        cr.execute("DELETE FROM crm_lead_class_rel")
        cr.execute("TRUNCATE crm_lead_classification_history")
        cr.execute("""DELETE FROM mail_message WHERE id IN (
                          SELECT v.mail_message_id FROM mail_tracking_value v
                            JOIN ir_model_fields f ON f.id = v.field_id
                           WHERE f.model = 'crm.lead' AND f.name = ANY(%s))""", [TRACKED_FIELDS])
        notes = cr.rowcount
    for table in ("mail_message", "mail_tracking_value"):
        scratchdb.vacuum(db, table)
    _logger.info("classification cleared on %d leads, %d chatter notes deleted", cleared, notes)


def set_rules_active(db, active):
    """Archive every classification rule, or activate the bench's; return how many are active."""
    with scratchdb.cursor(db) as cr:
        if active:
            cr.execute(ACTIVATE_BENCH_RULES)
        else:
            cr.execute("UPDATE crm_lead_classification_rule SET active = FALSE")
        cr.execute("SELECT count(*) FROM crm_lead_classification_rule WHERE active")
        return cr.fetchone()[0]


def active_rule_ids(db):
    """The ids of the active classification rules, in id order."""
    with scratchdb.cursor(db) as cr:
        cr.execute("SELECT id FROM crm_lead_classification_rule WHERE active ORDER BY id")
        return [rule_id for (rule_id,) in cr.fetchall()]


def restore_rules(db, rule_ids):
    """Leave the classification rules as the scenario found them: ``rule_ids`` active (those the
    scenario deleted are gone), the others archived, and the pass a rule change starts waiting,
    so that the next full pass classifies every lead under them (the bench's leads keep the
    bench rules' values until then)."""
    with scratchdb.cursor(db) as cr:
        cr.execute("UPDATE crm_lead_classification_rule SET active = (id = ANY(%s)) "
                   "WHERE active IS DISTINCT FROM (id = ANY(%s))", [rule_ids, rule_ids])
        cr.execute("SELECT count(*) FROM crm_lead_classification_rule WHERE active")
        active = cr.fetchone()[0]
    start_config_pass(db)
    _logger.info("classification rules restored: %d active", active)


def start_config_pass(db):
    """Start the full pass a configuration change starts (``crm.lead._trigger_full_rescore``):
    it matches every rule on every open lead."""
    with scratchdb.cursor(db) as cr:
        cr.execute("UPDATE crm_lead_score_run SET state = 'cancel' WHERE state = 'running'")
        cr.execute("""INSERT INTO crm_lead_score_run (state, cause, date_start, last_lead_id, leads_done, leads_changed,
                                                      create_date, write_date)
                      VALUES ('running', 'config', now() AT TIME ZONE 'UTC', 0, 0, 0,
                              now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')""")


def flip_functions(db, count):
    """Move ``count`` open leads with a title no fit rule reads between a manager's and a staff title,
    flagging them dirty as ``crm.lead.write`` does."""
    query = sql.SQL(
        """UPDATE crm_lead SET function = CASE WHEN function = ANY(%(managers)s) THEN %(staff)s ELSE %(manager)s END
            WHERE id IN (SELECT id FROM crm_lead WHERE {open} AND function = ANY(%(titles)s)
                          ORDER BY md5(id::text) LIMIT %(count)s)
            RETURNING id""").format(open=OPEN_LEADS)
    managers = [title for title in NEUTRAL_TITLES if "Manager" in title or "Director" in title or "Head" in title
                or "经理" in title]
    with scratchdb.cursor(db) as cr:
        cr.execute(query, {"managers": managers, "staff": STAFF_TITLE, "manager": MANAGER_TITLE,
                           "titles": NEUTRAL_TITLES, "count": count})
        ids = [row[0] for row in cr.fetchall()]
        cr.execute(scratchdb.FLAG_DIRTY, [ids])
        flipped = len(ids)
    _logger.info("moved the job position of %d open leads", flipped)
    return flipped


def count_classified(db, since):
    """(values, leads) the classifier changed since ``since``: its history rows and their leads."""
    with scratchdb.cursor(db) as cr:
        cr.execute("SELECT count(*), count(DISTINCT lead_id) FROM crm_lead_classification_history "
                   "WHERE date >= %s AND cause = 'rule'", [since])
        return cr.fetchone()


# ------------------------------------------------------------
# the worker's side (in Odoo)
# ------------------------------------------------------------

def create_classification_rules(env):
    """Archive the shipped rules, replace the bench's by :data:`RULES`, creating their classes."""
    Rule = env["crm.lead.classification.rule"].with_context(active_test=False)
    rules = Rule.search([])
    shipped = rules.filtered(lambda rule: rule.get_external_id().get(rule.id))
    (rules - shipped).unlink()
    shipped.action_archive()
    classes = {}
    Class = env["crm.lead.class"].with_context(active_test=False)
    for parent_name, name in CLASSES:
        parent = Class.search([("name", "=", parent_name), ("parent_id", "=", False)], limit=1) \
            or Class.create({"name": parent_name})
        child = Class.search([("name", "=", name), ("parent_id", "=", parent.id)], limit=1) \
            or Class.create({"name": name, "parent_id": parent.id})
        classes[f"{parent_name} / {name}"] = child.id
    vals_list = []
    for sequence, (name, dimension, value, domain) in enumerate(RULES, start=1):
        vals = {"name": name, "dimension": dimension, "domain": domain, "match_all": domain == "[]",
                "sequence": sequence * 10}
        if dimension == "industry":
            vals["industry_id"] = env.ref(value).id
        elif dimension == "class":
            vals["class_id"] = classes[value]
        else:
            vals["value"] = f"{dimension}:{value}"
        vals_list.append(vals)
    Rule.create(vals_list)


class ClassifyPassClock(PassClock):
    """:class:`PassClock` with the classification apart, split into:

    * ``classify_read``: ``_classify_query`` but the next ones: reading the chunk's leads with every
      classification rule matched, the first match per dimension (numpy), the rules' last match date;
    * ``classify_write``: ``writes.crm_lead.set_classification``: the UPDATE of the leads whose values changed;
    * ``classify_classes``: ``_classify_classes``: reading, replacing the leads' classes;
    * ``classify_tracking``: ``_log_classification_tracking``: the chatter notes of the changes;
    * ``classify_history``: ``_log_classification_history``: a history row per changed value.
    """

    PHASES = (("_classify_query", "classify"), ("set_classification", "classify_write"),
              ("_classify_classes", "classify_classes"), ("_log_classification_tracking", "classify_tracking"),
              ("_log_classification_history", "classify_history"))

    def __init__(self, env):
        super().__init__(env)
        self.seconds.update(dict.fromkeys(phase for _name, phase in self.PHASES))
        self.seconds.update(dict.fromkeys(self.seconds, 0.0))

    def install(self):
        installed = super().install()
        lead = self.env["crm.lead"]
        for name, phase in self.PHASES:
            record = lambda seconds, phase=phase: self._add(phase, seconds)  # noqa: E731
            if name == "set_classification":  # a function of the writes of crm_lead, not a method of the lead
                self._wrap_function(name, record)
            else:
                PhaseClock._wrap(lead, name, record)
        return installed

    @staticmethod
    def _wrap_function(name, record):
        """Replace the function ``name`` of the writes of ``crm_lead`` by a timed call of the original."""
        from odoo.addons.lead_intelligence.models.writes import crm_lead  # the addon is loaded by then

        original = getattr(crm_lead, name)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                record(time.perf_counter() - started)
        setattr(crm_lead, name, timed)

    def report(self, total):
        seconds = dict(self.seconds)
        inner = sum(seconds[phase] for _name, phase in self.PHASES[1:])
        seconds["classify_read"] = seconds.pop("classify") - inner
        self.seconds = seconds
        return super().report(total)


def full_pass(env):
    """Time the nightly full pass with the classification phases apart."""
    return timed_with_clock(env, ClassifyPassClock(env), lambda: env["crm.lead"]._cron_rescore_all_leads())
