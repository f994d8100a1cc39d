"""Scenario ``route``: routing N new leads among 50 salespeople, against Odoo's ``_action_assign_leads``.

The scratch database (``li_bench_route_<N>``, its own: every lead in it is made
new) holds ``lead_intelligence`` without demo data and N generated leads
(``bench.leadgen``), turned into what a routing run meets: open, unassigned (no
team, no salesperson), created in the last three days, with a unique email (so
that Odoo's assignment finds no duplicate to merge), an industry, a headcount
(which the scoring pass turns into a company size) and a language that follows
the country. The scoring pass (``_cron_rescore_all_leads``, fit only) scores
them; the tiers' minimum scores are then cut at quantiles of those scores (A 10
%, B 30 %, C 35 %, D 25 %) and a second pass gives every lead its tier.

A worker then creates, through the ORM, :data:`SALESPEOPLE` users in the sales
group, in the five teams of :data:`TEAMS`, each a ``crm.team.member`` with skills
drawn from a seeded generator (industries, countries of its team's region,
languages of those countries, company sizes), a capacity per tier of its team
sized from the leads the team will get (a quarter of the members get less than
their share, so that capacity binds for them; the team's total is at least
1.3x its leads), three members paused and two out of office; one routing rule
per tier and region (A: key accounts, B: by region, C: inside sales by round
robin) and the tiers' follow-up (SLA, activity type; D nurtured).

Each run starts from the same state (by SQL): every lead new, unassigned, to
route; no activity, no chatter message, no follower, no routing history. Then:

1. ``ours``: ``crm.lead._cron_route_leads()`` in a worker process, timed with its
   phases (the assignment written to the leads, the follow-up: activities and
   chatter), peak RSS; then checks by SQL: leads routed, nurtured, unroutable,
   members over a capacity, leads given to an unavailable member.
2. ``odoo``: ``--odoo-leads`` (default 1,000; 0 skips this) of the leads ours
   gave a salesperson, spread over them, are made unassigned again and taken out
   of routing (an empty routing state: the addon leaves the leads routing
   handles out of Odoo's assignment), the others keep their salesperson (Odoo
   does not see them), and the five teams run
   ``crm.team._action_assign_leads(force_quota=True, creation_delta_days=0)``:
   team allocation (``_allocate_leads``) and member assignment
   (``_assign_and_convert_leads``) timed apart. Odoo is configured as an admin
   would mirror the rules: each team's assignment domain is its rule's tier and
   region, the paused and away members opt out, the others get a monthly
   capacity (``assignment_max``) whose daily quota leaves none of the team's
   leads unassigned.
3. Comparison lines: our seconds (whole run, and the assignment written alone)
   against the time Odoo's team allocation, member assignment and both would
   take, at the rate measured on the sample, for the leads ours gave a
   salesperson.
"""

import logging
import math
import time
from collections import Counter
from datetime import timedelta

import numpy as np

from bench import scratchdb
from bench.leadgen import COUNTRIES
from bench.scratchdb import emit

_logger = logging.getLogger(__name__)

DEFAULT_LEADS = 10_000
DEFAULT_ODOO_LEADS = 1_000
SEED = 7
RSS_TARGET_MB = 500
# the targets, for 10,000 leads among 50 salespeople: the assignment written to the leads, and all
TARGET_LEADS = 10_000
TARGET_ASSIGN_SECONDS = 10.0
TARGET_TOTAL_SECONDS = 60.0
# (tier, share of the leads): the tiers' minimum scores are cut at these quantiles of the scores
TIER_SHARES = (("A", 0.10), ("B", 0.30), ("C", 0.35), ("D", 0.25))
TIER_XMLIDS = {name: f"lead_intelligence.crm_lead_tier_{name.lower()}" for name, _share in TIER_SHARES}
REGIONS = {
    "EMEA": ("DE", "GB", "FR", "IT", "ES", "NL", "AE", "ZA"),
    "Americas": ("US", "CA", "BR", "MX"),
    "Asia Pacific": ("CN", "HK", "TW", "SG", "JP", "KR", "IN", "AU"),
}
# (team, members, tier, region or None for any country, routing method)
TEAMS = (
    ("Route: Key Accounts", 10, "A", None, "skill"),
    ("Route: EMEA", 10, "B", "EMEA", "skill"),
    ("Route: Americas", 9, "B", "Americas", "skill"),
    ("Route: Asia Pacific", 11, "B", "Asia Pacific", "skill"),
    ("Route: Inside Sales", 10, "C", None, "round_robin"),
)
TEAM_NAMES = [team[0] for team in TEAMS]
SALESPEOPLE = sum(team[1] for team in TEAMS)
NURTURED_TIER = "D"
# (tier, SLA to first contact in working hours, activity type xmlid): the activity is due by the deadline
FOLLOW_UPS = (("A", 1, "mail.mail_activity_data_call"), ("B", 8, "mail.mail_activity_data_call"),
              ("C", 24, "mail.mail_activity_data_email"))
NURTURE_TAG = "Nurture"
# a member routing must not use (see crm.team.member._is_routing_available), as SQL on ``m``
# what routing writes on a lead besides its owner and state: cleared before each run
ROUTING_COLUMNS = ("routing_rule_id", "routing_reason", "routed_date", "sla_deadline", "first_contact_date",
                   "sla_status", "escalation_level")
UNAVAILABLE = "(m.routing_paused OR m.assignment_optout OR m.out_of_office_until >= current_date)"
# capacity of a member for its team's tier, as a multiple of its share of the team's leads
CAPACITY_FACTORS = (0.6, 1.5, 2.0, 3.0)  # 0.6: capacity binds for this member
CAPACITY_WEIGHTS = (0.25, 0.35, 0.25, 0.15)
TEAM_CAPACITY_MARGIN = 1.3  # a team can take at least this many times its leads
PAUSED, OUT_OF_OFFICE = 3, 2  # members unavailable, at most one per team
OUT_OF_OFFICE_DAYS = 3
# languages of the leads by country (the generator gives Chinese to Chinese-speaking leads, English to others)
COUNTRY_LANGS = {"DE": "de_DE", "FR": "fr_FR", "ES": "es_ES", "MX": "es_ES", "BR": "pt_BR", "JP": "ja_JP",
                 "IT": "it_IT"}
EXTRA_LANGS = sorted(set(COUNTRY_LANGS.values()))
# (industry xmlid suffix, weight): industries of the leads and the salespeople's skills
INDUSTRIES = (("J", 20), ("C", 18), ("G", 12), ("K", 8), ("M", 10), ("Q", 8), ("H", 8), ("F", 6), ("D", 5),
              ("I", 5))
SIZES = ("small", "medium", "large")
EMPLOYEES_MEDIAN, EMPLOYEES_SIGMA, NO_HEADCOUNT = 120, 1.8, 0.1
NEW_LEADS_HOURS = 72  # new leads were created over the last three days
SALES_NAMES = ("Ava", "Ben", "Chloe", "Daniel", "Elena", "Felix", "Grace", "Hugo", "Iris", "Jonas", "Kenji",
               "Lea", "Marta", "Nikhil", "Oscar", "Paula", "Quentin", "Rosa", "Sven", "Tomoko", "Ugo", "Vera",
               "Wei", "Xin", "Yusuf")
SALES_SURNAMES = ("Adams", "Becker", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hansen", "Ito", "Jensen",
                  "Kowalski", "Li", "Moreau", "Novak", "Okafor", "Park", "Quinn", "Rossi", "Schmidt", "Tanaka")


def run(args):
    leads = args.leads
    db = args.db or f"li_bench_route_{leads}"
    created = ensure_database(db, leads, args.rules)
    try:
        with scratchdb.configuration_kept(db, "route"):
            Measurements(db, args).run()
    finally:
        if created and not args.keep:
            scratchdb.drop_database(db)


class Measurements:
    def __init__(self, db, args):
        self.db = db
        self.rules = args.rules
        self.odoo_leads = DEFAULT_ODOO_LEADS if args.odoo_leads is None else args.odoo_leads
        self.leads = count_leads(db)
        self.common = {"scenario": "route", "leads": self.leads, "salespeople": count_salespeople(db),
                       "teams": len(TEAMS)}

    def run(self):
        reset_routing(self.db)
        ours = emit(self.ours())
        routed = ours["checks"]["routed"]
        if not (self.odoo_leads and routed):
            _logger.info("Odoo's assignment skipped: %d leads routed, --odoo-leads %d", routed, self.odoo_leads)
            return
        sample = unassign_sample(self.db, min(self.odoo_leads, routed))
        baselines = [emit(line) for line in self.odoo(sample, routed)]
        for baseline in baselines:
            emit(compare(ours, baseline))

    def worker(self, task, params=None):
        return scratchdb.run_worker(task, self.db, self.rules, params)

    def ours(self):
        for table in ("crm_lead", "mail_activity", "mail_message"):
            scratchdb.vacuum(self.db, table)
        to_route = count_to_route(self.db)
        measure = self.worker("route_ours")
        seconds = measure["seconds"]
        phases = measure["phases"]
        checks = check_routing(self.db)
        assign_seconds = phases["assignment"]
        at_scale = to_route >= TARGET_LEADS  # the targets are for 10,000 leads: fixed costs weigh more below
        line = {
            **self.common, "case": "route", "impl": "ours", "to_route": to_route, "seconds": round(seconds, 3),
            "per_s": round(to_route / seconds), "routed_per_s": round(checks["routed"] / seconds),
            "assign_seconds": assign_seconds,
            "assign_per_s": round(to_route / assign_seconds), "followup_seconds": phases["followup"],
            "phases": phases, "checks": checks,
            "peak_rss_mb": round(measure["peak_rss_mb"], 1), "base_rss_mb": round(measure["base_rss_mb"], 1),
            "rss_ok": measure["peak_rss_mb"] < RSS_TARGET_MB, "target_leads": TARGET_LEADS,
            "target_assign_seconds": TARGET_ASSIGN_SECONDS, "target_seconds": TARGET_TOTAL_SECONDS,
        }
        line["met"] = {
            "assign": assign_seconds < TARGET_ASSIGN_SECONDS if at_scale else None,
            "total": seconds < TARGET_TOTAL_SECONDS if at_scale else None,
            "capacity": checks["over_capacity"] == 0,
            "availability": checks["unavailable_used"] == 0,
            "all_handled": checks["left_to_route"] == 0,
        }
        return line

    def odoo(self, sample, routed):
        """Odoo's lines: team allocation, member assignment, both; projected on the ``routed`` leads."""
        for table in ("crm_lead", "crm_team_member", "crm_team"):
            scratchdb.vacuum(self.db, table)
        measure = self.worker("route_odoo")
        lines = []
        for case, key, done in (("team_allocation", "allocate", "allocated"),
                                ("member_assignment", "assign", "assigned"), ("both", None, "assigned")):
            seconds = measure["seconds"] if key is None else measure["phases"][key]
            count = measure[done]
            per_s = count / seconds if seconds else None
            lines.append({
                **self.common, "case": case, "impl": "odoo", "sample": sample, "done": count,
                "seconds": round(seconds, 3), "per_s": per_s and round(per_s, 2),
                "projected_leads": routed, "projected_seconds": per_s and round(routed / per_s, 1),
                "peak_rss_mb": round(measure["peak_rss_mb"], 1), "base_rss_mb": round(measure["base_rss_mb"], 1),
                **({"checks": measure["checks"]} if key is None else {}),
            })
        return lines


def compare(ours, odoo):
    """Our time against the time Odoo would take for the leads we gave a salesperson, at its rate.

    The phases and checks are on our own line.
    """
    line = {key: value for key, value in ours.items() if key not in ("phases", "checks", "met")}
    projected = odoo["projected_seconds"]
    return {
        **line, "baseline": f"odoo_{odoo['case']}", "baseline_per_s": odoo["per_s"],
        "baseline_projected_seconds": projected,
        "ratio": projected and round(projected / ours["seconds"], 1),
        "assign_ratio": projected and round(projected / ours["assign_seconds"], 1),
    }


# ------------------------------------------------------------
# the database (orchestrator side, plain SQL)
# ------------------------------------------------------------

def ensure_database(db, leads, rules):
    """Make ``db`` a routing database of ``leads`` new leads; return True if it was created."""
    wanted = f"route leads={leads} rules={rules} salespeople={SALESPEOPLE} seed={SEED}"

    def only_route_data(marker):
        if not marker.startswith("route ") and marker != "incomplete":
            raise SystemExit(f"database {db} holds another scenario's data set ({marker}): the route scenario "
                             "makes every lead new, pick another --db")

    if scratchdb.reuse_database(db, wanted, only_route_data):
        _logger.info("compacting crm_lead of %s", db)
        scratchdb.vacuum(db, full=True)
        return False
    scratchdb.build_database(db, leads, rules, "incomplete")
    scratchdb.run_worker("route_languages", db, rules)
    make_leads_new(db)
    tiers = scratchdb.run_worker("route_tiers", db, rules)
    _logger.info("tiers cut at %s: %s", tiers["thresholds"], tiers["counts"])
    setup = scratchdb.run_worker("route_setup", db, rules)
    _logger.info("salespeople created: %s", setup)
    scratchdb.vacuum(db)
    scratchdb.set_marker(db, wanted)
    return True


def make_leads_new(db, seed=SEED):
    """Turn every generated lead into a new, unassigned lead with an industry, a headcount and a language."""
    rng = np.random.default_rng(seed)
    with scratchdb.cursor(db) as cr:
        cr.execute("SELECT l.id, c.code, g.code FROM crm_lead l JOIN res_country c ON c.id = l.country_id "
                   "LEFT JOIN res_lang g ON g.id = l.lang_id ORDER BY l.id")
        rows = cr.fetchall()
        ids = np.array([row[0] for row in rows])
        n = len(ids)
        cr.execute("SELECT code, id FROM res_lang WHERE active")
        lang_ids = dict(cr.fetchall())
        langs = [lang if lang == "zh_CN" else COUNTRY_LANGS.get(code, "en_US") for _id, code, lang in rows]
        cr.execute("SELECT name, res_id FROM ir_model_data WHERE module = 'base' AND model = 'res.partner.industry'")
        industry_ids = dict(cr.fetchall())
        weights = np.array([weight for _code, weight in INDUSTRIES], dtype=np.float64)
        industries = np.array([industry_ids[f"res_partner_industry_{code}"] for code, _w in INDUSTRIES])
        industry = industries[rng.choice(len(industries), n, p=weights / weights.sum())]
        employees = np.maximum(np.round(rng.lognormal(np.log(EMPLOYEES_MEDIAN), EMPLOYEES_SIGMA, n)), 1)
        employees = np.where(rng.random(n) < NO_HEADCOUNT, 0, employees).astype(np.int64)
        age_seconds = rng.integers(600, NEW_LEADS_HOURS * 3600, n)
        cr.execute("SELECT id FROM crm_stage WHERE is_won IS NOT TRUE ORDER BY sequence, id LIMIT 1")
        stage_id = cr.fetchone()[0]
        cr.execute(
            """UPDATE crm_lead l
                  SET active = TRUE, won_status = 'pending', type = 'lead', stage_id = %(stage)s,
                      probability = 10, automated_probability = 10,
                      prorated_revenue = round(l.expected_revenue * 0.1, 2),
                      team_id = NULL, user_id = NULL, date_open = NULL, day_open = NULL, date_closed = NULL,
                      day_close = NULL, date_conversion = NULL, lost_reason_id = NULL,
                      create_date = now() AT TIME ZONE 'UTC' - make_interval(secs => v.age),
                      write_date = now() AT TIME ZONE 'UTC' - make_interval(secs => v.age),
                      date_last_stage_update = now() AT TIME ZONE 'UTC' - make_interval(secs => v.age),
                      lang_id = v.lang, industry_id = v.industry, industry_manual = TRUE,
                      employee_count = NULLIF(v.employees, 0),
                      email_from = replace(l.email_from, '@', '.' || l.id || '@'),
                      email_normalized = replace(l.email_normalized, '@', '.' || l.id || '@'),
                      email_domain_criterion = CASE WHEN l.email_domain_criterion LIKE '@%%'
                          THEN l.email_domain_criterion
                          ELSE replace(l.email_domain_criterion, '@', '.' || l.id || '@') END
                 FROM unnest(%(ids)s::int[], %(age)s::int[], %(lang)s::int[], %(industry)s::int[],
                             %(employees)s::int[]) AS v(id, age, lang, industry, employees)
                WHERE l.id = v.id""",
            {"stage": stage_id, "ids": ids.tolist(), "age": age_seconds.tolist(),
             "lang": [lang_ids[lang] for lang in langs], "industry": industry.tolist(),
             "employees": employees.tolist()})
    _logger.info("%d leads made new and unassigned", n)


def reset_routing(db):
    """Every lead new, unassigned and to route; no activity, chatter, follower, nurture tag or routing
    history on the leads; the members as the set-up left them (Odoo's assignment settings cleared)."""
    clear = ", ".join(f"{column} = NULL" for column in ROUTING_COLUMNS)
    with scratchdb.cursor(db) as cr:
        # pylint: disable-next=sql-injection  # module constants only
        cr.execute(f"""UPDATE crm_lead SET user_id = NULL, team_id = NULL, date_open = NULL, day_open = NULL,
                                          type = 'lead', date_conversion = NULL, routing_state = 'to_route',
                                          {clear}""")
        reset = cr.rowcount
        cr.execute("DELETE FROM mail_activity WHERE res_model = 'crm.lead'")
        cr.execute("DELETE FROM mail_message WHERE model = 'crm.lead'")
        cr.execute("DELETE FROM mail_followers WHERE res_model = 'crm.lead'")
        cr.execute("TRUNCATE crm_lead_routing_history")
        cr.execute("DELETE FROM crm_tag_rel WHERE tag_id IN (SELECT id FROM crm_tag WHERE name->>'en_US' = %s)",
                   [NURTURE_TAG])
        cr.execute("DROP TABLE IF EXISTS bench_route_sample")
        cr.execute("""UPDATE crm_team_member m SET routing_date = NULL, assignment_optout = FALSE, assignment_max = 30
                        FROM crm_team t WHERE t.id = m.crm_team_id AND t.name->>'en_US' = ANY(%s)""", [TEAM_NAMES])
        cr.execute("UPDATE crm_team SET assignment_domain = NULL WHERE name->>'en_US' = ANY(%s)", [TEAM_NAMES])
    for table in ("crm_lead", "mail_activity", "mail_message", "mail_followers", "crm_team_member"):
        scratchdb.vacuum(db, table)
    _logger.info("routing reset on %d leads", reset)


def count_leads(db):
    return scratchdb.scalar(db, "SELECT count(*) FROM crm_lead WHERE active")


def count_to_route(db):
    return scratchdb.scalar(db, "SELECT count(*) FROM crm_lead WHERE routing_state = 'to_route' "
                                "AND tier_id IS NOT NULL AND active")


def count_salespeople(db):
    return scratchdb.scalar(
        db, "SELECT count(*) FROM crm_team_member m JOIN crm_team t ON t.id = m.crm_team_id "
            "WHERE m.active AND t.name->>'en_US' = ANY(%s)", [TEAM_NAMES])


def check_routing(db):
    """What the run left, checked by SQL against the members' capacity and availability."""
    with scratchdb.cursor(db) as cr:
        cr.execute("SELECT routing_state, count(*) FROM crm_lead WHERE active GROUP BY 1")
        states = dict(cr.fetchall())
        cr.execute("SELECT count(*) FROM crm_lead WHERE user_id IS NOT NULL")
        routed = cr.fetchone()[0]
        # open leads per member and tier over the member's capacity for that tier (no capacity line: none)
        cr.execute(
            """SELECT count(*), COALESCE(sum(n - COALESCE(c.max_open_leads, 0)), 0)::int
                 FROM (SELECT m.id AS member_id, l.tier_id, count(*) AS n
                         FROM crm_lead l
                         JOIN crm_team_member m ON m.user_id = l.user_id AND m.crm_team_id = l.team_id
                        WHERE l.active AND l.won_status = 'pending'
                        GROUP BY m.id, l.tier_id) AS load
                 LEFT JOIN crm_team_member_capacity c ON c.member_id = load.member_id AND c.tier_id = load.tier_id
                WHERE n > COALESCE(c.max_open_leads, 0)""")
        members_over, leads_over = cr.fetchone()
        cr.execute(
            """SELECT count(*) FROM crm_team_member_capacity c
                WHERE c.max_open_leads > 0 AND c.max_open_leads <= (
                      SELECT count(*) FROM crm_lead l JOIN crm_team_member m
                          ON m.user_id = l.user_id AND m.crm_team_id = l.team_id
                       WHERE m.id = c.member_id AND l.tier_id = c.tier_id AND l.active AND l.won_status = 'pending')""")
        at_capacity = cr.fetchone()[0]
        # pylint: disable-next=sql-injection  # module constants only
        cr.execute(f"SELECT count(*) FROM crm_team_member m JOIN crm_team t ON t.id = m.crm_team_id "
                   f"WHERE t.name->>'en_US' = ANY(%s) AND {UNAVAILABLE}", [TEAM_NAMES])
        unavailable_members = cr.fetchone()[0]
        cr.execute(  # pylint: disable=sql-injection  # a module constant
            f"""SELECT count(*) FROM crm_lead l
                  JOIN crm_team_member m ON m.user_id = l.user_id AND m.crm_team_id = l.team_id
                 WHERE {UNAVAILABLE}""")
        unavailable = cr.fetchone()[0]
        cr.execute(
            """SELECT count(*) FROM crm_lead l
                WHERE l.user_id IS NOT NULL AND NOT EXISTS (
                      SELECT 1 FROM crm_team_member m WHERE m.user_id = l.user_id AND m.crm_team_id = l.team_id)""")
        outside_team = cr.fetchone()[0]
        cr.execute("SELECT count(*), count(DISTINCT res_id) FROM mail_activity WHERE res_model = 'crm.lead'")
        activities, with_activity = cr.fetchone()
        cr.execute("SELECT count(*) FROM mail_message WHERE model = 'crm.lead'")
        messages = cr.fetchone()[0]
        cr.execute(
            """SELECT t.name->>'en_US', count(l.id), count(DISTINCT l.user_id) FROM crm_team t
                 LEFT JOIN crm_lead l ON l.team_id = t.id AND l.user_id IS NOT NULL
                WHERE t.name->>'en_US' = ANY(%s) GROUP BY 1 ORDER BY 1""", [TEAM_NAMES])
        per_team = {name: {"leads": leads, "members": members} for name, leads, members in cr.fetchall()}
    return {
        "routed": routed, "states": states, "over_capacity": leads_over, "members_over_capacity": members_over,
        "members_at_capacity": at_capacity, "unavailable_members": unavailable_members,
        "unavailable_used": unavailable, "outside_team": outside_team,
        "unroutable": states.get("unroutable", 0), "nurtured": states.get("nurtured", 0),
        "left_to_route": states.get("to_route", 0),
        "activities": activities, "leads_with_activity": with_activity, "messages": messages, "per_team": per_team,
    }


def unassign_sample(db, size):
    """Make ``size`` of the leads ours gave a salesperson, spread over them, unassigned again for Odoo."""
    with scratchdb.cursor(db) as cr:
        cr.execute("SELECT id FROM crm_lead WHERE user_id IS NOT NULL ORDER BY id")
        ids = [row[0] for row in cr.fetchall()]
        step = len(ids) / size
        sample = [ids[int(i * step)] for i in range(size)]
        # routing_state NULL: leads routing does not handle, which Odoo's assignment takes (see the addon's
        # readme: it leaves alone the leads to route, routed, nurtured or unroutable)
        clear = ", ".join(f"{column} = NULL" for column in ROUTING_COLUMNS)
        # pylint: disable-next=sql-injection  # module constants only
        cr.execute(f"UPDATE crm_lead SET user_id = NULL, team_id = NULL, date_open = NULL, day_open = NULL, "
                   f"routing_state = NULL, {clear} WHERE id = ANY(%s)", [sample])
        cr.execute("CREATE TABLE IF NOT EXISTS bench_route_sample (id int PRIMARY KEY)")
        cr.execute("TRUNCATE bench_route_sample")
        cr.execute("INSERT INTO bench_route_sample SELECT unnest(%s::int[])", [sample])
    _logger.info("%d routed leads made unassigned for Odoo's assignment", len(sample))
    return len(sample)


# ------------------------------------------------------------
# the worker's side (in Odoo)
# ------------------------------------------------------------

def activate_languages(env):
    """The languages the leads' countries speak, for their lang_id and the salespeople's skills."""
    for code in EXTRA_LANGS:
        env["res.lang"]._activate_lang(code)


def cut_tiers(env):
    """Score fit only, cut the tiers at :data:`TIER_SHARES` quantiles, score again: every lead has its tier."""
    params = env["ir.config_parameter"].sudo()
    params.set_param("lead_intelligence.weight_fit", "100")
    params.set_param("lead_intelligence.weight_engagement", "0")
    env.cr.commit()
    lead = env["crm.lead"]
    lead._cron_rescore_all_leads()
    env.cr.execute("SELECT s.score FROM crm_lead l JOIN crm_lead_score s ON s.id = l.score_line_id WHERE l.active")
    scores = np.array([row[0] for row in env.cr.fetchall()], dtype=np.float64)
    thresholds = tier_thresholds(scores)
    for name, value in thresholds.items():
        env.cr.execute("UPDATE crm_lead_tier SET min_score = %s WHERE id = %s", [value, env.ref(TIER_XMLIDS[name]).id])
    env.cr.commit()
    env.invalidate_all()
    lead._cron_rescore_all_leads()
    env.cr.execute("SELECT t.name->>'en_US', count(*) FROM crm_lead l JOIN crm_lead_tier t ON t.id = l.tier_id "
                   "GROUP BY 1 ORDER BY 1")
    counts = dict(env.cr.fetchall())
    env.cr.execute("DELETE FROM mail_message WHERE model = 'crm.lead'")  # the tier moves of the passes
    env.cr.commit()
    return {"thresholds": thresholds, "counts": counts}


def tier_thresholds(scores):
    """Minimum score of each tier so that the tiers hold about their :data:`TIER_SHARES` of ``scores``.

    Kept strictly decreasing from the top tier down to 0 for the lowest, as the tiers' constraint wants.
    """
    thresholds, above, ceiling = {}, 0.0, 101
    for index, (name, share) in enumerate(TIER_SHARES):
        above += share
        if index == len(TIER_SHARES) - 1:
            thresholds[name] = 0
            break
        lowest = len(TIER_SHARES) - 1 - index  # room left for the tiers below
        cut = math.ceil(np.quantile(scores, 1.0 - above))
        thresholds[name] = ceiling = max(min(cut, ceiling - 1), lowest)
    return thresholds


def team_loads(env):
    """Leads each team of :data:`TEAMS` will get, from the leads' tiers and countries."""
    env.cr.execute("SELECT t.name->>'en_US', c.code, count(*) FROM crm_lead l "
                   "JOIN crm_lead_tier t ON t.id = l.tier_id JOIN res_country c ON c.id = l.country_id "
                   "WHERE l.active GROUP BY 1, 2")
    by_tier_country = Counter({(tier, code): count for tier, code, count in env.cr.fetchall()})
    loads = {}
    for name, _members, tier, region, _method in TEAMS:
        countries = REGIONS[region] if region else None
        loads[name] = sum(count for (t, code), count in by_tier_country.items()
                          if t == tier and (countries is None or code in countries))
    return loads


def draw_members(rng, loads):
    """The salespeople: (team, name, skills, availability, capacity), drawn from ``rng``."""
    country_codes = [code for code, *_rest in COUNTRIES]
    teams = []
    for team_index, (name, size, tier, region, method) in enumerate(TEAMS):
        countries = list(REGIONS[region]) if region else country_codes
        members = []
        for number in range(size):
            picked = rng.choice(len(countries), min(len(countries), int(rng.integers(2, 6))), replace=False)
            member_countries = sorted(countries[i] for i in picked)
            langs = {"en_US"} | {COUNTRY_LANGS[code] for code in member_countries
                                 if code in COUNTRY_LANGS and rng.random() < 0.7}
            if {"CN", "HK", "TW", "SG"} & set(member_countries):
                langs.add("zh_CN")
            industries = rng.choice(len(INDUSTRIES), int(rng.integers(2, 5)), replace=False)
            sizes = ["large", "medium"] if tier == "A" else \
                sorted(SIZES[i] for i in rng.choice(3, int(rng.integers(1, 4)), replace=False))
            members.append({
                "name": f"{SALES_NAMES[(team_index * 10 + number) % len(SALES_NAMES)]} "
                        f"{SALES_SURNAMES[(team_index * 7 + number * 3) % len(SALES_SURNAMES)]}",
                "countries": member_countries, "langs": sorted(langs),
                "industries": sorted(INDUSTRIES[i][0] for i in industries), "sizes": sizes,
                "factor": CAPACITY_FACTORS[rng.choice(len(CAPACITY_FACTORS), p=CAPACITY_WEIGHTS)],
                "paused": False, "away": False,
            })
        teams.append({"name": name, "tier": tier, "region": region, "method": method, "members": members})
    # the unavailable ones: at most one per team
    unavailable = rng.choice(len(teams), PAUSED + OUT_OF_OFFICE, replace=False)
    for index, team_index in enumerate(unavailable):
        member = teams[team_index]["members"][int(rng.integers(0, len(teams[team_index]["members"])))]
        member["paused" if index < PAUSED else "away"] = True
    for team in teams:
        available = [m for m in team["members"] if not (m["paused"] or m["away"])]
        share = loads[team["name"]] / len(available)
        for member in team["members"]:
            member["capacity"] = math.ceil(share * member["factor"])
        total = sum(m["capacity"] for m in available)
        wanted = TEAM_CAPACITY_MARGIN * loads[team["name"]]
        if total < wanted:  # scale up those for whom capacity is not meant to bind
            loose = [m for m in available if m["factor"] > 1]
            extra = math.ceil((wanted - total) / len(loose))
            for member in loose:
                member["capacity"] += extra
    return teams


def create_routing_setup(env):
    """Salespeople, teams, skills, capacities, availability, rules and tier follow-ups, through the ORM."""
    rng = np.random.default_rng(SEED)
    loads = team_loads(env)
    teams = draw_members(rng, loads)
    salesman = env.ref("sales_team.group_sale_salesman")
    users = env["res.users"].with_context(no_reset_password=True).create([
        {"name": member["name"], "login": f"bench.route.{team_index}.{number}@example.com",
         "email": f"bench.route.{team_index}.{number}@example.com", "group_ids": [(6, 0, salesman.ids)]}
        for team_index, team in enumerate(teams) for number, member in enumerate(team["members"])
    ])
    langs = {lang.code: lang.id for lang in env["res.lang"].search([])}
    countries = {country.code: country.id for country in env["res.country"].search([])}
    industries = {code: env.ref(f"base.res_partner_industry_{code}").id for code, _weight in INDUSTRIES}
    tiers = {name: env.ref(xmlid) for name, xmlid in TIER_XMLIDS.items()}
    sizes = {size.code: size.id for size in env["crm.lead.company.size"].search([])}
    away_until = env.cr.now().date() + timedelta(days=OUT_OF_OFFICE_DAYS)
    user_iter = iter(users)
    Team = env["crm.team"]
    created = []
    for team in teams:
        member_vals = []
        for member in team["members"]:
            user = next(user_iter)
            member_vals.append((0, 0, {
                "user_id": user.id,
                "skill_industry_ids": [(6, 0, [industries[code] for code in member["industries"]])],
                "skill_country_ids": [(6, 0, [countries[code] for code in member["countries"]])],
                "skill_lang_ids": [(6, 0, [langs[code] for code in member["langs"]])],
                "skill_company_sizes": [(6, 0, [sizes[code] for code in member["sizes"]])],
                "routing_paused": member["paused"],
                "out_of_office_until": away_until if member["away"] else False,
                "capacity_ids": [(0, 0, {"tier_id": tiers[team["tier"]].id,
                                         "max_open_leads": member["capacity"]})],
            }))
        created.append(Team.create({"name": team["name"], "use_leads": True, "use_opportunities": True,
                                    "crm_team_member_ids": member_vals}))
    create_rules(env, teams, created, tiers)
    configure_follow_ups(env, tiers)
    env.cr.commit()
    return {"users": len(users), "teams": len(created), "loads": loads,
            "capacity": {team["name"]: sum(m["capacity"] for m in team["members"]
                                          if not (m["paused"] or m["away"])) for team in teams}}


def create_rules(env, teams, team_records, tiers):
    """One rule per team, in the order of :data:`TEAMS`: its tier, its region's countries."""
    Rule = env["crm.lead.routing.rule"]
    Rule.search([]).action_archive()  # pylint: disable=no-search-all  # a handful of configuration records
    vals_list = []
    for sequence, (team, record) in enumerate(zip(teams, team_records, strict=True), start=1):
        domain = f"[('country_id.code', 'in', {list(REGIONS[team['region']])!r})]" if team["region"] else "[]"
        vals_list.append({
            "name": f"Tier {team['tier']}" + (f", {team['region']}" if team["region"] else ""),
            "sequence": sequence * 10, "tier_ids": [(6, 0, tiers[team["tier"]].ids)], "domain": domain,
            "match_all": not team["region"],
            "team_id": record.id, "method": team["method"],
        })
    Rule.create(vals_list)


def configure_follow_ups(env, tiers):
    """Per tier, :data:`FOLLOW_UPS`; the lowest tier nurtured, with a tag."""
    for name, hours, activity_xmlid in FOLLOW_UPS:
        tiers[name].write({"sla_hours": hours, "followup_activity_type_id": env.ref(activity_xmlid).id,
                           "nurture": False})
    tag = env["crm.tag"].search([("name", "=", NURTURE_TAG)], limit=1) or env["crm.tag"].create({"name": NURTURE_TAG})
    tiers[NURTURED_TIER].write({"sla_hours": 0, "nurture": True, "nurture_tag_id": tag.id})


def route_ours(env):
    """Time ``_cron_route_leads`` with its phases; commit."""
    from bench.worker import timed  # here: the worker imports this module

    clock = RouteClock(env)
    clock.install()
    measure = timed(lambda: env["crm.lead"]._cron_route_leads())
    env.cr.commit()
    measure["phases"] = clock.report(measure["seconds"])
    return measure


class RouteClock:
    """Where ``_cron_route_leads`` spends its time, measured by wrapping its methods.

    Each phase is the time spent in its methods but in the other phases' (exclusive time):

    * ``read``: ``_read_routing_rows``: the claimed leads with every rule matched, in one query;
    * ``prepare``: ``_assign_in_engine`` but the engine: capacities, open leads per member and tier,
      the skill matrices, the round-robin turns;
    * ``engine``: ``engine.routing.assign``, the assignment itself (numpy);
    * ``reasons``: ``_format_routing_reasons``, the explanation of each decision;
    * ``deadlines``: ``_compute_sla_deadlines``, the SLA deadlines on the owners' working schedules;
    * ``write``: ``_write_assignment`` but its parts: the UPDATE of the routed and unroutable leads;
    * ``history``: ``_log_routing_history``, a history row per lead;
    * ``nurture``: ``_nurture``, the nurtured tier's leads (state, tag);
    * ``followers``, ``activities``, ``chatter``: ``_subscribe_owners``, ``_schedule_follow_ups``,
      ``_post_routing_notes``: the new owners follow their leads, get the tier's follow-up activity, and
      a note with the salesperson's change is posted on each lead;
    * ``commit``: ``ir.cron._commit_progress`` (a commit per chunk);
    * ``other``: the rest: reading the rules and members, claiming the chunk, locking the members.

    ``followup`` is ``followers`` + ``activities`` + ``chatter``; ``assignment`` is everything else,
    the commits included: the assignment written to the leads. The clock flushes the ORM right after
    ``_schedule_follow_ups``: what it would leave to the next flush, i.e. to the commit (the stored
    computed fields of activities created through the ORM), counts in ``activities``, where it belongs.
    """

    LEAD_PHASES = (("_read_routing_rows", "read"), ("_assign_in_engine", "prepare"),
                   ("_format_routing_reasons", "reasons"), ("_compute_sla_deadlines", "deadlines"),
                   ("_write_assignment", "write"), ("_log_routing_history", "history"), ("_nurture", "nurture"),
                   ("_route_followup", "followers"), ("_subscribe_owners", "followers"),
                   ("_schedule_follow_ups", "activities"), ("_post_routing_notes", "chatter"))
    FOLLOWUP = ("followers", "activities", "chatter")
    FLUSHED = ("activities",)  # the ORM work they leave to the next flush (the commit) counts in them

    def __init__(self, env):
        self.env = env
        self.seconds = dict.fromkeys([phase for _name, phase in self.LEAD_PHASES] + ["engine", "commit"], 0.0)
        self.stack = []  # [phase, seconds spent in nested phases] of the calls under way

    def install(self):
        from odoo.addons.lead_intelligence.engine import routing  # pylint: disable=import-outside-toplevel

        lead_class = type(self.env["crm.lead"])
        for name, phase in self.LEAD_PHASES:
            setattr(lead_class, name, self._timed(getattr(lead_class, name), phase))
        cron_class = type(self.env["ir.cron"])
        cron_class._commit_progress = self._timed(cron_class._commit_progress, "commit")
        routing.assign = self._timed(routing.assign, "engine")

    def _timed(self, function, phase):
        def timed(*args, **kwargs):
            self.stack.append([phase, 0.0])
            started = time.perf_counter()
            try:
                result = function(*args, **kwargs)
                if phase in self.FLUSHED:
                    args[0].env.flush_all()
                return result
            finally:
                elapsed = time.perf_counter() - started
                _phase, nested = self.stack.pop()
                self.seconds[phase] += elapsed - nested
                if self.stack:
                    self.stack[-1][1] += elapsed
        return timed

    def report(self, total):
        phases = dict(self.seconds)
        phases["other"] = total - sum(phases.values())
        phases["followup"] = sum(phases[phase] for phase in self.FOLLOWUP)
        phases["assignment"] = total - phases["followup"]
        return {phase: round(seconds, 3) for phase, seconds in phases.items()}


def route_odoo(env):
    """Configure Odoo's assignment as the routing rules, time ``_action_assign_leads`` on the sample."""
    from bench.event_tasks import PhaseClock
    from bench.worker import timed

    teams = configure_odoo_assignment(env)
    env.cr.commit()
    seconds = {"allocate": 0.0, "assign": 0.0}

    def add(phase):
        return lambda elapsed: seconds.update({phase: seconds[phase] + elapsed})

    Team = env["crm.team"]
    PhaseClock._wrap(Team, "_allocate_leads", add("allocate"))
    PhaseClock._wrap(Team, "_assign_and_convert_leads", add("assign"))
    result = {}

    def assign():
        result["teams"], result["members"] = teams._action_assign_leads(force_quota=True, creation_delta_days=0)

    measure = timed(assign)
    env.cr.commit()
    measure["phases"] = {key: round(value, 3) for key, value in seconds.items()}
    measure["allocated"] = sum(len(data["assigned"]) + len(data["merged"]) for data in result["teams"].values())
    measure["assigned"] = sum(len(data["assigned"]) for data in result["members"].values())
    env.cr.execute(  # pylint: disable=sql-injection  # a module constant
        f"""SELECT count(*) FILTER (WHERE l.team_id IS NOT NULL), count(*) FILTER (WHERE l.user_id IS NOT NULL),
                   count(*) FILTER (WHERE {UNAVAILABLE})
              FROM bench_route_sample s JOIN crm_lead l ON l.id = s.id
              LEFT JOIN crm_team_member m ON m.user_id = l.user_id AND m.crm_team_id = l.team_id""")
    with_team, with_user, unavailable = env.cr.fetchone()
    measure["checks"] = {"with_team": with_team, "with_salesperson": with_user, "unavailable_used": unavailable,
                         "duplicates_merged": sum(len(d["duplicates"]) for d in result["teams"].values())}
    return measure


def configure_odoo_assignment(env):
    """Team domains as the routing rules; unavailable members opt out; daily quotas that fit the sample."""
    sample = sample_ids(env)
    teams = env["crm.team"].search([("name", "in", TEAM_NAMES)])
    by_name = {team.name: team for team in teams}
    tiers = {name: env.ref(xmlid).id for name, xmlid in TIER_XMLIDS.items()}
    for name, _size, tier, region, _method in TEAMS:
        team = by_name[name]
        domain = [("tier_id", "=", tiers[tier])]
        if region:
            domain.append(("country_id.code", "in", list(REGIONS[region])))
        leads = env["crm.lead"].search_count([*domain, ("id", "in", sample)])
        members = team.crm_team_member_ids
        available = members.filtered("routing_available")  # paused, out of office: as routing sees them
        quota = max(1, math.ceil(2 * leads / max(len(available), 1)))  # twice the team's share: never binds
        # by SQL, as every lever of the bench: no hook of the addon on these writes runs before Odoo's side
        env.cr.execute("UPDATE crm_team SET assignment_domain = %s WHERE id = %s", [repr(domain), team.id])
        env.cr.execute("UPDATE crm_team_member SET assignment_optout = NOT (id = ANY(%s)), "
                       "assignment_max = CASE WHEN id = ANY(%s) THEN %s ELSE assignment_max END WHERE id = ANY(%s)",
                       [available.ids, available.ids, 30 * quota, members.ids])
    env.invalidate_all()
    _logger.info("Odoo's assignment configured on %d teams for %d leads", len(teams), len(sample))
    return teams


def sample_ids(env):
    env.cr.execute("SELECT id FROM bench_route_sample")
    return [row[0] for row in env.cr.fetchall()]
