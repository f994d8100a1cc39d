"""The steps of the ``model`` and ``train`` scenarios that run inside Odoo (``bench.worker`` tasks).

* :func:`load_dataset`: a public data set into a fresh scratch database, as
  leads with their behaviour; the older share closed won or lost as crm does it,
  the newest left open.
* :func:`run_pls`: Odoo's predictive lead scoring on chosen fields; the
  probabilities of the open leads.
* :func:`train_model`: our ``_train_model()``, timed; what the model reports.
* :func:`rescore`: the full pass that scores the open leads with the active
  model; their model probability, score and tier.
"""

import io
import logging
import time
from datetime import timedelta

import numpy as np

from bench.model_data import BENCH_EVENT_TYPES, DATASETS
from bench.scratchdb import OPEN_LEADS

_logger = logging.getLogger(__name__)

SPAN_DAYS = 365  # the data set's leads are created over the last year, in their time order
NEWEST_AGE_DAYS = 7  # the newest lead was created a week ago
CREATE_BATCH = 1000
NO_TRACKING = {"tracking_disable": True, "mail_create_nolog": True, "mail_create_nosubscribe": True,
               "mail_notrack": True}
# the model learns from leads closed in the window: every lead of the data set is in it
MODEL_PARAMS = {"lead_intelligence.model_window_days": "3650"}
EVENT_COLUMNS = ("lead_id", "type_id", "occurred_at", "source", "external_id", "value", "company_id")
NULL = "\\N"
DEFAULT_CAP = 10  # events of a type per lead and day, for types without a cap
MODEL = "crm.lead.scoring.model"


def timed(call):
    from bench.worker import timed as worker_timed  # here: the worker imports this module

    return worker_timed(call)


def set_params(env, params):
    config = env["ir.config_parameter"].sudo()
    for key, value in params.items():
        config.set_param(key, value)


# ------------------------------------------------------------
# Loading a data set
# ------------------------------------------------------------

def load_dataset(env, params):
    """Create the leads of ``params['dataset']``, close the older ones, log their behaviour and count it."""
    started = time.perf_counter()
    leads = DATASETS[params["dataset"]](params["data_dir"])
    if params.get("limit"):
        leads = leads[:params["limit"]]
    n_open = round(len(leads) * params["test_share"])
    n_closed = len(leads) - n_open
    set_params(env, {**MODEL_PARAMS, "lead_intelligence.score_on_save": "batch"})
    catalog = Catalog(env, leads)
    records = env["crm.lead"]
    Lead = env["crm.lead"].with_context(**NO_TRACKING)
    for start in range(0, len(leads), CREATE_BATCH):
        records |= Lead.create([catalog.values(lead) for lead in leads[start:start + CREATE_BATCH]])
        _logger.info("created %d / %d leads", len(records), len(leads))
    env.flush_all()
    converted = {lead.ref for lead in leads if lead.converted}
    won = records[:n_closed].filtered(lambda record: record.lead_ref in converted)
    lost = records[:n_closed] - won
    won.action_set_won()
    lost.action_set_lost()
    env.flush_all()
    blacklisted = [lead.email for lead in leads if lead.do_not_email and lead.email]
    if blacklisted:
        env["mail.blacklist"].sudo().create([{"email": email} for email in blacklisted])
    times = timeline(env, records.ids, n_closed, params.get("seed", 3))
    env.cr.commit()
    logged = log_behaviour(env, leads, records.ids, times)
    env.cr.commit()
    counted = time.perf_counter()
    env["crm.lead.event"]._cron_count_events()
    env.cr.commit()
    env.cr.execute("SELECT filter_reason IS NOT NULL, count(*) FROM crm_lead_event GROUP BY 1")
    outcome = dict(env.cr.fetchall())
    return {
        "leads": len(leads), "closed": n_closed, "won": len(won), "lost": len(lost), "open": n_open,
        "events": logged, "events_counted": outcome.get(False, 0), "events_filtered": outcome.get(True, 0),
        "count_seconds": round(time.perf_counter() - counted, 3), "seconds": round(time.perf_counter() - started, 3),
        "mapping": catalog.summary(),
    }


class Catalog:
    """The records the leads point to, found by name or created (few, through the ORM)."""

    def __init__(self, env, leads):
        self.env = env
        self.sources = self._by_name("utm.source", {lead.source for lead in leads})
        self.mediums = self._by_name("utm.medium", {lead.medium for lead in leads})
        self.industries = self._by_name("res.partner.industry", {lead.industry for lead in leads})
        self.tags = self._by_name("crm.tag", {tag for lead in leads for tag in lead.tags})
        self.countries = self._countries({lead.country for lead in leads})
        self.classes = self._classes({item for lead in leads for item in lead.classes})
        self.teams = self._by_name("crm.team", {lead.team for lead in leads})
        self.users = self._users({(lead.salesperson, lead.team) for lead in leads if lead.salesperson})
        self._event_types()

    def _by_name(self, model, names):
        names = sorted(name for name in names if name)
        Model = self.env[model].with_context(active_test=False)
        found = {record.name: record.id for record in Model.search([("name", "in", names)])}
        missing = [name for name in names if name not in found]
        found.update(zip(missing, Model.create([{"name": name} for name in missing]).ids, strict=True))
        return found

    def _countries(self, names):
        names = sorted(name for name in names if name)
        by_name = {country.name.lower(): country.id for country in self.env["res.country"].search([])}
        self.unknown_countries = [name for name in names if name.lower() not in by_name]
        return {name: by_name[name.lower()] for name in names if name.lower() in by_name}

    def _classes(self, pairs):
        Class = self.env["crm.lead.class"]
        parents = self._by_name("crm.lead.class", {parent for parent, _child in pairs})
        found = {}
        for parent, child in sorted(pairs):
            record = Class.search([("name", "=", child), ("parent_id", "=", parents[parent])], limit=1) or \
                Class.create({"name": child, "parent_id": parents[parent]})
            found[(parent, child)] = record.id
        return found

    def _users(self, pairs):
        """Salespeople (internal users in the sales group), members of their team."""
        salesman = self.env.ref("sales_team.group_sale_salesman")
        users = {}
        for name, team in sorted(pairs, key=lambda pair: (pair[0], pair[1] or "")):
            login = "bench.model." + name.lower().replace(" ", ".") + "@example.com"
            user = self.env["res.users"].search([("login", "=", login)]) or self.env["res.users"].with_context(
                no_reset_password=True).create({"name": name, "login": login, "group_ids": [(6, 0, salesman.ids)]})
            users[name] = user.id
            if team:
                self.env["crm.team.member"].create({"crm_team_id": self.teams[team], "user_id": user.id})
        return users

    def _event_types(self):
        Type = self.env["crm.lead.event.type"].with_context(active_test=False)
        existing = set(Type.search([]).mapped("code"))
        Type.create([{"name": name, "code": code, "points": points, "half_life": 30, "daily_cap": 5}
                     for code, name, points in BENCH_EVENT_TYPES if code not in existing])

    def values(self, lead):
        values = {
            # the company's leads: without a salesperson or a team crm would leave the company empty
            "name": lead.name, "type": "opportunity", "lead_ref": lead.ref, "company_id": self.env.company.id,
            "source_id": self.sources.get(lead.source, False), "medium_id": self.mediums.get(lead.medium, False),
            "country_id": self.countries.get(lead.country, False),
            "industry_id": self.industries.get(lead.industry, False), "function": lead.function or False,
            "partner_name": lead.partner_name or False, "employee_count": lead.employee_count or 0,
            "annual_revenue": lead.annual_revenue or 0.0, "expected_revenue": lead.expected_revenue or 0.0,
            "team_id": self.teams.get(lead.team, False), "user_id": self.users.get(lead.salesperson, False),
            "class_ids": [(6, 0, [self.classes[item] for item in lead.classes])],
            "tag_ids": [(6, 0, [self.tags[tag] for tag in lead.tags])],
        }
        if lead.email:
            values["email_from"] = lead.email
        return values

    def summary(self):
        return {"sources": len(self.sources), "mediums": len(self.mediums), "countries": len(self.countries),
                "unknown_countries": self.unknown_countries, "industries": len(self.industries),
                "classes": len(self.classes), "tags": len(self.tags), "teams": len(self.teams),
                "salespeople": len(self.users)}


def timeline(env, lead_ids, n_closed, seed):
    """Creation dates in the data set's order over the last year; closing dates for the closed leads.

    Returns each lead's activity end (POSIX seconds): its closing date, or for
    an open lead as long after its creation as a closed one, at most yesterday.
    """
    rng = np.random.default_rng(seed)
    env.cr.execute("SELECT extract(epoch FROM now() AT TIME ZONE 'UTC')::float8")
    now = env.cr.fetchone()[0]
    n = len(lead_ids)
    created = now - SPAN_DAYS * 86400.0 + np.arange(n) * ((SPAN_DAYS - NEWEST_AGE_DAYS) * 86400.0 / max(n, 1))
    created = np.floor(created)
    after = np.floor((1.0 + rng.gamma(2.0, 7.0, n)) * 86400.0)
    end = np.minimum(created + after, now - 86400.0)
    closed = np.arange(n) < n_closed
    env.cr.execute(
        """UPDATE crm_lead SET create_date = to_timestamp(v.created) AT TIME ZONE 'UTC',
                  date_open = to_timestamp(v.created) AT TIME ZONE 'UTC',
                  write_date = to_timestamp(v.last) AT TIME ZONE 'UTC',
                  date_last_stage_update = to_timestamp(v.last) AT TIME ZONE 'UTC',
                  date_closed = CASE WHEN v.closed THEN to_timestamp(v.last) AT TIME ZONE 'UTC' END,
                  day_close = CASE WHEN v.closed THEN floor((v.last - v.created) / 86400) END,
                  day_open = 0
             FROM unnest(%s::int[], %s::float8[], %s::float8[], %s::bool[]) AS v(id, created, last, closed)
            WHERE crm_lead.id = v.id""",
        [lead_ids, created.tolist(), np.where(closed, end, created).tolist(), closed.tolist()])
    return end


def log_behaviour(env, leads, lead_ids, ends):
    """Log the visits, time on site, page views and last activity of each lead as events, by ``COPY``.

    A lead's events go back day by day from the day before its activity end,
    each type at most its daily cap a day, two minutes apart, each type in an hour of its own (no
    burst); visits carry their share of the time when it is at least the minimum
    dwell, else no value (the data set counts them as visits). The last activity
    is the latest event, on the day of the activity end.
    """
    env.cr.execute("SELECT code, id, COALESCE(NULLIF(daily_cap, 0), %s) FROM crm_lead_event_type WHERE active",
                   [DEFAULT_CAP])
    types = {code: (type_id, cap) for code, type_id, cap in env.cr.fetchall()}
    min_dwell = float(env["res.config.settings"]._get_lead_intelligence_settings()["min_dwell"])
    hours = {code: hour for hour, code in enumerate(["visit", "time_on_site", "key_page"], start=8)}
    rows = []
    for lead, lead_id, end in zip(leads, lead_ids, ends.tolist(), strict=True):
        end_day = np.floor(end / 86400.0) * 86400.0
        per_visit = lead.time_on_site / lead.visits if lead.visits else None
        share = np.diff(np.round(np.linspace(0, lead.time_on_site, lead.visits + 1))) if lead.visits else []
        batches = [("visit", lead.visits, [per_visit if per_visit and per_visit >= min_dwell else None]
                    * lead.visits),
                   ("time_on_site", len(share) if lead.time_on_site else 0, list(share)),
                   ("key_page", lead.page_views, [None] * lead.page_views)]
        if not lead.visits and lead.time_on_site:
            batches[1] = ("time_on_site", 1, [float(lead.time_on_site)])
        for code, count, values in batches:
            type_id, cap = types[code]
            for index in range(count):
                at = end_day - (1 + index // cap) * 86400.0 + hours[code] * 3600.0 + (index % cap) * 120.0
                rows.append((lead_id, type_id, at, f"bench-model-{lead.ref}-{code}-{index}", values[index]))
        if lead.last_activity in types:
            rows.append((lead_id, types[lead.last_activity][0], end_day + 20 * 3600.0,
                         f"bench-model-{lead.ref}-last", None))
    # the company an event is logged for: its lead's, or the main company for a lead shared by all
    env.cr.execute("SELECT id, COALESCE(company_id, (SELECT min(id) FROM res_company)) FROM crm_lead "
                   "WHERE id = ANY(%s)", [sorted({row[0] for row in rows})])
    company_of_lead = dict(env.cr.fetchall())
    buffer = io.StringIO("".join(
        f"{lead_id}\t{type_id}\t{np.datetime64(int(at), 's')}\timport\t{key}\t{copy_number(value)}"
        f"\t{company_of_lead[lead_id]}\n"
        for lead_id, type_id, at, key, value in rows))
    env.cr.copy_expert(f"COPY crm_lead_event ({', '.join(EVENT_COLUMNS)}) FROM STDIN", buffer)
    env.cr.execute("INSERT INTO crm_lead_event_queue (event_id, lead_id, type_id, occurred_at, value) "
                   "SELECT id, lead_id, type_id, occurred_at, value FROM crm_lead_event")
    _logger.info("logged %d events", len(rows))
    return len(rows)


def copy_number(value):
    return NULL if value is None else f"{value:.0f}"


# ------------------------------------------------------------
# Measurements
# ------------------------------------------------------------

def open_leads(env, columns):
    env.cr.execute(f"SELECT {columns} FROM crm_lead WHERE {OPEN_LEADS.string} ORDER BY id")  # pylint: disable=sql-injection  # module constants only
    return env.cr.fetchall()


def run_pls(env, params):
    """Odoo's PLS cron on ``params['fields']``: frequency table from the closed leads, then the open ones."""
    start = env.cr.now().date() - timedelta(days=params.get("history_days", 3650))
    set_params(env, {"crm.pls_start_date": start.isoformat(), "crm.pls_fields": params["fields"]})
    env.cr.commit()
    measure = timed(lambda: env["crm.lead"]._cron_update_automated_probabilities())
    env.cr.commit()
    measure["fields"] = env["crm.lead"]._pls_get_safe_fields()
    measure["predictions"] = dict(open_leads(env, "lead_ref, automated_probability"))
    return measure


def clear_models(env):
    """Forget the models of an earlier run, so that this run's model is the active one."""
    models = env[MODEL].with_context(active_test=False).search([])
    if models:
        models.unlink()
        env.cr.commit()


def train_model(env, params):
    """Time ``_train_model()`` and return what the model record says about itself."""
    set_params(env, {**MODEL_PARAMS, **params.get("settings", {})})
    if params.get("fresh", True):
        clear_models(env)
    env.cr.commit()
    result = {}
    measure = timed(lambda: result.setdefault("model", env[MODEL]._train_model()))
    env.cr.commit()
    model = result["model"]
    for name in ("id", "name", "algorithm", "state", "roc_auc", "pr_auc", "brier_score", "logreg_auc", "hgb_auc",
                 "hyperparameters", "calibration_method", "n_train", "n_valid", "n_sample", "sample_size",
                 "feature_count"):
        if name in model._fields:
            value = model[name]
            measure[name] = value.id if hasattr(value, "_name") else value
    if "tier_stat_ids" in model._fields:  # the model's own figures per tier, on its validation leads
        measure["validation_tiers"] = [
            {"tier": stat.name, "leads": stat.count, "conversion": round(stat.conversion_rate, 4),
             "lift": round(stat.lift, 3)} for stat in model.tier_stat_ids]
    if params.get("activate") and model.state != "active":
        # as an administrator may: the comparison needs the model's probabilities, however weak
        model.action_activate()
        env.cr.commit()
        measure["activated_for_measurement"] = True
    return measure


def time_methods(model, names):
    """Wrap the methods ``names`` of ``model``'s registry class (those it has) with a timer;
    return the dict of seconds they accumulate."""
    seconds = {}
    cls = type(model)
    for name in names:
        original = getattr(cls, name, None)
        if original is None:
            continue
        seconds[name] = 0.0

        def wrapper(self, *args, _name=name, _original=original, **kwargs):
            started = time.perf_counter()
            try:
                return _original(self, *args, **kwargs)
            finally:
                seconds[_name] += time.perf_counter() - started
        setattr(cls, name, wrapper)
    return seconds


def rescore(env, params):
    """Time a full pass over the open leads (a new one, as a configuration change starts it), with the
    seconds spent predicting (``_predict_model``, its reading of the features included)."""
    Lead = env["crm.lead"]
    set_params(env, params.get("settings", {}))
    if params.get("new_pass", True):
        Lead._trigger_full_rescore()
        env.cr.commit()
    phases = time_methods(Lead, ("_predict_model", "_read_model_features"))
    measure = timed(lambda: Lead._cron_rescore_all_leads())
    measure["phases"] = {name: round(seconds, 3) for name, seconds in phases.items()}
    env.cr.commit()
    if params.get("predictions", True):
        all_tiers = env["crm.lead.tier"].with_context(active_test=False).search([])
        tiers = {tier.id: tier.name for tier in all_tiers}
        measure["tier_thresholds"] = {tier.name: tier.min_score for tier in all_tiers
                                      if tier.active and not tier.company_id}
        model_column = "s.model_probability" if "model_probability" in Lead._fields else "NULL::float8"
        env.cr.execute(
            f"SELECT crm_lead.lead_ref, {model_column}, s.score, crm_lead.tier_id "  # pylint: disable=sql-injection  # module constants only
            "FROM crm_lead LEFT JOIN crm_lead_score s ON s.id = crm_lead.score_line_id "
            f"WHERE {OPEN_LEADS.string} ORDER BY crm_lead.id")
        measure["predictions"] = {ref: (probability, score, tiers.get(tier_id))
                                  for ref, probability, score, tier_id in env.cr.fetchall()}
    env.cr.execute("SELECT count(*) FROM crm_lead_score s JOIN crm_lead ON s.id = crm_lead.score_line_id "
                   f"WHERE {OPEN_LEADS.string} AND s.model_probability IS NOT NULL"  # pylint: disable=sql-injection  # module constants only
                   if "model_probability" in Lead._fields else "SELECT 0")
    measure["with_model_probability"] = env.cr.fetchone()[0]
    settings = env["res.config.settings"]._get_lead_intelligence_settings()
    measure["weights"] = {key: settings[key] for key in ("weight_fit", "weight_engagement", "weight_model")
                          if key in settings}
    return measure
