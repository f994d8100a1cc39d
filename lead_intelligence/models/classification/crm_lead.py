import numpy as np

from odoo import api, fields, models
from odoo.tools import SQL

from ...engine import arrays, classification
from ...engine.classification import (
    VALUE_DIMENSIONS,
    ChangedCells,
    ClassificationConfig,
    ClassificationState,
    ClassLinks,
    RuleValues,
)
from ...engine.stages import FieldChanges, ScoreUpdate
from .. import bulk, lead_fields
from ..writes import crm_lead as crm_lead_writes
from ..writes import (
    crm_lead_class_rel,
    crm_lead_classification_history,
    crm_lead_classification_rule,
)
from .crm_lead_classification_history import class_codes
from .dimensions import (
    COMPANY_SIZES,
    DIMENSION_FIELDS,
    INTENT_LEVELS,
    JOB_LEVELS,
    LIFECYCLE_STAGES,
    SALES_STAGE_CLASSES,
    SELECTION_DIMENSIONS,
    SOURCE_TYPES,
)

MANUAL_FIELDS = {dimension: f'{dimension}_manual' for dimension in classification.DIMENSIONS}
# the keys of each selection dimension, in order: the engine's values are positions in them
SELECTION_KEYS = {dimension: [key for key, _label in values] for dimension, values in SELECTION_DIMENSIONS.items()}
# stored lead fields a rule cannot rely on between two writes of the lead: the ones declared
# unstable (lead_fields), and the dimensions the rules themselves set
UNSTABLE_FIELDS = lead_fields.UNSTABLE_FIELDS | frozenset(DIMENSION_FIELDS.values())
# the scores a classification rule compares with numbers, as stored (the probability is stored in steps)
COMPARED_SCORES = ('fit_score', 'score', 'engagement_score', 'model_score')


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
            old = {lead.id: lead._classification_codes() for lead in self}
            vals = dict(vals, **manual)
        res = super().write(vals)
        if manual:
            cause = 'import' if self.env.context.get('import_file') else 'user'
            rows = [
                (lead.id, dimension, old[lead.id][dimension], new)
                for lead in self for dimension, new in lead._classification_codes().items()
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

    def _classification_codes(self):
        """The value of each dimension of the lead as its history keeps it (empty string when none):
        see ``crm.lead.classification.history``."""
        self.ensure_one()
        codes = {'industry': str(self.industry_id.id or ''), 'class': class_codes(self.class_ids.ids)}
        for dimension in SELECTION_DIMENSIONS:
            codes[dimension] = self[dimension] or ''
        return codes

    # ------------------------------------------------------------
    # CLASSIFICATION
    # ------------------------------------------------------------

    @api.model
    def _is_stable_rule_field(self, name, _seen=None):
        """Whether the lead field ``name`` changes only when the lead's row or links are written
        (which flags it dirty: by the ORM, or behind it by the triggers of
        ``_init_dirty_triggers``, which watch the columns of these fields) or created (born dirty).

        A stored field qualifies unless a pass or a job writes it behind the ORM
        (:data:`UNSTABLE_FIELDS`, and the fields the addon fills in, ``system_owned``,
        but those the events pass writes: it rescores every lead it counts at once).
        A computed one qualifies too when its column is all a rule reads: Odoo writes it
        whenever it recomputes it, even for a change of another record (a contact's
        phone recomputes its leads' phone), and the trigger sees that write. Unless it
        depends on an unstable field of the lead itself (a profile completeness on the
        industry, which the passes set by SQL without recomputing it), or on the context.
        One2many contents never qualify.
        """
        field = self._fields.get(name)
        if field is None or not field.store or name in UNSTABLE_FIELDS or field.type == 'one2many':
            return False
        if getattr(field, 'system_owned', False) and not (
                getattr(field, 'counter', None) or name in lead_fields.COUNTED_FIELDS):
            return False
        if not field.compute:
            return True
        seen = (_seen or set()) | {name}
        depends, depends_context = field.get_depends(self)
        # a path (partner_id.phone) is read by the recompute, which writes the column: only its first
        # field, of the lead, counts
        return not depends_context and all(
            dependency.split('.')[0] in seen or self._is_stable_rule_field(dependency.split('.')[0], seen)
            for dependency in depends)

    @api.model
    def _get_classification_rules(self):
        # sudo: classification runs for any user who edits a lead, over every active rule
        Rule = self.env['crm.lead.classification.rule'].sudo()
        return Rule.search([('error_message', '=', False)], order='dimension, sequence, id')._filter_runnable()

    def _classify_stable_stage(self, after_score=False):
        """Whether every rule of the dimensions classified before the scores (or, with
        ``after_score``, after them) is stable (``crm.lead.domain.rule._is_stable``), the scores
        aside after them: the nightly pass then classifies only the leads flagged since (after
        the scores, and the leads whose scores it moved), no lead else can change."""
        rules = self._get_classification_rules()
        after = {rule.dimension for rule in rules if rule._reads_scores()}
        return all(rule._is_stable(but=lead_fields.SCORED_FIELDS if after_score else ())
                   for rule in rules if (rule.dimension in after) == after_score)

    def _after_score_conditions(self):
        """What the rules of the dimensions classified after the scores read of them, as the
        conditions of ``engine.classification.conditions_flipped``: a comparison of a score with a
        number as such, any other reading of a score (the tier, its sequence) as any change of it.

        With their rules stable but for the scores (:meth:`_classify_stable_stage`), these
        dimensions of a lead neither flagged nor new can change only where one of these conditions
        flips: the nightly pass classifies them there alone, not on every lead whose score moved.

        :return: the conditions, or None when a rule reads what the scores' columns do not hold
            (the row of scores, its date): then every lead rescored is classified again
        """
        rules = self._get_classification_rules()
        after = {rule.dimension for rule in rules if rule._reads_scores()}
        columns = ScoreUpdate.column_names()
        conditions = set()
        for rule in rules.filtered(lambda rule: rule.dimension in after):
            for condition in rule._get_lead_domain().iter_conditions():
                name, *path = condition.field_expr.split('.')
                if name not in lead_fields.SCORED_FIELDS:
                    continue
                if name not in columns:
                    return None
                constant = condition.value
                if isinstance(constant, list | tuple | set | frozenset):
                    constant = tuple(sorted(constant, key=repr))
                numbers = constant if isinstance(constant, tuple) else (constant,)
                compared = not path and name in COMPARED_SCORES and (
                    condition.operator in ('in', 'not in') if isinstance(constant, tuple)
                    else condition.operator in classification.SCORE_COMPARISONS) and all(
                    isinstance(number, int | float) and not isinstance(number, bool) for number in numbers)
                conditions.add((name, condition.operator, constant) if compared else (name, None, None))
        return sorted(conditions, key=repr)

    def _classify_query(self, query, cause, after_score=False):
        """Classify the leads of ``query``: one query to read them with every rule matched,
        the first match per dimension in the engine, and one UPDATE of the leads whose
        classes changed (a user's values kept), with their history and chatter.

        The scoring pass classifies twice (see ``_score_query``): before it scores,
        the dimensions none of whose rules read what the pass writes (the fit rules
        may read them); after it has written the scores (``after_score``), the
        dimensions one of whose rules does (the score, the tier, the engagement
        score...), so that they follow the score of the same pass. With no such
        rule, the second call reads nothing.

        The nightly pass re-matches a dimension whose rules are all stable
        (``crm.lead.classification.rule._is_stable``: they read only fields that
        change when the lead is written) on the leads flagged dirty only: on the
        others, nothing those rules read has changed since they were last
        classified. Every other pass (a lead edited, new behaviour, a rule or a
        setting changed) matches every rule on every lead of the chunk.

        The leads flagged dirty stay flagged: the scoring pass clears their flags when it
        writes their scores.
        """
        rules = self._get_classification_rules()
        after = {rule.dimension for rule in rules if rule._reads_scores()}
        dimensions = after if after_score else set(classification.DIMENSIONS) - after
        if not dimensions:
            return
        rules = rules.filtered(lambda rule: rule.dimension in dimensions)
        value_rules = rules.filtered(lambda rule: rule.dimension != 'class')
        class_rules = rules.filtered(lambda rule: rule.dimension == 'class')
        ordered = value_rules + class_rules
        stable_dimensions = set()
        if cause == 'nightly':
            unstable = {rule.dimension for rule in ordered if not rule._is_stable()}
            stable_dimensions = {rule.dimension for rule in ordered} - unstable
            if 'company_size' in dimensions and 'company_size' not in unstable:
                stable_dimensions.add('company_size')  # measured from headcount and revenue where no rule matches
        guarded = [index for index, rule in enumerate(ordered) if rule.dimension in stable_dimensions]
        dirty = crm_lead_writes.dirty_sql(query)
        columns = {
            'id': SQL('crm_lead.id'),
            'industry': SQL('COALESCE(crm_lead.industry_id, -1)'),
            **{dimension: SQL('COALESCE(array_position(%s::varchar[], crm_lead.%s::varchar), 0) - 1',
                              keys, SQL.identifier(dimension))
               for dimension, keys in SELECTION_KEYS.items()},
            **{field: SQL('crm_lead.%s IS TRUE', SQL.identifier(field)) for field in MANUAL_FIELDS.values()},
            'score_dirty': dirty,
            'employee_count': SQL('COALESCE(crm_lead.employee_count, 0)'),
            'annual_revenue': SQL('COALESCE(crm_lead.annual_revenue, 0)::bigint'),
        }
        # a rule that fails in the database is set aside there and matches no lead
        data, matches = ordered._read_matches(
            query, [columns[name] for name in ClassificationState.column_names()],
            dirty, guarded)
        if not len(data):
            return
        state = ClassificationState.from_matrix(data)
        settings = self.env['res.config.settings']._get_lead_intelligence_settings()
        config = ClassificationConfig(
            employee_thresholds=(settings['size_employees_medium'], settings['size_employees_large']),
            revenue_thresholds=(settings['size_revenue_medium'], settings['size_revenue_large']),
            stable=frozenset(stable_dimensions), dimensions=frozenset(dimensions) - {'class'})
        rule_values = RuleValues(
            dimension=[VALUE_DIMENSIONS.index(rule.dimension) for rule in value_rules],
            value=[rule.industry_id.id if rule.dimension == 'industry' else
                   SELECTION_KEYS[rule.dimension].index(rule._get_value_key()) for rule in value_rules])
        final, changed = classification.classify_values(state, matches[:, :len(value_rules)], rule_values, config)
        now = self.env.cr.now()
        history = []
        moved = changed.any(axis=1)
        if moved.any():
            crm_lead_writes.set_classification(self.env, state.id[moved], final.take(moved), SELECTION_KEYS)
            changes = self._classification_changes(ChangedCells.from_changes(state.id, state.values(), final, changed))
            self._on_pass_changes(changes.field_changes([DIMENSION_FIELDS[name] for name in VALUE_DIMENSIONS],
                                                        [SELECTION_KEYS.get(name) for name in VALUE_DIMENSIONS]))
            self._log_classification_tracking(changes, now)
            history.append(self._classification_changes(changes, as_codes=True))
        class_changes = self._classify_classes(
            state.id, matches[:, len(value_rules):], class_rules, state.frozen('class', config.stable)) \
            if 'class' in dimensions else []
        if class_changes:
            history.append(self._cells_from_rows(class_changes))
        matched = np.flatnonzero(matches.any(axis=0))
        if len(matched):
            crm_lead_classification_rule.set_last_match_date(
                self.env, [ordered[index].id for index in matched.tolist()], now)
        if history:
            history_cause = 'event' if cause == 'event' else 'rule'
            self._log_classification_history(ChangedCells.concatenate(*history), history_cause, now, None)
        self.invalidate_model([*DIMENSION_FIELDS.values(), 'classification_history_ids'])

    def _classification_changes(self, cells, as_codes=False):
        """The changed ``cells`` of the single-valued dimensions (``ChangedCells``), labelled.

        :param as_codes: label each value by its code (a selection key, an industry id), as the
            history keeps it, rather than by its name in the user's language, as the chatter shows it
        """
        industry = cells.dimension == VALUE_DIMENSIONS.index('industry')
        industry_ids = np.unique(np.concatenate([cells.old_value[industry], cells.new_value[industry]]))
        industry_ids = industry_ids[industry_ids != classification.NO_VALUE]
        # sudo: the history names the industries, whoever triggered the classification
        industries = self.env['res.partner.industry'].sudo().browse(industry_ids.tolist())
        keys, labels = [], []
        for dimension in VALUE_DIMENSIONS:
            if dimension == 'industry':
                keys.append(industry_ids)
                labels += [str(industry.id) if as_codes else industry.display_name for industry in industries]
            else:
                names = dict(self._fields[dimension]._description_selection(self.env))
                keys.append(np.arange(len(SELECTION_KEYS[dimension])))
                labels += [key if as_codes else names[key] for key in SELECTION_KEYS[dimension]]
        return cells.labelled(keys, labels)

    @api.model
    def _cells_from_rows(self, rows):
        """``ChangedCells`` of rows (lead id, dimension, old code, new code), as users' edits give them."""
        labels, (old_codes, new_codes) = arrays.encode_labels([row[2] for row in rows], [row[3] for row in rows])
        none = np.full(len(rows), classification.NO_VALUE, dtype=np.int64)
        return ChangedCells(
            lead_id=[row[0] for row in rows],
            dimension=[classification.DIMENSIONS.index(row[1]) for row in rows],
            old_value=none, new_value=none, old_code=old_codes, new_code=new_codes, labels=tuple(labels))

    def _classify_classes(self, ids, matches, class_rules, manual):
        """Set the classes of the leads to those of their matching class rules, except where
        ``manual`` is set (classes set by hand, or kept as they are by this pass).

        :return: history rows (lead id, 'class', old code, new code) of the leads whose classes changed
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
        links = ClassLinks.from_matrix(np.array(rows, dtype=np.int64).reshape(len(rows), 2))
        links = links.take(np.isin(links.lead_id, ids))
        order = np.argsort(ids, kind='stable')
        lead_index = order[np.searchsorted(ids, links.lead_id, sorter=order)]
        masks = classification.set_masks(matches, rule_class_ids, lead_index, links.class_id)
        if masks is not None:  # only the leads whose set differs go on
            differ = np.flatnonzero(masks[0] != masks[1])
            ids, matches = ids[differ], matches[differ]
            links = links.take(np.isin(lead_index, differ))
        if not len(ids):
            return []
        new_sets = classification.all_match_values(matches, rule_class_ids) \
            if len(class_rules) else [[] for _id in ids]
        current = {}
        for lead_id, class_id in zip(links.lead_id.tolist(), links.class_id.tolist(), strict=True):
            current.setdefault(lead_id, set()).add(class_id)
        changed = [
            (lead_id, set(new)) for lead_id, new in zip(ids.tolist(), new_sets, strict=True)
            if set(new) != current.get(lead_id, set())
        ]
        if not changed:
            return []
        pairs = [(lead_id, class_id) for lead_id, new in changed for class_id in sorted(new)]
        crm_lead_class_rel.replace_classes(
            self.env, [lead_id for lead_id, _new in changed],
            [pair[0] for pair in pairs], [pair[1] for pair in pairs])
        self._on_pass_changes(FieldChanges.of_field(
            'class_ids', [lead_id for lead_id, _new in changed],
            [frozenset(current.get(lead_id, ())) for lead_id, _new in changed],
            [frozenset(new) for _lead_id, new in changed]))
        return [(lead_id, 'class', class_codes(current.get(lead_id, ())), class_codes(new))
                for lead_id, new in changed]

    def _log_classification_history(self, cells, cause, now, user_id):
        """The history rows of ``cells`` (``ChangedCells``), in one INSERT."""
        if not len(cells):
            return
        crm_lead_classification_history.insert_changes(self.env, cells, cause, now, user_id)
        self.env['crm.lead.classification.history'].invalidate_model()

    def _log_classification_tracking(self, cells, now):
        """The rules' changes of ``cells`` (``ChangedCells`` of the value dimensions) in the chatter,
        as Odoo's field tracking shows them.

        A first value (of a dimension the lead had none of: the first pass after installing, or
        after new rules) is in the history only: a chatter line per value would bury the lead's
        conversation under the classification of every dimension at once.
        """
        cells = cells.take(cells.old_value != classification.NO_VALUE)
        if not len(cells):
            return
        field_ids = [
            self.env['ir.model.fields']._get('crm.lead', DIMENSION_FIELDS[dimension]).id
            for dimension in VALUE_DIMENSIONS
        ]
        bulk.log_tracking(self, cells.tracking(field_ids), now)
