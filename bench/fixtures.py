"""Configuration records of the scratch database, created through the ORM (there are few).

Run once on a freshly installed database, before any lead exists, so that no
module hook has leads to recompute.
"""

import logging
from datetime import timedelta

from bench.fit_rules import bench_rules
from bench.leadgen import MEDIUMS, SOURCES, SPAN_DAYS, TAGS, TEAMS

_logger = logging.getLogger(__name__)

PLS_FIELDS = "phone_state,email_state,state_id,country_id,source_id,lang_id,tag_ids"  # Odoo's default


def create_fixtures(env, rule_count):
    """Languages, teams and salespeople, tags, PLS settings and the fit rules."""
    env["res.lang"]._activate_lang("zh_CN")
    create_sales_teams(env)
    create_missing(env["utm.source"], [name for name, *_ in SOURCES])
    create_missing(env["utm.medium"], [name for name, _ in MEDIUMS])
    env["crm.tag"].create([{"name": name} for name in TAGS])
    configure_pls(env)
    create_fit_rules(env, rule_count)


def create_sales_teams(env):
    salesman = env.ref("sales_team.group_sale_salesman")
    for index, (team_name, _chinese, user_names) in enumerate(TEAMS):
        users = env["res.users"].create([
            {"name": name, "login": f"bench.sales.{index}.{number}@example.com", "group_ids": [(6, 0, salesman.ids)]}
            for number, name in enumerate(user_names)
        ])
        env["crm.team"].create({
            "name": team_name,
            "crm_team_member_ids": [(0, 0, {"user_id": user.id}) for user in users],
        })


def create_missing(model, names):
    existing = set(model.with_context(active_test=False).search([("name", "in", names)]).mapped("name"))
    model.create([{"name": name} for name in names if name not in existing])


def configure_pls(env):
    """Learn from every generated lead: start date before the oldest one, default fields."""
    start = env.cr.now().date() - timedelta(days=SPAN_DAYS + 30)
    params = env["ir.config_parameter"].sudo()
    params.set_param("crm.pls_start_date", start.isoformat())
    params.set_param("crm.pls_fields", PLS_FIELDS)


def create_fit_rules(env, count):
    """Archive the rules the addon ships and create the bench's ``count`` rules."""
    rules = env["crm.lead.fit.rule"]
    rules.search([]).action_archive()
    rules.create([
        {"name": name, "domain": domain, "points": points, "sequence": sequence}
        for sequence, (name, domain, points) in enumerate(bench_rules(count), start=1)
    ])
    _logger.info("created %d fit rules", count)
