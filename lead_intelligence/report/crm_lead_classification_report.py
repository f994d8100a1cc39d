from odoo import fields, models
from odoo.fields import Domain
from odoo.tools import SQL

from ..models.classification.dimensions import DIMENSION_FIELDS, DIMENSIONS, SELECTION_DIMENSIONS

# the report's fields that are its lead's, by their names on the tier performance report's row of the lead
PER_LEAD_FIELDS = {
    'lead_id': 'lead_id', 'create_date': 'create_date', 'team_id': 'team_id', 'user_id': 'user_id',
    'tier_id': 'tier_id', 'company_id': 'company_id', 'lead_count': 'lead_count', 'won': 'won_count',
    'lost': 'lost_count', 'closed': 'closed_count', 'conversion_rate': 'conversion_rate', 'score': 'score',
}
# what the per-lead reading sums; every measure of the report is made of these
SUMS = ('lead_count:sum', 'won_count:sum', 'lost_count:sum', 'closed_count:sum', 'score:sum', 'score:count')
MEASURES = {
    '__count': lambda sums: sums[0],
    'lead_count:sum': lambda sums: sums[0],
    'won:sum': lambda sums: sums[1],
    'lost:sum': lambda sums: sums[2],
    'closed:sum': lambda sums: sums[3],
    'conversion_rate:avg': lambda sums: 100.0 * sums[1] / sums[3] if sums[3] else None,
    'score:avg': lambda sums: sums[4] / sums[5] if sums[5] else None,
}

# a row's id is its lead's times this, plus its row key (see _lead_rows_query): below 2 ** 53 for the
# web client, for leads below 2 ** 31 and classes below 2 ** 21 - 16
ROW_KEYS = 2 ** 21


def _add_sums(groups, key, sums):
    """Add ``sums`` to the totals of ``key`` in ``groups``."""
    totals = groups.setdefault(key, [0] * len(SUMS))
    for index, total in enumerate(sums):
        totals[index] += total or 0


class CrmLeadClassificationReport(models.Model):
    """Classification statistics: one row per lead and dimension (one per class for the classes,
    one with an empty value when the lead has none), with the lead's outcome and score. Values are
    shown by their labels in the user's language. The leads are those of the tier performance
    report: open, won and lost (archived leads that are not lost are left out).

    A lead has a row in every dimension, so figures that are not split by dimension or value (the
    total row, a group by tier or team alone) are taken over the leads instead: each lead with a
    row matching the filters counts once (``_read_group``, ``_read_grouping_sets``). Split by
    dimension, a lead counts once per value it has (once per class for the classes).
    """

    _name = 'crm.lead.classification.report'
    _description = 'Lead Classification Statistics'
    _auto = False
    _rec_name = 'value'
    _order = 'dimension, value'
    _depends = {
        'crm.lead': ['active', 'won_status', 'create_date', 'team_id', 'user_id', 'tier_id', 'company_id',
                     'score_line_id', 'industry_id', 'class_ids', *SELECTION_DIMENSIONS],
        'crm.lead.score': ['score'],
        'res.partner.industry': ['name'],
        'crm.lead.class': ['complete_name'],
    }

    lead_id = fields.Many2one('crm.lead', readonly=True)
    dimension = fields.Selection(DIMENSIONS, readonly=True)
    value = fields.Char(
        readonly=True,
        help="The value's label in your language, the industry's name, or the class's full name; empty: no value.")
    create_date = fields.Datetime('Created On', readonly=True)
    team_id = fields.Many2one('crm.team', 'Sales Team', readonly=True)
    user_id = fields.Many2one('res.users', 'Salesperson', readonly=True)
    tier_id = fields.Many2one('crm.lead.tier', readonly=True)
    company_id = fields.Many2one('res.company', readonly=True)
    lead_count = fields.Integer(
        '# Leads', readonly=True, aggregator='sum',
        help="Leads with this value; a lead with several classes counts once per class. Not split by "
             "dimension (the total), each lead counts once.")
    won = fields.Integer(
        '# Won', readonly=True, aggregator='sum',
        help="Won leads. Conversion rate = # Won / # Closed (won + lost).")
    lost = fields.Integer('# Lost', readonly=True, aggregator='sum')
    closed = fields.Integer(
        '# Closed', readonly=True, aggregator='sum',
        help="Won or lost leads. Conversion rate = # Won / # Closed.")
    conversion_rate = fields.Float(
        'Conversion %', readonly=True, aggregator='avg', digits=(16, 1),
        help="Won leads out of the closed (won or lost) ones, in percent.")
    score = fields.Float('Average Score', readonly=True, aggregator='avg', digits=(16, 1))

    @property
    def _table_query(self):
        labels = [
            SQL('(%s, %s, %s)', dimension, key, label)
            for dimension in SELECTION_DIMENSIONS
            for key, label in self.env['crm.lead']._fields[dimension]._description_selection(self.env)
        ]
        return SQL(
            """SELECT rows.lead_id::bigint * %s + rows.row_key AS id, rows.lead_id, rows.dimension,
                      COALESCE(labels.label, rows.value) AS value, rows.create_date, rows.team_id, rows.user_id,
                      rows.tier_id, rows.company_id, rows.lead_count, rows.won, rows.lost, rows.closed,
                      CASE WHEN rows.won = 1 THEN 100.0 WHEN rows.lost = 1 THEN 0.0 END AS conversion_rate,
                      rows.score
                 FROM (%s) AS rows
                 LEFT JOIN (VALUES %s) AS labels(dimension, key, label)
                        ON labels.dimension = rows.dimension AND labels.key = rows.value""",
            ROW_KEYS, self._lead_rows_query(SQL("lead.active OR lead.won_status = 'lost'")), SQL(', ').join(labels))

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    def _read_group(self, domain, groupby=(), aggregates=(), having=(), offset=0, limit=None, order=None):
        if not having:
            groups = self._read_per_lead(domain, [groupby], aggregates, order)
            if groups is not None:
                return groups[0][offset:None if limit is None else offset + limit]
        if not self._splits_by_value(groupby):
            domain = self._per_lead_domain(domain)
        return super()._read_group(domain, groupby, aggregates, having, offset, limit, order)

    def _read_grouping_sets(self, domain, grouping_sets, aggregates=(), order=None):
        sets = self._read_per_lead(domain, grouping_sets, aggregates, order)
        if sets is not None:
            return sets
        by_value = [index for index, groupby in enumerate(grouping_sets) if self._splits_by_value(groupby)]
        per_lead = [index for index in range(len(grouping_sets)) if index not in by_value]
        if not per_lead:
            return super()._read_grouping_sets(domain, grouping_sets, aggregates, order)
        result = [None] * len(grouping_sets)
        all_specs = {spec for groupby in grouping_sets for spec in groupby}
        for indexes, sets_domain in ((by_value, domain), (per_lead, self._per_lead_domain(domain))):
            if indexes:
                sub_sets = [grouping_sets[index] for index in indexes]
                # an order term on a grouping of the other call only is left out
                left_out = all_specs - {spec for groupby in sub_sets for spec in groupby}
                sub_order = ','.join(term for term in (order or '').split(',')
                                     if term.strip() and term.split()[0] not in left_out)
                sets = super()._read_grouping_sets(sets_domain, sub_sets, aggregates, sub_order or None)
                for index, groups in zip(indexes, sets, strict=True):
                    result[index] = groups
        return result

    def _read_per_lead(self, domain, grouping_sets, aggregates, order):
        """The groups of ``grouping_sets`` read from the leads' rows of the tier performance report,
        in the form of :meth:`_read_grouping_sets`; None when the reading filters, groups, sums or
        sorts on something that is not the lead's own (a dimension or value in the domain, a
        measure in ``order``), which the report's rows answer instead.

        The tier report's leads are read grouped by every field of the lead the groupings name and
        by every dimension's field at once (a row per combination met, a few hundred on a million
        leads: PostgreSQL aggregates it in parallel, where grouping sets run in one process), and
        by the classes apart (a lead repeats once per class). Each grouping adds these rows up:
        along each dimension for a grouping by dimension, over everything else for the others.
        Each group's measures are made of the sums in :data:`SUMS` (a value's label met twice, or
        a dimension without value: added up).
        """
        specs = {spec for groupby in grouping_sets for spec in groupby}
        names = {spec.split(':')[0].split('.')[0] for spec in specs}
        if not names <= {'dimension', 'value', *PER_LEAD_FIELDS} or any(
                'value' in groupby and 'dimension' not in groupby for groupby in grouping_sets):
            return None
        if any(aggregate not in MEASURES for aggregate in aggregates):
            return None
        sort_terms = [term.split() for term in (order or '').split(',') if term.strip()]
        if any(len(term) > 2 or term[0] not in specs for term in sort_terms):
            return None
        tier_domain = self._tier_report_domain(Domain(domain) & self.env['ir.rule']._compute_domain(self._name))
        if tier_domain is None:
            return None
        self.browse().check_access('read')

        def lead_spec(spec):
            name, _sep, rest = spec.partition(':')
            field = name.split('.')[0]
            return PER_LEAD_FIELDS[field] + name[len(field):] + _sep + rest

        # every grouping of the leads' own fields, with each dimension's field: one GROUP BY, which
        # PostgreSQL runs in parallel, returning a row per combination met; the classes, which repeat
        # a lead per class, in one of their own
        own_specs = list(dict.fromkeys(spec for groupby in grouping_sets for spec in groupby
                                       if spec not in ('dimension', 'value')))
        Tier = self.env['crm.lead.tier.report']
        dimension_fields = [field for dimension, field in DIMENSION_FIELDS.items() if dimension != 'class']
        combinations = Tier._read_group(tier_domain, [*map(lead_spec, own_specs), *dimension_fields], SUMS)
        by_class = Tier._read_group(tier_domain, [*map(lead_spec, own_specs), 'class_ids'], SUMS) if any(
            'dimension' in groupby for groupby in grouping_sets) else []
        own_count = len(own_specs)

        labels = self._value_labels()
        result = []
        for groupby in grouping_sets:
            positions = [own_specs.index(spec) for spec in groupby if spec not in ('dimension', 'value')]
            groups = {}
            for row in combinations:
                sums = row[own_count + len(dimension_fields):]
                if 'dimension' not in groupby:
                    _add_sums(groups, self._group_key(groupby, row, positions, None, None), sums)
                    continue
                for offset, dimension in enumerate(dimension for dimension in DIMENSION_FIELDS if dimension != 'class'):
                    value = labels(dimension, row[own_count + offset])
                    _add_sums(groups, self._group_key(groupby, row, positions, dimension, value), sums)
            if 'dimension' in groupby:
                for row in by_class:
                    value = labels('class', row[own_count])
                    _add_sums(groups, self._group_key(groupby, row, positions, 'class', value), row[own_count + 1:])
            if not groupby and not groups:  # the total of no lead, as PostgreSQL gives it
                groups[()] = [0] * len(SUMS)
            rows = [(*key, *(MEASURES[aggregate](sums) for aggregate in aggregates))
                    for key, sums in groups.items()]
            result.append(self._sorted_groups(rows, groupby, sort_terms))
        return result

    def _group_key(self, groupby, row, positions, dimension, value):
        """The key in ``groupby`` of ``row``, whose lead's own groupings are at ``positions``."""
        own = iter(positions)
        return tuple(dimension if spec == 'dimension' else value if spec == 'value' else row[next(own)]
                     for spec in groupby)

    def _tier_report_domain(self, domain):
        """``domain`` on the tier performance report's fields, or None when it names a dimension, a
        value or anything else a lead's row there does not hold."""
        unknown = []

        def rename(condition):
            name, _sep, path = condition.field_expr.partition('.')
            if name not in PER_LEAD_FIELDS:
                unknown.append(name)
                return condition
            return Domain('.'.join(filter(None, [PER_LEAD_FIELDS[name], path])), condition.operator, condition.value)

        try:
            renamed = domain.map_conditions(rename)
        except (AttributeError, TypeError):  # a custom condition (see _per_lead_domain) has no field
            return None
        return None if unknown else renamed

    def _value_labels(self):
        """A function (dimension, value read on the tier report) -> the value as this report shows it:
        the label in the user's language, the industry's name, the class's full name, False for none."""
        selections = {
            dimension: dict(self.env['crm.lead']._fields[dimension]._description_selection(self.env))
            for dimension in SELECTION_DIMENSIONS
        }

        def label(dimension, value):
            if not value:
                return False
            if dimension in selections:
                return selections[dimension].get(value, value)
            return value.complete_name if dimension == 'class' else value.name

        return label

    def _sorted_groups(self, rows, groupby, sort_terms):
        """``rows`` of ``groupby`` in the order the report's query gives: by ``sort_terms`` (those of
        ``groupby``), then by its other groupings in turn, values in ascending order and empty last,
        records in their model's order."""
        terms = [term for term in sort_terms if term[0] in groupby]
        terms += [[spec] for spec in groupby if spec not in {term[0] for term in terms}]
        for term in reversed(terms):
            position = list(groupby).index(term[0])
            values = {row[position] for row in rows}
            records = [value for value in values if isinstance(value, models.BaseModel)]
            if records:
                ranked = {record.id: rank for rank, record in enumerate(
                    records[0].browse(set().union(*(record.ids for record in records))).sorted())}

                def key(row, position=position, ranked=ranked):
                    return (not row[position], ranked.get(row[position].id, 0) if row[position] else 0)
            else:
                def key(row, position=position):
                    return (row[position] in (False, None), row[position] or '')
            rows = sorted(rows, key=key, reverse=len(term) > 1 and term[1].lower() == 'desc')
        return rows

    # ------------------------------------------------------------
    # TOOLS
    # ------------------------------------------------------------

    def _splits_by_value(self, groupby):
        """Whether the groups of ``groupby`` are split by dimension or value."""
        return any(spec.split(':')[0].split('.')[0] in ('dimension', 'value') for spec in groupby)

    def _per_lead_domain(self, domain):
        """The rows of ``domain``, one per lead: the industry row (every lead has one) of each lead with
        a row matching ``domain``. Without a condition on the dimension or value, these are simply the
        industry rows matching it: the other columns are the lead's, the same on all its rows."""
        domain = Domain(domain)
        industry_rows = Domain('dimension', '=', 'industry')
        if not any(condition.field_expr.split('.')[0] in ('dimension', 'value')
                   for condition in domain.iter_conditions()):
            return domain & industry_rows
        lead_ids = self._search(domain).subselect(SQL.identifier(self._table, 'lead_id'))
        return industry_rows & Domain.custom(
            to_sql=lambda _model, alias, _query: SQL('%s IN %s', SQL.identifier(alias, 'lead_id'), lead_ids))

    def _lead_rows_query(self, where):
        """Rows (lead_id, row_key, dimension, value, create_date, team_id, user_id, tier_id, company_id,
        lead_count, won, lost, closed, score) of the leads matching ``where`` (on ``lead``).

        ``row_key`` tells a lead's rows apart: 0 for the industry, 1 to 6 for the selections, 16 plus
        the class's id (16 without a class) for the classes. The industry rows come from a branch of
        their own, so that PostgreSQL reads only that branch for the figures taken one row per lead
        (the branches' columns are of one type: a cast above them would keep the filter out).
        """
        lang = self.env.lang or 'en_US'
        common = SQL(
            """lead.id AS lead_id, d.row_key, d.dimension, d.value, lead.create_date, lead.team_id, lead.user_id,
               lead.tier_id, lead.company_id, 1 AS lead_count,
               CASE WHEN lead.won_status = 'won' THEN 1 ELSE 0 END AS won,
               CASE WHEN lead.won_status = 'lost' THEN 1 ELSE 0 END AS lost,
               CASE WHEN lead.won_status IN ('won', 'lost') THEN 1 ELSE 0 END AS closed,
               score.score::float AS score""")
        values = SQL(', ').join(
            SQL('(%s, %s::varchar, lead.%s::varchar)', position, dimension, SQL.identifier(dimension))
            for position, dimension in enumerate(SELECTION_DIMENSIONS, start=1))
        return SQL(
            """SELECT %(common)s
                 FROM crm_lead lead
                 LEFT JOIN crm_lead_score score ON score.id = lead.score_line_id
                 LEFT JOIN res_partner_industry industry ON industry.id = lead.industry_id
                CROSS JOIN LATERAL (
                       SELECT 0 AS row_key, 'industry'::varchar AS dimension,
                              COALESCE(industry.name->>%(lang)s, industry.name->>'en_US')::varchar AS value) AS d
                WHERE %(where)s
               UNION ALL
               SELECT %(common)s
                 FROM crm_lead lead
                 LEFT JOIN crm_lead_score score ON score.id = lead.score_line_id
                CROSS JOIN LATERAL (VALUES %(values)s) AS d(row_key, dimension, value)
                WHERE %(where)s
               UNION ALL
               SELECT %(common)s
                 FROM crm_lead lead
                 LEFT JOIN crm_lead_score score ON score.id = lead.score_line_id
                 LEFT JOIN crm_lead_class_rel rel ON rel.lead_id = lead.id
                 LEFT JOIN crm_lead_class lead_class ON lead_class.id = rel.class_id
                CROSS JOIN LATERAL (SELECT 16 + COALESCE(rel.class_id, 0) AS row_key, 'class'::varchar AS dimension,
                                           lead_class.complete_name::varchar AS value) AS d
                WHERE %(where)s""",
            common=common, values=values, where=where, lang=lang)
