"""The profile-fit rules the ``rescore`` scenario scores leads with.

Realistic admin rules over the columns the lead generator fills. The first two
are the levers the scenario pulls: ``BASE_RULE`` matches every lead (moving its
points moves every score), ``PRIORITY_RULE`` matches the high-priority leads
(flipping the priority of a few leads moves only their scores). Points are
chosen so that sums stay inside the default 0-100 fit mapping for nearly every
lead: a lead pinned at 0 or 100 could not change when the base rule moves.
"""

import ast

BASE_RULE = "Bench: every lead"
BASE_POINTS = (30, 36)  # alternated between runs so that every open lead's score changes
PRIORITY_RULE = "High priority"

RULES = [
    # (name, domain, points)
    (BASE_RULE, "[('type', 'in', ['lead', 'opportunity'])]", BASE_POINTS[0]),
    (PRIORITY_RULE, "[('priority', 'in', ['2', '3'])]", 10),
    ("Core market", "[('country_id.code', 'in', ['US', 'DE', 'GB', 'FR', 'NL'])]", 8),
    ("Greater China", "[('country_id.code', 'in', ['CN', 'HK', 'TW', 'SG'])]", 7),
    ("Growth market", "[('country_id.code', 'in', ['IN', 'BR', 'MX', 'ZA', 'AE'])]", 3),
    ("Hard-to-serve market", "[('country_id.code', 'in', ['KR', 'JP'])]", -4),
    ("Deal over 500k", "[('expected_revenue', '>=', 500000)]", 12),
    ("Deal 100k-500k", "[('expected_revenue', '>=', 100000), ('expected_revenue', '<', 500000)]", 8),
    ("Deal 20k-100k", "[('expected_revenue', '>=', 20000), ('expected_revenue', '<', 100000)]", 4),
    ("Deal under 2k", "[('expected_revenue', '<', 2000)]", -8),
    (
        "Decision maker",
        "['|', '|', '|', '|', ('function', 'ilike', 'CEO'), ('function', 'ilike', 'founder'), "
        "('function', 'ilike', 'owner'), ('function', 'ilike', '总经理'), ('function', 'ilike', '董事长')]",
        10,
    ),
    (
        "Technical lead",
        "['|', '|', ('function', '=ilike', 'CTO'), ('function', 'ilike', '技术'), ('function', '=ilike', 'IT %')]",
        6,
    ),
    (
        "Procurement",
        "['|', '|', ('function', 'ilike', 'procurement'), ('function', 'ilike', 'purchasing'), "
        "('function', 'ilike', '采购')]",
        8,
    ),
    ("Junior contact", "['|', ('function', 'ilike', 'intern'), ('function', 'ilike', '实习')]", -10),
    ("No job position", "[('function', '=', False)]", -3),
    ("Came from LinkedIn", "[('source_id.name', '=', 'LinkedIn')]", 5),
    ("Referred or met at a show", "[('source_id.name', 'in', ['Referral', 'Trade show'])]", 6),
    ("Came from search ads", "[('source_id.name', '=', 'Google Ads')]", 3),
    ("Cold outreach", "[('source_id.name', 'in', ['Banner', 'Cold call'])]", -3),
    ("Called in", "[('medium_id.name', '=', 'Phone')]", 2),
    ("Enterprise team", "[('team_id.name', '=', 'Enterprise Sales')]", 4),
    ("Likely to close", "[('probability', '>=', 50)]", 6),
    ("Unlikely to close", "[('probability', '<', 15)]", -4),
    (
        "Free mailbox",
        "['|', '|', '|', ('email_from', 'ilike', '@gmail.'), ('email_from', 'ilike', '@qq.com'), "
        "('email_from', 'ilike', '@163.com'), ('email_from', 'ilike', '@outlook.')]",
        -5,
    ),
    ("No email", "[('email_from', '=', False)]", -6),
    ("Reachable by phone", "[('phone', '!=', False)]", 3),
    ("Invalid phone", "[('phone_state', '=', 'incorrect')]", -3),
    ("Company known", "[('partner_name', '!=', False)]", 3),
    ("Qualified opportunity", "[('type', '=', 'opportunity')]", 5),
    ("Chinese speaker", "[('lang_id.code', '=', 'zh_CN')]", 1),
    ("Unassigned", "[('user_id', '=', False)]", -2),
]


def bench_rules(count):
    """The first ``count`` rules (the two levers always come first)."""
    if not 2 <= count <= len(RULES):
        raise ValueError(f"--rules must be between 2 and {len(RULES)}, not {count}")
    return RULES[:count]


def rule_columns(rules):
    """The ``crm_lead`` columns the domains of ``rules`` read (first field of each leaf's path)."""
    columns = set()
    for _name, domain, _points in rules:
        for leaf in ast.literal_eval(domain):
            if isinstance(leaf, tuple):
                columns.add(leaf[0].split(".")[0])
    return sorted(columns)
