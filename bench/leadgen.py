"""Generate realistic ``crm.lead`` rows fast: numpy draws, PostgreSQL ``COPY``, no ORM.

One million leads take a few minutes: the secondary indexes of ``crm_lead`` are
dropped during the load and rebuilt once at the end, foreign keys are not
re-checked row by row (``session_replication_role = replica``; every id drawn
here exists), and rows go in by ``COPY`` in chunks.

The leads look like a B2B pipeline of three years: about twenty countries, English
and Chinese companies, contacts and job positions, log-normal deal sizes, a few
sales teams and salespeople, UTM sources and mediums, tags. About a third are
open; the others are won or lost with odds that depend on the lead's profile, so
Odoo's predictive lead scoring has a history to learn from. Stored computed
columns (``won_status``, ``email_normalized``, ``email_domain_criterion``,
``phone_sanitized``, ``phone_state``, ``email_state``, ``prorated_revenue``,
dates and day counts) are filled consistently with what Odoo would compute.
"""

import io
import logging
import time
from dataclasses import dataclass

import numpy as np
from psycopg2 import sql

_logger = logging.getLogger(__name__)

CHUNK_SIZE = 50_000
SPAN_DAYS = 3 * 365
OPEN_SHARE = 0.34
NULL = "\\N"

# (code, weight, top-level domain, legal suffix, quality): quality shifts the odds of winning
COUNTRIES = [
    ("US", 14, ".com", "Inc.", 0.3), ("CN", 14, ".cn", "Co., Ltd.", 0.2), ("DE", 7, ".de", "GmbH", 0.4),
    ("GB", 6, ".co.uk", "Ltd", 0.3), ("IN", 6, ".in", "Pvt Ltd", -0.3), ("FR", 5, ".fr", "SAS", 0.2),
    ("JP", 5, ".jp", "K.K.", -0.2), ("BR", 4, ".com.br", "Ltda", -0.4), ("CA", 3, ".ca", "Inc.", 0.2),
    ("AU", 3, ".com.au", "Pty Ltd", 0.1), ("SG", 3, ".sg", "Pte Ltd", 0.3), ("KR", 3, ".kr", "Co., Ltd", -0.2),
    ("IT", 3, ".it", "S.p.A.", 0.0), ("ES", 3, ".es", "S.L.", -0.1), ("HK", 2, ".com.hk", "Ltd", 0.2),
    ("TW", 2, ".com.tw", "Co., Ltd.", 0.1), ("NL", 2, ".nl", "B.V.", 0.3), ("MX", 2, ".mx", "S.A. de C.V.", -0.4),
    ("AE", 2, ".ae", "LLC", 0.0), ("ZA", 1, ".co.za", "(Pty) Ltd", -0.3),
]
CHINESE_COUNTRIES = {"CN", "HK", "TW"}

EN_COMPANY_WORDS = [
    "Apex", "Blue", "Cedar", "Delta", "Evergreen", "Falcon", "Granite", "Harbor", "Iron", "Juniper",
    "Keystone", "Lumen", "Maple", "North", "Orion", "Pioneer", "Quantum", "Redwood", "Summit", "Titan",
    "Union", "Vertex", "Willow", "Zenith", "Atlas", "Beacon", "Crest", "Horizon", "Nova", "Silver",
]
EN_COMPANY_KINDS = [
    "Systems", "Logistics", "Foods", "Manufacturing", "Dynamics", "Labs", "Energy", "Health", "Retail",
    "Consulting", "Software", "Motors", "Textiles", "Pharma", "Holdings", "Networks", "Robotics", "Packaging",
]
ZH_CITIES = ["深圳", "上海", "北京", "广州", "杭州", "苏州", "成都", "武汉", "南京", "天津"]
# (hanzi, pinyin) pairs so that Chinese companies and people get plausible email addresses
ZH_BRANDS = [
    ("华信", "huaxin"), ("恒达", "hengda"), ("金科", "jinke"), ("中联", "zhonglian"), ("天成", "tiancheng"),
    ("宏图", "hongtu"), ("瑞丰", "ruifeng"), ("博远", "boyuan"), ("盛世", "shengshi"), ("同创", "tongchuang"),
    ("远航", "yuanhang"), ("鼎盛", "dingsheng"), ("新华", "xinhua"), ("德力", "deli"), ("永安", "yongan"),
]
ZH_INDUSTRIES = ["科技", "贸易", "制造", "信息技术", "电子", "物流", "医疗器械", "新材料", "食品", "汽车配件"]
EN_FIRST = [
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Susan", "Richard", "Jessica", "Thomas", "Sarah", "Daniel", "Karen", "Priya", "Rahul",
    "Hans", "Anna", "Pierre", "Sophie", "Marco", "Giulia", "Yuki", "Hiroshi", "Carlos", "Ana",
]
EN_LAST = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
    "Moore", "Martin", "Lee", "Walker", "Hall", "Young", "King", "Wright", "Sharma", "Patel",
    "Weber", "Schmidt", "Dubois", "Moreau", "Rossi", "Bianchi", "Tanaka", "Sato", "Silva", "Garcia",
]
ZH_FAMILY = [("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
             ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun")]
ZH_GIVEN = [("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("强", "qiang"),
            ("磊", "lei"), ("洋", "yang"), ("艳", "yan"), ("勇", "yong"), ("军", "jun"), ("杰", "jie"),
            ("婷", "ting"), ("浩", "hao"), ("鹏", "peng"), ("晨", "chen")]
# (title, weight, seniority): seniority shifts the odds of winning
EN_FUNCTIONS = [
    ("CEO", 5, 0.6), ("Founder", 2, 0.5), ("Owner", 3, 0.4), ("CTO", 4, 0.4), ("CFO", 2, 0.3),
    ("COO", 2, 0.3), ("Procurement Manager", 7, 0.5), ("Purchasing Manager", 5, 0.4), ("IT Manager", 7, 0.2),
    ("Head of Operations", 4, 0.2), ("Sales Director", 4, 0.0), ("Marketing Manager", 5, -0.1),
    ("Project Manager", 6, 0.0), ("Engineer", 8, -0.2), ("Analyst", 6, -0.3), ("Consultant", 4, -0.2),
    ("Office Manager", 3, -0.1), ("Intern", 2, -0.8),
]
ZH_FUNCTIONS = [
    ("总经理", 6, 0.6), ("董事长", 2, 0.5), ("技术总监", 5, 0.4), ("财务总监", 2, 0.3), ("采购经理", 8, 0.5),
    ("IT主管", 5, 0.2), ("销售经理", 5, 0.0), ("市场经理", 4, -0.1), ("项目经理", 6, 0.0), ("工程师", 8, -0.2),
    ("行政助理", 3, -0.2), ("实习生", 2, -0.8),
]
EN_INTERESTS = ["ERP rollout", "CRM upgrade", "Warehouse automation", "Payroll", "Website redesign",
                "Annual support contract", "Cloud migration", "Pilot project", "Training", "Hardware renewal"]
ZH_INTERESTS = ["ERP 实施", "CRM 升级", "仓储自动化", "年度服务合同", "云迁移", "试点项目", "员工培训", "设备更新"]
EN_FREE_MAIL = ["gmail.com", "outlook.com", "yahoo.com", "hotmail.com"]
ZH_FREE_MAIL = ["qq.com", "163.com", "126.com", "foxmail.com"]
TAGS = ["Product", "Services", "Software", "Hardware", "Consulting", "Training", "Partner", "Event"]
# (source, weight, quality): utm.source records, created by the fixtures where Odoo does not ship them
SOURCES = [("Search engine", 20, 0.0), ("Newsletter", 8, -0.1), ("Facebook", 6, -0.3), ("X", 4, -0.3),
           ("LinkedIn", 12, 0.4), ("Referral", 10, 0.5), ("Lead Recall", 4, 0.1), ("Trade show", 8, 0.3),
           ("Webinar", 8, 0.2), ("Cold call", 6, -0.2), ("Google Ads", 10, 0.1), ("Banner", 4, -0.5)]
MEDIUMS = [("Website", 30), ("Phone", 15), ("Direct", 15), ("Email", 20), ("Banner", 8), ("Google Adwords", 12)]
OPEN_STAGE_WEIGHTS = (0.5, 0.3, 0.2)
OPEN_STAGE_PROBABILITY = (10.0, 30.0, 60.0)
PRIORITIES = np.array(["0", "1", "2", "3"])
PRIORITY_WEIGHTS = (0.55, 0.28, 0.12, 0.05)

# Columns written by COPY, in order; columns a later module adds with NOT NULL must be handled here.
LEAD_COLUMNS = [
    "id", "name", "type", "priority", "active", "stage_id", "won_status", "probability", "automated_probability",
    "company_id", "team_id", "user_id", "lang_id", "country_id", "source_id", "medium_id", "partner_name",
    "contact_name", "function", "email_from", "email_normalized", "email_domain_criterion", "email_state",
    "phone", "phone_sanitized", "phone_state", "expected_revenue", "prorated_revenue", "create_date",
    "write_date", "create_uid", "write_uid", "date_open", "day_open", "date_closed", "day_close",
    "date_last_stage_update", "date_conversion", "lost_reason_id", "color", "message_bounce",
]
# lead_intelligence's dirty flag in versions that kept it on crm_lead: generated rows start clean (with
# the flag in crm_lead_dirty, they start clean as the insert triggers do not run, see load)
OPTIONAL_FALSE_COLUMNS = ["score_dirty"]


# (team, serves Chinese-speaking leads, salespeople): created by the scenario's set-up through the ORM
TEAMS = [
    ("Enterprise Sales", False, ["Olivia Bennett", "Lucas Meyer", "Emma Laurent"]),
    ("Inside Sales", False, ["Noah Carter", "Mia Rossi"]),
    ("Greater China Sales", True, ["王磊", "陈静", "李强"]),
]


@dataclass(frozen=True)
class Catalog:
    """Ids of the records the generated leads point to, read from the database."""

    now: np.datetime64
    company_id: int
    admin_id: int
    open_stage_ids: np.ndarray
    won_stage_id: int
    country_ids: np.ndarray  # aligned with COUNTRIES
    phone_codes: np.ndarray  # aligned with COUNTRIES
    lang_ids: dict  # code -> id
    source_ids: np.ndarray  # aligned with SOURCES
    medium_ids: np.ndarray  # aligned with MEDIUMS
    lost_reason_ids: np.ndarray
    tag_ids: np.ndarray
    teams: list  # (team id, user ids array, serves Chinese-speaking leads), aligned with TEAMS


def load_catalog(cr):
    """Read from the database every id the generator draws from."""
    cr.execute("SELECT now() AT TIME ZONE 'UTC'")
    now = np.datetime64(cr.fetchone()[0].replace(microsecond=0), "s")
    cr.execute("SELECT code, id, phone_code FROM res_country")
    countries = {code: (country_id, phone_code) for code, country_id, phone_code in cr.fetchall()}
    cr.execute("SELECT id, is_won FROM crm_stage ORDER BY sequence, id")
    stages = cr.fetchall()
    cr.execute("SELECT code, id FROM res_lang WHERE active")
    lang_ids = dict(cr.fetchall())
    return Catalog(
        now=now,
        company_id=fetch_ids(cr, "SELECT id FROM res_company ORDER BY id LIMIT 1")[0],
        admin_id=fetch_ids(cr, "SELECT id FROM res_users WHERE login = 'admin'")[0],
        open_stage_ids=np.array([sid for sid, is_won in stages if not is_won][:len(OPEN_STAGE_WEIGHTS)]),
        won_stage_id=next(sid for sid, is_won in stages if is_won),
        country_ids=np.array([countries[code][0] for code, *_ in COUNTRIES]),
        phone_codes=np.array([str(countries[code][1]) for code, *_ in COUNTRIES], dtype=object),
        lang_ids=lang_ids,
        source_ids=np.array([utm_id(cr, "utm_source", name) for name, *_ in SOURCES]),
        medium_ids=np.array([utm_id(cr, "utm_medium", name) for name, _ in MEDIUMS]),
        lost_reason_ids=np.array(fetch_ids(cr, "SELECT id FROM crm_lost_reason ORDER BY id")),
        tag_ids=np.array(fetch_ids(cr, "SELECT id FROM crm_tag WHERE name->>'en_US' = ANY(%s) ORDER BY id", TAGS)),
        teams=[load_team(cr, name, chinese) for name, chinese, _users in TEAMS],
    )


def fetch_ids(cr, query, *params):
    cr.execute(query, params)
    return [row[0] for row in cr.fetchall()]


def load_team(cr, name, chinese):
    team_id = fetch_ids(cr, "SELECT id FROM crm_team WHERE name->>'en_US' = %s ORDER BY id LIMIT 1", name)[0]
    user_ids = fetch_ids(cr, "SELECT user_id FROM crm_team_member WHERE crm_team_id = %s AND active "
                             "ORDER BY user_id", team_id)
    return team_id, np.array(user_ids), chinese


def utm_id(cr, table, name):
    """Id of a ``utm.source``/``utm.medium`` by name."""
    cr.execute(sql.SQL("SELECT id FROM {} WHERE name = %s ORDER BY id LIMIT 1").format(sql.Identifier(table)), [name])
    row = cr.fetchone()
    if row is None:
        raise RuntimeError(f"{table} {name!r} is missing: the fixtures create it")
    return row[0]


def weighted(rng, n, weights):
    weights = np.asarray(weights, dtype=np.float64)
    return rng.choice(len(weights), size=n, p=weights / weights.sum())


def pick(rng, options, n):
    """Draw ``n`` values uniformly from ``options`` (a list)."""
    return np.asarray(options, dtype=object)[rng.integers(0, len(options), n)]


def field(table, position, rows):
    """Column ``position`` of the tuples in ``table``, taken at the indexes ``rows``."""
    return np.array([row[position] for row in table], dtype=object)[rows]


def where(mask, when_true, when_false):
    return np.where(mask, np.asarray(when_true, dtype=object), np.asarray(when_false, dtype=object))


def concat(*parts):
    """Element-wise string concatenation of object arrays and scalars."""
    result = np.asarray(parts[0], dtype=object)
    for part in parts[1:]:
        result = result + np.asarray(part, dtype=object)
    return result


def days(values):
    """Float day counts as second-precision ``timedelta64``."""
    return (np.asarray(values) * 86_400).astype("timedelta64[s]")


def lower(values):
    return np.char.lower(values.astype(str)).astype(object)


def company_mail(domain_criterion):
    """True where the email is on a company domain (Odoo stores ``@domain`` for those)."""
    return np.char.startswith(domain_criterion.astype(str), "@")


class ChunkGenerator:
    """Draws the columns of one chunk of leads; every method works on whole arrays."""

    def __init__(self, catalog, rng, first_id, size):
        self.catalog = catalog
        self.rng = rng
        self.n = size
        self.ids = np.arange(first_id, first_id + size)
        self.country = weighted(rng, size, [c[1] for c in COUNTRIES])
        codes = np.array([c[0] for c in COUNTRIES])[self.country]
        singapore_chinese = (codes == "SG") & (rng.random(size) < 0.5)
        self.chinese = np.isin(codes, list(CHINESE_COUNTRIES)) | singapore_chinese

    def columns(self):
        """Return (dict column -> array or scalar, list of (lead_id, tag_id))."""
        rng, n, cat = self.rng, self.n, self.catalog
        cols = {"id": self.ids, "company_id": cat.company_id, "create_uid": cat.admin_id,
                "write_uid": cat.admin_id, "color": 0, "message_bounce": 0,
                "country_id": cat.country_ids[self.country]}
        cols["partner_name"], cols["contact_name"], domain, local = self._company_and_contact()
        cols.update(self._email(cols["partner_name"], domain, local))
        cols.update(self._phone())
        function, seniority = self._function()
        cols["function"] = function
        cols.update(self._assignment())
        source = weighted(rng, n, [s[1] for s in SOURCES])
        cols["source_id"] = np.where(rng.random(n) < 0.9, cat.source_ids[source], -1)
        medium = weighted(rng, n, [m[1] for m in MEDIUMS])
        cols["medium_id"] = np.where(rng.random(n) < 0.8, cat.medium_ids[medium], -1)
        cols["lang_id"] = np.where(self.chinese, cat.lang_ids["zh_CN"], cat.lang_ids["en_US"])
        cols["type"] = where(rng.random(n) < 0.6, "opportunity", "lead")
        cols["priority"] = PRIORITIES[weighted(rng, n, PRIORITY_WEIGHTS)]
        cols["expected_revenue"] = self._revenue(cols["type"])
        quality = (field(COUNTRIES, 4, self.country).astype(np.float64) + seniority
                   + field(SOURCES, 2, source).astype(np.float64)
                   + 0.3 * (cols["phone_state"] == "correct") + 0.3 * company_mail(cols["email_domain_criterion"])
                   + 0.15 * np.log10(1.0 + cols["expected_revenue"].astype(np.float64)) - 1.3
                   + rng.normal(0.0, 0.8, n))
        cols.update(self._outcome(quality, cols["type"], cols["expected_revenue"], cols["user_id"]))
        cols["name"] = concat(where(cols["partner_name"] == NULL, cols["contact_name"], cols["partner_name"]),
                              ": ", where(self.chinese, pick(rng, ZH_INTERESTS, n), pick(rng, EN_INTERESTS, n)))
        return cols, self._tags()

    def _company_and_contact(self):
        """Company names and their e-mail domains, contact names and their e-mail local parts."""
        rng, n = self.rng, self.n
        tlds = field(COUNTRIES, 2, self.country)
        word, kind = pick(rng, EN_COMPANY_WORDS, n), pick(rng, EN_COMPANY_KINDS, n)
        en_company = concat(word, " ", kind, " ", field(COUNTRIES, 3, self.country))
        en_domain = concat(lower(concat(word, kind)), tlds)
        brand = rng.integers(0, len(ZH_BRANDS), n)
        zh_company = concat(pick(rng, ZH_CITIES, n), field(ZH_BRANDS, 0, brand), pick(rng, ZH_INDUSTRIES, n),
                            "有限公司")
        zh_domain = concat(field(ZH_BRANDS, 1, brand), rng.integers(1, 999, n).astype(str).astype(object), tlds)
        family = rng.integers(0, len(ZH_FAMILY), n)
        given = rng.integers(0, len(ZH_GIVEN), n)
        zh_contact = concat(field(ZH_FAMILY, 0, family), field(ZH_GIVEN, 0, given))
        zh_local = concat(field(ZH_GIVEN, 1, given), ".", field(ZH_FAMILY, 1, family))
        first, last = pick(rng, EN_FIRST, n), pick(rng, EN_LAST, n)
        has_company = rng.random(n) < 0.9
        company = where(has_company, where(self.chinese, zh_company, en_company), NULL)
        contact = where(self.chinese, zh_contact, concat(first, " ", last))
        domain = where(has_company, where(self.chinese, zh_domain, en_domain), NULL)
        local = where(self.chinese, zh_local, lower(concat(first, ".", last)))
        return company, contact, domain, local

    def _email(self, partner_name, domain, local):
        rng, n = self.rng, self.n
        free = (partner_name == NULL) | (rng.random(n) < 0.2)
        free_domain = where(self.chinese, pick(rng, ZH_FREE_MAIL, n), pick(rng, EN_FREE_MAIL, n))
        email = concat(local, "@", where(free, free_domain, domain))
        has_email = rng.random(n) < 0.92
        return {
            "email_from": where(has_email, email, NULL),
            "email_normalized": where(has_email, email, NULL),
            "email_domain_criterion": where(has_email, where(free, email, concat("@", domain)), NULL),
            "email_state": where(has_email, "correct", NULL),
        }

    def _phone(self):
        rng, n = self.rng, self.n
        codes = self.catalog.phone_codes[self.country]
        number = rng.integers(100_000_000, 9_999_999_999, n).astype(str).astype(object)
        short = rng.integers(100, 99_999, n).astype(str).astype(object)  # what phone_parse rejects
        has_phone = rng.random(n) < 0.88
        valid = rng.random(n) < 0.95
        return {
            "phone": where(has_phone, where(valid, concat("+", codes, " ", number), short), NULL),
            "phone_sanitized": where(has_phone & valid, concat("+", codes, number), NULL),
            "phone_state": where(has_phone, where(valid, "correct", "incorrect"), NULL),
        }

    def _function(self):
        """Job positions (Chinese for most Chinese-speaking leads) and their seniority."""
        rng, n = self.rng, self.n
        en = weighted(rng, n, [f[1] for f in EN_FUNCTIONS])
        zh = weighted(rng, n, [f[1] for f in ZH_FUNCTIONS])
        use_zh = self.chinese & (rng.random(n) < 0.7)
        title = where(use_zh, field(ZH_FUNCTIONS, 0, zh), field(EN_FUNCTIONS, 0, en))
        seniority = np.where(use_zh, field(ZH_FUNCTIONS, 2, zh), field(EN_FUNCTIONS, 2, en)).astype(np.float64)
        has_title = rng.random(n) < 0.9
        return where(has_title, title, NULL), np.where(has_title, seniority, -0.2)

    def _assignment(self):
        """A team serving the lead's language, then one of its salespeople (8 % stay unassigned)."""
        rng, n, teams = self.rng, self.n, self.catalog.teams
        chinese_teams = [i for i, (*_, chinese) in enumerate(teams) if chinese]
        other_teams = [i for i, (*_, chinese) in enumerate(teams) if not chinese]
        team = np.where(self.chinese & (rng.random(n) < 0.8), pick(rng, chinese_teams, n),
                        pick(rng, other_teams, n)).astype(np.int64)
        user = np.full(n, -1)
        for index, (_team_id, user_ids, _chinese) in enumerate(teams):
            in_team = team == index
            user[in_team] = user_ids[rng.integers(0, len(user_ids), in_team.sum())]
        team_ids = np.array([team_id for team_id, *_ in teams])
        return {"team_id": team_ids[team], "user_id": np.where(rng.random(n) < 0.92, user, -1)}

    def _revenue(self, lead_type):
        rng, n = self.rng, self.n
        revenue = np.round(rng.lognormal(np.log(15_000), 1.3, n), -2)
        return np.where((lead_type == "lead") & (rng.random(n) < 0.5), 0.0, revenue)

    def _outcome(self, quality, lead_type, revenue, user_id):
        """Open, won or lost; stage, probability and every date that follows from it."""
        rng, n, cat = self.rng, self.n, self.catalog
        is_open = rng.random(n) < OPEN_SHARE
        won = ~is_open & (rng.random(n) < 1.0 / (1.0 + np.exp(-quality)))
        lost = ~is_open & ~won
        stage = weighted(rng, n, OPEN_STAGE_WEIGHTS)
        probability = np.clip(np.round(np.array(OPEN_STAGE_PROBABILITY)[stage] + rng.normal(0, 5, n), 2), 1, 99)
        probability = np.where(won, 100.0, np.where(lost, 0.0, probability))
        # open leads are recent, closed ones spread over the whole span
        age_days = np.where(is_open, np.minimum(rng.exponential(120, n), SPAN_DAYS), rng.uniform(30, SPAN_DAYS, n))
        create = cat.now - days(age_days)
        closed_after = np.minimum(rng.gamma(2.0, 20.0, n), age_days)
        date_closed = create + days(closed_after)
        last_update = np.where(is_open, create + days(rng.uniform(0, 1, n) * age_days), date_closed)
        open_after = rng.exponential(0.5, n)
        assigned = user_id != -1
        converted = (lead_type == "opportunity") & (rng.random(n) < 0.5)
        return {
            "type": where(won, "opportunity", lead_type),  # a won deal went through the pipeline
            "active": ~lost,
            "won_status": where(is_open, "pending", where(won, "won", "lost")),
            "stage_id": np.where(won, cat.won_stage_id, cat.open_stage_ids[stage]),
            "probability": probability,
            "automated_probability": probability,
            "prorated_revenue": np.round(revenue * probability / 100.0, 2),
            "create_date": create,
            "write_date": last_update,
            "date_last_stage_update": last_update,
            "date_open": np.where(assigned, create + days(open_after), np.datetime64("NaT")),
            "day_open": np.where(assigned, np.floor(open_after), np.nan),
            "date_closed": np.where(is_open, np.datetime64("NaT"), date_closed),
            "day_close": np.where(is_open, np.nan, np.floor(closed_after)),
            "date_conversion": np.where(converted, create + days(open_after), np.datetime64("NaT")),
            "lost_reason_id": np.where(lost & (rng.random(n) < 0.7),
                                       cat.lost_reason_ids[rng.integers(0, len(cat.lost_reason_ids), n)], -1),
        }

    def _tags(self):
        rng, n = self.rng, self.n
        count = weighted(rng, n, (0.45, 0.4, 0.15))
        first = rng.integers(0, len(self.catalog.tag_ids), n)
        second = (first + rng.integers(1, len(self.catalog.tag_ids), n)) % len(self.catalog.tag_ids)
        pairs = [(self.ids[count >= 1], self.catalog.tag_ids[first[count >= 1]]),
                 (self.ids[count == 2], self.catalog.tag_ids[second[count == 2]])]
        return np.concatenate([np.column_stack(pair) for pair in pairs])


def copy_text(values, n):
    """Render one column as PostgreSQL COPY text values (-1 ids, NaN and NaT become NULL)."""
    if np.isscalar(values):
        return [str(values)] * n
    kind = values.dtype.kind
    if kind in "OU":
        return values.tolist()
    if kind == "b":
        return np.where(values, "t", "f").tolist()
    if kind == "i":
        return np.where(values < 0, NULL, values.astype(str)).tolist()
    if kind == "f":
        return np.where(np.isnan(values), NULL, values.astype(str)).tolist()
    if kind == "M":
        return np.where(np.isnat(values), NULL, np.datetime_as_string(values, unit="s")).tolist()
    raise TypeError(f"cannot render {values.dtype} for COPY")


def copy_rows(cr, table, columns, rendered):
    """COPY already rendered columns (lists of strings of equal length) into ``table``."""
    if not rendered or not len(rendered[0]):
        return  # no row: an empty line would be read as one row of empty values
    buffer = io.StringIO("\n".join(map("\t".join, zip(*rendered, strict=True))) + "\n")
    columns = sql.SQL(", ").join(map(sql.Identifier, columns))
    cr.copy_expert(sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table), columns), buffer)


def optional_columns(cr):
    cr.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'crm_lead' "
               "AND column_name = ANY(%s)", [OPTIONAL_FALSE_COLUMNS])
    return [row[0] for row in cr.fetchall()]


def check_required_columns(cr, columns):
    """Fail clearly if a module made a column NOT NULL that the generator does not fill."""
    cr.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'crm_lead' "
               "AND is_nullable = 'NO' AND column_default IS NULL AND NOT column_name = ANY(%s)", [columns])
    missing = [row[0] for row in cr.fetchall()]
    if missing:
        raise RuntimeError(f"crm_lead columns NOT NULL without default, unknown to bench/leadgen.py: {missing}")


def drop_secondary_indexes(cr, table):
    """Drop every index but the primary key; return their definitions to rebuild them."""
    cr.execute("SELECT i.indexname, i.indexdef FROM pg_indexes i "
               "WHERE i.tablename = %s AND i.indexname NOT IN "
               "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)", [table, table])
    definitions = cr.fetchall()
    for name, _definition in definitions:
        cr.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    return [definition for _name, definition in definitions]


def generate_leads(conn, count, seed=42):
    """Insert ``count`` leads with ids 1..count into an empty ``crm_lead`` and commit."""
    started = time.monotonic()
    with conn.cursor() as cr:
        cr.execute("SELECT count(*) FROM crm_lead")
        if cr.fetchone()[0]:
            raise RuntimeError("crm_lead is not empty: the generator only fills a fresh database")
        catalog = load_catalog(cr)
        extra = optional_columns(cr)
        columns = LEAD_COLUMNS + extra
        check_required_columns(cr, columns)
        cr.execute("SET session_replication_role = replica")  # every id is valid by construction
        cr.execute("SET maintenance_work_mem = '512MB'")
        indexes = drop_secondary_indexes(cr, "crm_lead")
        rng = np.random.default_rng(seed)
        for first_id in range(1, count + 1, CHUNK_SIZE):
            size = min(CHUNK_SIZE, count + 1 - first_id)
            cols, tags = ChunkGenerator(catalog, rng, first_id, size).columns()
            rendered = [copy_text(cols[name], size) for name in LEAD_COLUMNS] + [["f"] * size for _ in extra]
            copy_rows(cr, "crm_lead", columns, rendered)
            copy_rows(cr, "crm_tag_rel", ["lead_id", "tag_id"], [copy_text(tags[:, 0], len(tags)),
                                                                copy_text(tags[:, 1], len(tags))])
            _logger.info("generated %d / %d leads (%.0f s)", first_id + size - 1, count, time.monotonic() - started)
        for definition in indexes:
            cr.execute(definition)
        _logger.info("rebuilt %d indexes of crm_lead (%.0f s)", len(indexes), time.monotonic() - started)
        cr.execute("SELECT setval('crm_lead_id_seq', %s)", [count])
        cr.execute("RESET session_replication_role")
    conn.commit()
    return len(indexes) + 1
