"""The public data sets of the ``model`` scenario, read at run time and mapped to lead values.

Nothing here imports Odoo: a reader turns a data set's CSV files into
:class:`DatasetLead` objects in time order (oldest first), with the values the
scratch database gets and the outcome, which the scenario keeps aside for the
newest leads. The files are never copied into the project: pass their folder
with ``--data-dir`` (default ``BENCH_DATASETS``, else ``../shared/datasets``
beside the repository).

Columns that exist only after the outcome are never read (see each reader).
"""

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

from bench.odoo_env import REPO_ROOT

DEFAULT_DATA_DIR = Path(os.environ.get("BENCH_DATASETS", REPO_ROOT.parent / "shared" / "datasets"))

# values a web form leaves when nothing was chosen: the same as blank
MISSING = {"", "select", "nan"}
# country names of the data sets that are not res.country names
COUNTRY_ALIASES = {"philipines": "Philippines", "russia": "Russian Federation", "vietnam": "Vietnam",
                   "south korea": "South Korea", "korea": "South Korea", "tanzania": "Tanzania"}
NOT_COUNTRIES = {"unknown", "asia/pacific region"}


@dataclass
class DatasetLead:
    """One row of a data set as lead values; ``converted`` is the outcome (1 won, 0 lost)."""

    ref: str  # crm.lead.lead_ref: the row's key in the data set
    name: str
    converted: int
    source: str | None = None  # utm.source name
    medium: str | None = None  # utm.medium name
    country: str | None = None  # res.country name
    industry: str | None = None  # res.partner.industry name
    function: str | None = None  # job position
    partner_name: str | None = None
    employee_count: int | None = None
    annual_revenue: float | None = None
    expected_revenue: float | None = None
    team: str | None = None  # crm.team name
    salesperson: str | None = None  # res.users name
    email: str | None = None
    do_not_email: bool = False
    do_not_call: bool = False
    # (parent, child) crm.lead.class: the attributes the addon has no field for
    classes: list = field(default_factory=list)
    # crm.tag names: the same attributes, and the behaviour binned, for Odoo's PLS (which cannot read classes)
    tags: list = field(default_factory=list)
    # behaviour: (event type code, count, total value or None) and the last activity's event type code
    visits: int = 0
    time_on_site: int = 0
    page_views: int = 0
    last_activity: str | None = None


def clean(value):
    """The value, stripped, or None where the data set means "not answered"."""
    value = (value or "").strip()
    return None if value.lower() in MISSING else value


def yes(value):
    return (value or "").strip().lower() == "yes"


def country(value):
    value = clean(value)
    if value is None or value.lower() in NOT_COUNTRIES:
        return None
    return COUNTRY_ALIASES.get(value.lower(), value)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def binned(label, value, edges, unit=""):
    """A tag naming the bin of ``value`` among ``edges`` (upper bounds, inclusive), e.g. "Visits: 3-5"."""
    lower = 0
    for upper in edges:
        if value <= upper:
            text = f"{lower}" if lower == upper else f"{lower}-{upper}"
            return f"{label}: {text}{unit}"
        lower = upper + 1
    return f"{label}: {lower}+{unit}"


# ------------------------------------------------------------
# X Education (Leads.csv)
# ------------------------------------------------------------

# Never read: filled in by the sales team after contact, vendor or assigned scores and levels,
# or the activity at the record's last update (SOURCE.md, "Target leakage").
X_EDUCATION_LEAKING = (
    "Tags", "Lead Quality", "Lead Profile", "Asymmetrique Activity Index", "Asymmetrique Profile Index",
    "Asymmetrique Activity Score", "Asymmetrique Profile Score", "Last Notable Activity",
)
# "Last Activity" -> event type code. Codes the addon does not ship are created by the scenario
# (BENCH_EVENT_TYPES): an outbound SMS, a bounce, an unreachable call, an unsubscription.
LAST_ACTIVITY_EVENTS = {
    "Email Opened": "email_open", "Email Link Clicked": "email_click", "View in browser link Clicked": "email_click",
    "Resubscribed to emails": "email_click", "Email Received": "email_reply", "Page Visited on Website": "key_page",
    "Olark Chat Conversation": "form", "Converted to Lead": "form", "Form Submitted on Website": "form",
    "Had a Phone Conversation": "call", "Approached upfront": "meeting", "Visited Booth in Tradeshow":
        "webinar_attendance", "SMS Sent": "bench_sms_sent", "Email Bounced": "bench_email_bounced",
    "Unreachable": "bench_unreachable", "Unsubscribed": "bench_unsubscribed", "Email Marked Spam": "bench_unsubscribed",
}
# (code, name, points): event types the bench adds; no counter, they weigh through the engagement only
BENCH_EVENT_TYPES = [
    ("bench_sms_sent", "SMS sent (bench)", 0.0), ("bench_email_bounced", "Email bounced (bench)", -2.0),
    ("bench_unreachable", "Unreachable by phone (bench)", 0.0), ("bench_unsubscribed", "Unsubscribed (bench)", -5.0),
]
# Yes/No answers that become a class and a tag when "Yes"
X_EDUCATION_FLAGS = {
    "A free copy of Mastering The Interview": "Asked for the free e-book", "Search": "Saw a search ad",
    "Newspaper Article": "Saw a newspaper article", "X Education Forums": "Saw the forums",
    "Newspaper": "Saw a newspaper ad", "Digital Advertisement": "Saw a digital ad",
    "Through Recommendations": "Came through a recommendation",
}
# the tags that carry the behaviour, binned, to Odoo's PLS (it reads no number); the comparison has
# none of them (categorical attributes only), the bench's stronger one has them
BEHAVIOUR_TAGS = ("Visits", "Time on site", "Pages per visit")
# other answers of the web form: class parent -> column
X_EDUCATION_ANSWERS = {
    "Occupation": "What is your current occupation", "City": "City",
    "Heard about us": "How did you hear about X Education",
    "What matters": "What matters most to you in choosing a course",
}


def read_x_education(data_dir):
    """Leads.csv in ``Lead Number`` order (the data set has no date: the number is the time)."""
    rows = read_csv(Path(data_dir) / "x_education_leads" / "Leads.csv")
    rows.sort(key=lambda row: int(row["Lead Number"]))
    leads = []
    for row in rows:
        for column in X_EDUCATION_LEAKING:
            row.pop(column, None)  # dropped on read: nothing below can use them
        visits = round(float(row["TotalVisits"] or 0))
        pages_per_visit = float(row["Page Views Per Visit"] or 0)
        seconds = round(float(row["Total Time Spent on Website"] or 0))
        source = clean(row["Lead Source"])
        lead = DatasetLead(
            ref=f"XE-{row['Lead Number']}", name=f"X Education lead {row['Lead Number']}",
            converted=int(row["Converted"]),
            # "google" and "Google" are one source
            source=source and ("Google" if source.lower() == "google" else source),
            medium=clean(row["Lead Origin"]), country=country(row["Country"]),
            industry=clean(row["Specialization"]), function=clean(row["What is your current occupation"]),
            email=f"lead{row['Lead Number']}@example.com", do_not_email=yes(row["Do Not Email"]),
            do_not_call=yes(row["Do Not Call"]),
            visits=visits, time_on_site=seconds, page_views=round(visits * pages_per_visit),
            last_activity=LAST_ACTIVITY_EVENTS.get(clean(row["Last Activity"]) or ""),
        )
        for parent, column in X_EDUCATION_ANSWERS.items():
            value = clean(row[column])
            if value:
                lead.classes.append((parent, value))
        for column, label in X_EDUCATION_FLAGS.items():
            if yes(row[column]):
                lead.classes.append(("Form answers", label))
        # which activity came last: the addon's counters and engagement cannot say, a class can
        if clean(row["Last Activity"]):
            lead.classes.append(("Last activity", clean(row["Last Activity"])))
        if lead.do_not_email:
            lead.classes.append(("Contact", "Do not email"))
        if lead.do_not_call:
            lead.classes.append(("Contact", "Do not call"))
        # PLS reads job position, source, medium, country and industry as fields; the rest as tags
        lead.tags = [f"{parent}: {child}" for parent, child in lead.classes if parent != "Occupation"]
        lead.tags += [
            binned(BEHAVIOUR_TAGS[0], visits, (0, 2, 5, 10)),
            binned(BEHAVIOUR_TAGS[1], seconds, (0, 300, 600, 1200), " s"),
            binned(BEHAVIOUR_TAGS[2], round(pages_per_visit), (0, 2, 3, 5)),
        ]
        leads.append(lead)
    return leads


# ------------------------------------------------------------
# CRM Sales Opportunities (Maven Analytics)
# ------------------------------------------------------------

PRODUCT_ALIASES = {"GTXPro": "GTX Pro"}  # the pipeline's spelling of a product of products.csv


def read_crm_sales(data_dir):
    """The closed deals (Won/Lost) of sales_pipeline.csv in ``engage_date`` order, joined with the
    accounts, products and sales teams. ``close_date`` and ``close_value`` (known only once the deal
    is closed, AUC 1.0 on their own) are never read; open deals have no outcome and are left out."""
    folder = Path(data_dir) / "crm_sales_opportunities"
    accounts = {row["account"]: row for row in read_csv(folder / "accounts.csv")}
    products = {row["product"]: row for row in read_csv(folder / "products.csv")}
    agents = {row["sales_agent"]: row for row in read_csv(folder / "sales_teams.csv")}
    deals = [row for row in read_csv(folder / "sales_pipeline.csv") if row["deal_stage"] in ("Won", "Lost")]
    deals.sort(key=lambda row: (row["engage_date"], row["opportunity_id"]))
    leads = []
    for row in deals:
        account = accounts.get(row["account"], {})
        product_name = PRODUCT_ALIASES.get(row["product"], row["product"])
        product = products.get(product_name, {})
        agent = agents.get(row["sales_agent"], {})
        lead = DatasetLead(
            ref=f"MT-{row['opportunity_id']}", name=f"{row['account'] or 'Prospect'}: {product_name}",
            converted=int(row["deal_stage"] == "Won"), partner_name=clean(row["account"]),
            country=country(account.get("office_location")), industry=clean(account.get("sector")),
            employee_count=int(account["employees"]) if account.get("employees") else None,
            annual_revenue=float(account["revenue"]) * 1e6 if account.get("revenue") else None,
            expected_revenue=float(product["sales_price"]) if product.get("sales_price") else None,
            team=f"{agent['regional_office']} office" if agent else None, salesperson=clean(row["sales_agent"]),
        )
        lead.classes = [("Product", product_name)]
        if product.get("series"):
            lead.classes.append(("Series", product["series"]))
        if clean(account.get("subsidiary_of")):
            lead.classes.append(("Account", "Subsidiary"))
        if agent:
            lead.classes.append(("Manager", agent["manager"]))
        lead.tags = [f"{parent}: {child}" for parent, child in lead.classes]
        leads.append(lead)
    return leads


DATASETS = {"x_education": read_x_education, "crm_sales_opportunities": read_crm_sales}
