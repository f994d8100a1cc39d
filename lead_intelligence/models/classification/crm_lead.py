from collections import namedtuple

import numpy as np

from odoo import api, fields, models
from odoo.tools import SQL

from ...engine import arrays, classification
from ...engine.stages import TrackingCells
from .. import bulk, lead_fields
from .crm_lead_classification import (
    COMPANY_SIZES,
    DIMENSION_FIELDS,
    INTENT_LEVELS,
    JOB_LEVELS,
    LIFECYCLE_STAGES,
    SALES_STAGE_CLASSES,
    SELECTION_DIMENSIONS,
    SOURCE_TYPES,
)

# the single-valued dimensions, in the order of the engine's value matrix
VALUE_DIMENSIONS = ['industry', *SELECTION_DIMENSIONS]
MANUAL_FIELDS = {dimension: f'{dimension}_manual' for dimension in [*VALUE_DIMENSIONS, 'class']}
# the dimensions of the history, in the order of ChangedCells.dimensions
HISTORY_DIMENSIONS = [*VALUE_DIMENSIONS, 'class']
# changed values as columns: lead ids, dimension indexes (HISTORY_DIMENSIONS), old and new values
# (industry ids or selection indexes, classification.NO_VALUE for none or for classes), old and new
# labels as codes into ``labels`` (1-based, 0 for none: see engine.arrays)
ChangedCells = namedtuple('ChangedCells', 'lead_ids dimensions old_values new_values old_codes new_codes labels')
# stored lead fields a rule cannot rely on between two writes of the lead: the ones declared
# unstable (lead_fields), and the dimensions the rules themselves set
UNSTABLE_FIELDS = lead_fields.UNSTABLE_FIELDS | frozenset(DIMENSION_FIELDS.values())


class CrmLead(models.Model):
    _inherit = 'crm.lead'

    industry_id = fields.Many2one('res.partner.industry', tracking=True, index='btree_not_null')
    employee_count = fields.Integer('Employees', help="Headcount of the lead's company: sets its size.")
    annual_revenue = fields.Monetary(
        currency_field='company_currency', help="The company's yearly turnover: sets its size.")
    company_size = fields.Selection(COMPANY_SIZES, tracking=True)
    job_level = fields.Selection(JOB_LEVELS, tracking=True, help="From the job position, by the classification rules.")
    source_type = fields.Selection(SOURCE_TYPES, tracking=True)
    sales_stage_class = fields.Selection(SALES_STAGE_CLASSES, tracking=True)
    intent_level = fields.Selection(INTENT_LEVELS, tracking=True)
    lifecycle_stage = fields.Selection(LIFECYCLE_STAGES, tracking=True)
    class_ids = fields.Many2many('crm.lead.class', 'crm_lead_class_rel', 'lead_id', 'class_id', 'Classes')
    # a value a user set is kept until the user clears it: the rules do not overwrite it
    industry_manual = fields.Boolean('Industry Set by Hand', copy=False)
    company_size_manual = fields.Boolean('Company Size Set by Hand', copy=False)
    job_level_manual = fields.Boolean('Job Level Set by Hand', copy=False)
    source_type_manual = fields.Boolean('Source Type Set by Hand', copy=False)
    sales_stage_class_manual = fields.Boolean('Sales Stage Class Set by Hand', copy=False)
    intent_level_manual = fields.Boolean('Intent Level Set by Hand', copy=False)
    lifecycle_stage_manual = fields.Boolean('Lifecycle Stage Set by Hand', copy=False)
    class_manual = fields.Boolean('Classes Set by Hand', copy=False)
    classification_history_ids = fields.One2many('crm.lead.classification.history', 'lead_id')

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    def write(self, vals):
        """A dimension a user sets is theirs: flagged manual (cleared: back to the rules) and in the history."""
        # the rules write by SQL: every write through here is a user's (or an import's, or code's)
        manual = {
            MANUAL_FIELDS[dimension]: bool(self._fields[field].convert_to_cache(vals[field], self))
            for dimension, field in DIMENSION_FIELDS.items() if field in vals
        }
        if manual:
            old = {lead.id: lead._classification_labels() for lead in self}
            vals = dict(vals, **manual)
        res = super().write(vals)
        if manual:
            cause = 'import' if self.env.context.get('import_file') else 'user'
            rows = [
                (lead.id, dimension, old[lead.id][dimension], new)
                for lead in self for dimension, new in lead._classification_labels().items()
                if MANUAL_FIELDS[dimension] in manual and old[lead.id][dimension] != new
            ]
            self._log_classification_history(self._cells_from_rows(rows), cause, self.env.cr.now(), self.env.uid)
        return res

    @api.model_create_multi
    def create(self, vals_list):
        """A dimension given at creation (by a user, an import, code) is kept like one set by hand."""
        for vals in vals_list:
            for dimension, field in DIMENSION_FIELDS.items():
                if vals.get(field) and MANUAL_FIELDS[dimension] not in vals:
                    vals[MANUAL_FIELDS[dimension]] = True
        return super().create(vals_list)

    def _classification_labels(self):
        """Display value of each dimension of the lead (empty string when none)."""
        self.ensure_one()
        labels = {'industry': self.industry_id.display_name or '',
                  'class': ', '.join(sorted(self.class_ids.mapped('display_name')))}
        for dimension in SELECTION_DIMENSIONS:
            labels[dimension] = dict(self._fields[dimension]._description_selection(self.env)).get(self[dimension], '')
        return labels

    # ------------------------------------------------------------
    # CLASSIFICATION
    # ------------------------------------------------------------

    @api.model
    def _is_classification_stable_field(self, name, _seen=None):
        """Whether the lead field ``name`` changes only when the lead is written
        (which flags it dirty) or created (born dirty).

        A stored field qualifies unless a pass or a job writes it behind the ORM
        (:data:`UNSTABLE_FIELDS`); a computed one only if it depends on stable
        fields of the lead itself (Odoo recomputes it when another record
        changes otherwise, without a write of the lead). One2many contents and
        context-dependent fields never qualify.
        """
        field = self._fields.get(name)
        if field is None or not field.store or name in UNSTABLE_FIELDS or field.type == 'one2many':
            return False
        if not field.compute:
            return True
        seen = (_seen or set()) | {name}
        depends, depends_context = field.get_depends(self)
        return not depends_context and all(
            '.' not in dependency and (dependency in seen or self._is_classification_stable_field(dependency, seen))
            for dependency in depends)

    @api.model
    def _get_classification_rules(self):
        # sudo: classification runs for any user who edits a lead, over every active rule
        Rule = self.env['crm.lead.classification.rule'].sudo()
        return Rule.search([('error_message', '=', False)], order='dimension, sequence, id')._filter_runnable()

    def _classify_query(self, query, cause):
        """Classify the leads of ``query``: one query to read them with every rule matched,
        the first match per dimension in the engine, and one UPDATE of the leads whose
        classes changed (a user's values kept), with their history and chatter.

        The nightly pass re-matches a dimension whose rules are all stable
        (``crm.lead.classification.rule._is_stable``: they read only fields that
        change when the lead is written) on the leads flagged dirty only: on the
        others, nothing those rules read has changed since they were last
        classified. Every other pass (a lead edited, new behaviour, a rule or a
        setting changed) matches every rule on every lead of the chunk.

        :return: number of leads whose classification changed
        """
        rules = self._get_classification_rules()
        value_rules = rules.filtered(lambda rule: rule.dimension != 'class')
        class_rules = rules.filtered(lambda rule: rule.dimension == 'class')
        ordered = value_rules + class_rules
        stable_dimensions = set()
        if cause == 'nightly':
            unstable = {rule.dimension for rule in ordered if not rule._is_stable()}
            stable_dimensions = {rule.dimension for rule in ordered} - unstable
            if 'company_size' not in unstable:  # measured from headcount and revenue where no rule matches
                stable_dimensions.add('company_size')
        guarded = [index for index, rule in enumerate(ordered) if rule.dimension in stable_dimensions]
        positions = [
            SQL('COALESCE(array_position(%s::varchar[], crm_lead.%s::varchar), 0) - 1',
                [key for key, _label in values], SQL.identifier(dimension))
            for dimension, values in SELECTION_DIMENSIONS.items()
        ]
        # a rule that fails in the database is set aside there and matches no lead
        data, matches = ordered._read_matches(query, [
            SQL('crm_lead.id'),
            SQL('COALESCE(crm_lead.industry_id, -1)'),
            *positions,
            *[SQL('crm_lead.%s IS TRUE', SQL.identifier(field)) for field in MANUAL_FIELDS.values()],
            SQL('crm_lead.score_dirty IS TRUE'),
            SQL('COALESCE(crm_lead.employee_count, 0)'),
            SQL('COALESCE(crm_lead.annual_revenue, 0)::bigint'),
        ], SQL('%s IS TRUE', SQL.identifier(query.table, 'score_dirty')), guarded)
        if not len(data):
            return 0
        n_values, n_manual = len(VALUE_DIMENSIONS), len(MANUAL_FIELDS)
        ids = data[:, 0]
        old = data[:, 1:1 + n_values]
        manual = data[:, 1 + n_values:1 + n_values + n_manual].astype(bool)
        # leads whose stable dimensions keep their values: treated like values set by hand
        kept = ~data[:, 1 + n_values + n_manual].astype(bool)
        employees, revenue = data[:, -2], data[:, -1]

        dimension_index = {dimension: index for index, dimension in enumerate(VALUE_DIMENSIONS)}
        rule_dimension = [dimension_index[rule.dimension] for rule in value_rules]
        rule_value = [
            rule.industry_id.id if rule.dimension == 'industry' else
            [key for key, _label in SELECTION_DIMENSIONS[rule.dimension]].index(rule._get_value_key())
            for rule in value_rules
        ]
        new = classification.first_match_values(matches[:, :len(value_rules)], rule_dimension, rule_value, n_values)
        size = dimension_index['company_size']
        settings = self.env['res.config.settings']._get_lead_intelligence_settings()
        by_measure = classification.company_size(
            employees, revenue, (settings['size_employees_medium'], settings['size_employees_large']),
            (settings['size_revenue_medium'], settings['size_revenue_large']))
        unset = new[:, size] == classification.NO_VALUE
        new[unset, size] = by_measure[unset]
        # a dimension no rule sets (industry, by default) is left as it is
        ruled = set(rule_dimension) | {size}
        for dimension in set(range(n_values)) - ruled:
            new[:, dimension] = old[:, dimension]
        frozen = manual[:, :n_values].copy()
        for dimension in stable_dimensions - {'class'}:
            frozen[:, dimension_index[dimension]] |= kept
        changed = classification.changed_values(old, new, frozen)
        final = np.where(changed, new, old)
        now = self.env.cr.now()
        history = []
        moved = changed.any(axis=1)
        if moved.any():
            self._write_classification(ids[moved], final[moved])
            changes = self._classification_changes(ids, old, final, changed)
            self._log_classification_tracking(changes, now)
            history.append(changes)
        class_frozen = manual[:, -1] | kept if 'class' in stable_dimensions else manual[:, -1]
        class_changes = self._classify_classes(ids, matches[:, len(value_rules):], class_rules, class_frozen)
        if class_changes:
            history.append(self._cells_from_rows(class_changes))
        matched = np.flatnonzero(matches.any(axis=0))
        if len(matched):
            self.env.execute_query(SQL(
                """UPDATE crm_lead_classification_rule SET last_match_date = %s
                    WHERE id = ANY(%s) AND (last_match_date IS NULL OR last_match_date < %s::date)""",
                now, [ordered[index].id for index in matched.tolist()], now))
        if history:
            history_cause = 'event' if cause == 'event' else 'rule'
            self._log_classification_history(self._concat_cells(*history), history_cause, now, None)
        self.invalidate_model([*DIMENSION_FIELDS.values(), 'classification_history_ids'])
        return int(moved.sum()) + len({row[0] for row in class_changes})

    def _write_classification(self, ids, values):
        """One UPDATE for every lead whose classification changed; ``values``: (n, d) value indexes.

        It clears the leads' dirty flag too: they are scored next, in the same
        transaction (see ``_score_query``), which then need not rewrite their
        rows a second time for the flag alone.
        """
        columns = {dimension: values[:, index] for index, dimension in enumerate(VALUE_DIMENSIONS)}
        self.env.execute_query(SQL(
            """UPDATE crm_lead SET score_dirty = FALSE, industry_id = NULLIF(v.industry, -1)%(sets)s
                 FROM unnest(%(ids)s::int[], %(industry)s::int[]%(arrays)s) AS v(id, industry%(aliases)s)
                WHERE crm_lead.id = v.id""",
            ids=arrays.int_array_literal(ids), industry=arrays.int_array_literal(columns['industry']),
            sets=SQL('').join(
                SQL(', %s = (%s::varchar[])[v.%s + 1]', SQL.identifier(dimension),
                    [key for key, _label in values_], SQL.identifier(dimension))
                for dimension, values_ in SELECTION_DIMENSIONS.items()),
            arrays=SQL('').join(SQL(', %s::int[]', arrays.int_array_literal(columns[dimension]))
                                for dimension in SELECTION_DIMENSIONS),
            aliases=SQL('').join(SQL(', %s', SQL.identifier(dimension)) for dimension in SELECTION_DIMENSIONS),
        ))

    def _classification_changes(self, ids, old, new, changed):
        """The changed cells of the (leads x value dimensions) matrices, as columns (``ChangedCells``)."""
        lead_index, dimensions = np.nonzero(changed)
        old_values, new_values = old[lead_index, dimensions], new[lead_index, dimensions]
        industry = dimensions == 0
        industry_ids = np.unique(np.concatenate([old_values[industry], new_values[industry]]))
        industry_ids = industry_ids[industry_ids != classification.NO_VALUE]
        # sudo: the history names the industries, whoever triggered the classification
        industries = self.env['res.partner.industry'].sudo().browse(industry_ids.tolist())
        keys, labels = [industry_ids], [industry.display_name for industry in industries]
        for dimension, values in SELECTION_DIMENSIONS.items():
            names = dict(self._fields[dimension]._description_selection(self.env))
            keys.append(np.arange(len(values)))
            labels += [names[key] for key, _label in values]
        return ChangedCells(
            ids[lead_index], dimensions, old_values, new_values,
            classification.cell_codes(dimensions, old_values, keys),
            classification.cell_codes(dimensions, new_values, keys), labels)

    @api.model
    def _cells_from_rows(self, rows):
        """``ChangedCells`` of rows (lead id, dimension, old label, new label), as users' edits give them."""
        labels, (old_codes, new_codes) = arrays.encode_labels([row[2] for row in rows], [row[3] for row in rows])
        none = np.full(len(rows), classification.NO_VALUE, dtype=np.int64)
        return ChangedCells(
            np.array([row[0] for row in rows], dtype=np.int64),
            np.array([HISTORY_DIMENSIONS.index(row[1]) for row in rows], dtype=np.int64),
            none, none, old_codes, new_codes, labels)

    @api.model
    def _concat_cells(self, *parts):
        """One ``ChangedCells`` of several, their labels put end to end."""
        offsets = np.cumsum([0] + [len(part.labels) for part in parts[:-1]])
        return ChangedCells(
            *(np.concatenate([getattr(part, name) for part in parts])
              for name in ('lead_ids', 'dimensions', 'old_values', 'new_values')),
            *(np.concatenate([arrays.shift_codes(getattr(part, name), offset) for part, offset in zip(
                parts, offsets.tolist(), strict=True)]) for name in ('old_codes', 'new_codes')),
            [label for part in parts for label in part.labels])

    def _classify_classes(self, ids, matches, class_rules, manual):
        """Set the classes of the leads to those of their matching class rules, except where
        ``manual`` is set (classes set by hand, or kept as they are by this pass).

        :return: history rows of the leads whose classes changed
        """
        ids, matches = ids[~manual], matches[~manual]
        if not len(ids):
            return []
        rule_class_ids = class_rules.mapped('class_id').ids
        low, high = int(ids.min()), int(ids.max())
        if high - low < 4 * len(ids):
            # a pass's chunk: its id range walks the relation's index, where a list of 20,000
            # ids made PostgreSQL scan the relation; the leads of the range not in it are dropped
            rows = self.env.execute_query(SQL(
                'SELECT lead_id, class_id FROM crm_lead_class_rel WHERE lead_id BETWEEN %s AND %s', low, high))
        else:
            rows = self.env.execute_query(SQL(
                'SELECT lead_id, class_id FROM crm_lead_class_rel WHERE lead_id = ANY(%s::int[])',
                arrays.int_array_literal(ids)))
        pairs = np.array(rows, dtype=np.int64).reshape(len(rows), 2)
        pairs = pairs[np.isin(pairs[:, 0], ids)]
        order = np.argsort(ids, kind='stable')
        lead_index = order[np.searchsorted(ids, pairs[:, 0], sorter=order)]
        masks = classification.set_masks(matches, rule_class_ids, lead_index, pairs[:, 1])
        if masks is not None:  # only the leads whose set differs go on
            differ = np.flatnonzero(masks[0] != masks[1])
            ids, matches = ids[differ], matches[differ]
            kept = np.isin(lead_index, differ)
            rows = pairs[kept].tolist()
        else:
            rows = pairs.tolist()
        if not len(ids):
            return []
        new_sets = classification.all_match_values(matches, rule_class_ids) \
            if len(class_rules) else [[] for _id in ids]
        current = {}
        for lead_id, class_id in rows:
            current.setdefault(lead_id, set()).add(class_id)
        changed = [
            (lead_id, set(new)) for lead_id, new in zip(ids.tolist(), new_sets, strict=True)
            if set(new) != current.get(lead_id, set())
        ]
        if not changed:
            return []
        self.env.execute_query(SQL('DELETE FROM crm_lead_class_rel WHERE lead_id = ANY(%s::int[])',
                                   arrays.int_array_literal([lead_id for lead_id, _new in changed])))
        pairs = [(lead_id, class_id) for lead_id, new in changed for class_id in sorted(new)]
        if pairs:
            self.env.execute_query(SQL(
                'INSERT INTO crm_lead_class_rel (lead_id, class_id) SELECT * FROM unnest(%s::int[], %s::int[])',
                arrays.int_array_literal([pair[0] for pair in pairs]),
                arrays.int_array_literal([pair[1] for pair in pairs])))
        # sudo: the history names the classes, whoever triggered the classification
        classes = self.env['crm.lead.class'].sudo().with_context(active_test=False)
        names = {lead_class.id: lead_class.display_name for lead_class in classes.browse(
            set().union(*current.values(), *(new for _lead, new in changed)))}
        return [
            (lead_id, 'class', ', '.join(sorted(names[c] for c in current.get(lead_id, ()))),
             ', '.join(sorted(names[c] for c in new)))
            for lead_id, new in changed
        ]

    def _log_classification_history(self, cells, cause, now, user_id):
        """One INSERT for the history rows of ``cells`` (``ChangedCells``)."""
        if not len(cells.lead_ids):
            return
        self.env.execute_query(SQL(
            """INSERT INTO crm_lead_classification_history
                   (lead_id, date, user_id, dimension, old_value, new_value, cause)
               SELECT v.lead_id, %(now)s, %(uid)s, (%(dimension_keys)s::varchar[])[v.dimension + 1],
                      (%(labels)s::varchar[])[v.old], (%(labels)s::varchar[])[v.new], %(cause)s
                 FROM unnest(%(leads)s::int[], %(dimensions)s::int[], %(old)s::int[], %(new)s::int[])
                      AS v(lead_id, dimension, old, new)""",
            now=now, uid=user_id, cause=cause, dimension_keys=HISTORY_DIMENSIONS, labels=cells.labels or [''],
            leads=arrays.int_array_literal(cells.lead_ids), dimensions=arrays.int_array_literal(cells.dimensions),
            old=arrays.int_array_literal(cells.old_codes), new=arrays.int_array_literal(cells.new_codes)))
        self.env['crm.lead.classification.history'].invalidate_model()

    def _log_classification_tracking(self, cells, now):
        """The rules' changes of ``cells`` (``ChangedCells`` of the value dimensions) in the chatter,
        as Odoo's field tracking shows them."""
        if not len(cells.lead_ids):
            return
        field_ids = np.array([
            self.env['ir.model.fields']._get('crm.lead', DIMENSION_FIELDS[dimension]).id
            for dimension in VALUE_DIMENSIONS
        ])
        industry = cells.dimensions == 0  # a many2one: its ids are tracked too
        bulk.log_tracking(self, TrackingCells(
            res_id=cells.lead_ids, field_id=field_ids[cells.dimensions],
            old_int=np.where(industry, np.maximum(cells.old_values, 0), 0),
            new_int=np.where(industry, np.maximum(cells.new_values, 0), 0),
            old_code=cells.old_codes, new_code=cells.new_codes, labels=tuple(cells.labels)), now)
