import ast
import logging
from functools import partial

import numpy as np
import psycopg2

from odoo import api, fields, models, tools
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Domain
from odoo.orm.domains import DomainAnd, DomainCondition, DomainCustom, DomainOr
from odoo.tools import SQL, Query

from ...engine import scoring
from ..lead_fields import RULE_PATH_MODELS, WATCHED_MODELS

_logger = logging.getLogger(__name__)

# How the checks read a condition's operator (which operators exist is Odoo's domain's to say; the
# records a rule may read through a link are lead_fields.RULE_PATH_MODELS):
# on a link, these compare the linked record's id and read nothing of it (any other reads the linked records);
ID_OPERATORS = ('=', '!=', 'in', 'not in')
# on a link, these take a sub-condition on the linked records, checked as a rule's own condition;
ANY_OPERATORS = ('any', 'not any', 'any!', 'not any!')
# on a number or a yes/no, these compare a value: it must suit the column (see _check_condition_value).
COMPARISON_OPERATORS = ('=', '!=', '<', '>', '<=', '>=', 'in', 'not in')
# what compiling or matching a rule's condition raises when the condition cannot run: the rule's fault
RULE_ERRORS = (ValueError, TypeError, KeyError, UserError, psycopg2.DataError, psycopg2.ProgrammingError)


def _is_plain_ilike(domain, model):
    """Whether ``domain`` is ``(field, 'ilike', text)`` on a stored, untranslated text column of ``model``."""
    if not (isinstance(domain, DomainCondition) and domain.operator == 'ilike' and isinstance(domain.value, str)):
        return False
    field = model._fields.get(domain.field_expr)
    return bool(field and field.type in ('char', 'text') and field.store and not field.translate
                and not field.company_dependent)


def _like_any_sql(field_name, values, model, alias, query):
    """``lower(column) LIKE ANY (lower('%value%'), ...)``, with Odoo's ``unaccent`` where it puts it."""
    field = model._fields[field_name]
    column = model._field_to_sql(alias, field_name, query)
    column = column if field.is_text else SQL('%s::text', column)
    unaccent = model.env.registry.unaccent
    return SQL('lower(%s) LIKE ANY (ARRAY[%s])', unaccent(column), SQL(', ').join(
        SQL('lower(%s)', unaccent(SQL('%s', f'%{value}%'))) for value in values))


def _is_many2many_any(domain, model):
    """Whether ``domain`` is ``(field, 'any' or 'any!', subdomain)`` on a stored many2many of ``model``."""
    if not (isinstance(domain, DomainCondition) and domain.operator in ('any', 'any!')
            and isinstance(domain.value, Domain | Query)):
        return False
    field = model._fields.get(domain.field_expr)
    return bool(field and field.type == 'many2many' and field.store)


def _many2many_probe_sql(condition, model, alias, query):
    """Odoo's ``EXISTS`` for a many2many condition, with ``OFFSET 0`` in it.

    PostgreSQL turns a plain ``EXISTS`` into a hash of every matching link
    (every lead tagged "Software", say), built again for every chunk of leads,
    even when only a few leads of the chunk get that far (the nightly pass
    evaluates stable rules on the edited leads only). ``OFFSET 0`` keeps it a
    probe of the relation's index for the leads that reach it. The comodel's
    query is Odoo's own: its domain, context and access rules apply as in a search.
    """
    field = model._fields[condition.field_expr]
    comodel = model.env[field.comodel_name]
    coquery = field._get_query_for_condition_value(model, comodel, condition.operator, condition.value)
    if coquery.is_empty():
        return SQL('FALSE')
    rel_alias = query.make_alias(alias, field.name)
    link = SQL('%s = %s', SQL.identifier(rel_alias, field.column1), SQL.identifier(alias, 'id'))
    if coquery.where_clause:
        link = SQL('%s AND %s IN %s', link, SQL.identifier(rel_alias, field.column2), coquery.subselect())
    return SQL('EXISTS (SELECT 1 FROM %s AS %s WHERE %s OFFSET 0)',
               SQL.identifier(field.relation), SQL.identifier(rel_alias), link)


def _is_many2one_any(domain, model):
    """Whether ``domain`` is ``(field, 'any!', subdomain)`` on a stored, not company-dependent many2one of
    ``model`` to a configuration model (``WATCHED_MODELS``: a few records, where contacts or scores
    are as many as the leads): a path such as ``country_id.code``, as the optimizer writes it for
    the passes (superuser)."""
    if not (isinstance(domain, DomainCondition) and domain.operator == 'any!' and isinstance(domain.value, Domain)):
        return False
    field = model._fields.get(domain.field_expr)
    return bool(field and field.type == 'many2one' and field.store and not field.company_dependent
                and field.comodel_name in WATCHED_MODELS)


def _many2one_probe_sql(condition, model, alias, query):
    """``field IN (SELECT id FROM comodel WHERE ...)`` for a many2one path, where Odoo joins the comodel.

    Odoo's ``LEFT JOIN`` is made for every lead of a chunk, whether or not its condition is
    evaluated: 7 ms per join for 20,000 leads, where the nightly pass evaluates the stable rules
    on the edited leads only. The subquery is hashed once per chunk and probed where the
    condition is evaluated. As the join it replaces (``any!``), it reads the comodel whatever
    its access rules and archived records included.
    """
    field = model._fields[condition.field_expr]
    comodel = model.env[field.comodel_name]
    coquery = comodel._search(condition.value, active_test=False, bypass_access=True)
    if coquery.is_empty():
        return SQL('FALSE')
    column = model._field_to_sql(alias, field.name, query)
    return SQL('(%s IS NOT NULL AND %s IN %s)', column, column, coquery.subselect())


def chunk_domain(domain, model):
    """``domain`` (optimized) with the SQL of some conditions tuned for matching rules over chunks of
    leads; the same leads match:

    * an OR of several ``ilike`` on one text column becomes one ``LIKE ANY``
      (:func:`_like_any_sql`). Rules such as "the job position contains CEO,
      founder, owner, 总经理..." compile to one ``ILIKE`` per word, and
      PostgreSQL lowers the column again for each (its ``ILIKE`` is ``lower()``
      of both sides, then ``LIKE``, in a multibyte database): ``lower(column)
      LIKE ANY (...)`` lowers it once, the same test;
    * a many2many condition keeps Odoo's ``EXISTS`` with ``OFFSET 0`` in it
      (:func:`_many2many_probe_sql`);
    * a many2one path is a subquery, not a join (:func:`_many2one_probe_sql`).
    """
    if _is_many2many_any(domain, model):
        return DomainCustom(partial(_many2many_probe_sql, domain))
    if _is_many2one_any(domain, model):
        return DomainCustom(partial(_many2one_probe_sql, domain))
    if not isinstance(domain, DomainAnd | DomainOr):
        return domain
    children = [chunk_domain(child, model) for child in domain.children]
    if isinstance(domain, DomainOr):
        words = {}
        for child in children:
            if _is_plain_ilike(child, model):
                words.setdefault(child.field_expr, []).append(child.value)
        words = {field_name: values for field_name, values in words.items() if len(values) > 1}
        children = [
            DomainCustom(partial(_like_any_sql, field_name, tuple(values))) for field_name, values in words.items()
        ] + [child for child in children if not (_is_plain_ilike(child, model) and child.field_expr in words)]
    return type(domain).apply(children)


class CrmLeadDomainRule(models.AbstractModel):
    """A rule whose condition is an Odoo domain on leads, matched in SQL a chunk at a time.

    A condition is checked on save (its syntax, its values, what it may read, and
    one run on the database) and again when the rules are matched: a rule that
    fails then (the data or the schema changed since) is set aside, with its
    error on the rule and a to-do for the managers, and the others go on.
    """

    _name = 'crm.lead.domain.rule'
    _description = 'Lead Rule with a Condition'
    # set-aside rules become to-dos for the managers: activities on the rules
    _inherit = ['mail.thread', 'mail.activity.mixin']

    active = fields.Boolean(default=True)
    domain = fields.Char(
        'Condition', required=True, default='[]',
        help="The leads the rule applies to.")
    match_all = fields.Boolean(
        'Applies to Every Lead',
        help="Tick it to save the rule without a condition: it then applies to every lead (of its company). "
             "A rule without a condition is refused otherwise, so that a half-filled rule does not apply to "
             "every lead.")
    company_id = fields.Many2one(
        'res.company', index=True, default=lambda self: self._default_company_id(),
        help="Leave empty to apply the rule to the leads of every company (only a user with access to every "
             "company may).")
    error_message = fields.Text(
        'Error', readonly=True, copy=False,
        help="Why the rule is set aside: its condition failed when the leads were matched. It matches no lead "
             "until its condition is saved again.")

    @api.constrains('domain', 'match_all', 'active')
    def _check_domain(self):
        # constraints run as superuser: what the rule reads is checked as the user who saves it
        as_author = not self.env.user._is_superuser()
        for rule in self.filtered('active'):
            domain = (rule.sudo(False) if as_author else rule)._parse_domain(as_author=as_author)
            if domain.is_true() and not rule.match_all:
                raise ValidationError(self.env._(
                    'Rule "%(rule)s" has no condition: it would apply to every lead. Give it a condition, or tick '
                    '"Applies to Every Lead" if that is what you want.', rule=rule.name))
            rule._check_domain_runs()

    @api.constrains('company_id')
    def _check_company_shared(self):
        shared = self.filtered(lambda rule: not rule.company_id)
        if shared and self._is_company_bound():
            raise ValidationError(self.env._(
                'Rule "%(rule)s" would apply to the leads of every company: only a user with access to every '
                'company may share a rule between companies. Set its company.', rule=shared[0].name))

    def _default_company_id(self):
        return self.env.company if self._is_company_bound() else False

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    def write(self, vals):
        self._check_shared_rule_access()
        if {'domain', 'match_all', 'active'} & set(vals):
            # a condition saved or a rule unarchived is checked again (see _check_domain): the rule is back
            vals = dict(vals, error_message=False)
        return super().write(vals)

    def unlink(self):
        self._check_shared_rule_access()
        return super().unlink()

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_open_matching_leads(self):
        self.ensure_one()
        action = self.env['ir.actions.act_window']._for_xml_id('crm.crm_lead_all_leads')
        action.update({
            'name': self.env._('Leads matching "%s"', self.name),
            'domain': self._get_lead_domain(),
            'context': {'active_test': True},
        })
        return action

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _is_company_bound(self):
        """Whether the user lacks access to some company: such a user's rules belong to a company.

        Asked of the user even in sudo mode, as constraints run: only the superuser is free.
        """
        if self.env.user._is_superuser():
            return False
        # sudo: the companies the user cannot see count too
        return bool(self.env['res.company'].sudo().search_count(
            [('id', 'not in', self.env.user.company_ids.ids)], limit=1))

    def _check_shared_rule_access(self):
        """A rule of every company changes the leads of every company: only a user of them all may change it."""
        shared = self.filtered(lambda rule: not rule.company_id)
        if shared and not self.env.su and self._is_company_bound():
            raise AccessError(self.env._(
                'Rule "%(rule)s" applies to the leads of every company: only a user with access to every company '
                'may change or delete it.', rule=shared[0].name))

    def _parse_domain(self, as_author=False):
        """Return the rule's condition as a validated :class:`Domain`.

        The text is read with ``ast.literal_eval``: no code runs, so names such as
        ``uid`` or ``context_today()`` are refused like any other syntax error.
        Its fields and values are checked (see :meth:`_check_conditions`).

        :param as_author: check too that the user may read every field the condition reads
        """
        self.ensure_one()
        try:
            value = ast.literal_eval(self.domain or '[]')
        except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError) as error:
            raise ValidationError(self.env._(
                'The condition of rule "%(rule)s" is not a valid lead domain: write it as a list of conditions '
                "such as [('country_id.code', '=', 'CN')], with plain values only (text, numbers, True, False, "
                'lists).', rule=self.name)) from error
        Lead = self.env['crm.lead']
        try:
            domain = Domain(value)
            domain.validate(Lead)
        except (ValueError, TypeError, KeyError) as error:
            raise ValidationError(self.env._(
                'The condition of rule "%(rule)s" is not a valid lead domain: %(error)s',
                rule=self.name, error=error)) from error
        self._check_conditions(domain, Lead, as_author)
        return domain

    def _check_conditions(self, domain, model, as_author):
        """Refuse what a rule may not read, and values their fields cannot take.

        A rule reads the lead's own fields, and through a path or a sub-condition
        only the records of ``lead_fields.RULE_PATH_MODELS``, by many-to-one and many-to-many
        links: a rule sees what the lead links to, never lists of other records
        (a partner's opportunities, a user's keys), which may belong to other
        companies. It never reads a field restricted to some groups.
        """
        for condition in domain.iter_conditions():
            current, field = model, None
            for name in condition.field_expr.split('.'):
                if field is not None:  # the path goes on through ``field``
                    if field.type in ('date', 'datetime'):
                        break  # a part of the date (create_date.year_number)
                    self._check_rule_link(current, field)
                    current = self.env[field.comodel_name]
                field = current._fields.get(name)
                if field is None:
                    raise ValidationError(self.env._(
                        'Rule "%(rule)s": the field "%(path)s" cannot be read by a rule.',
                        rule=self.name, path=condition.field_expr))
                self._check_rule_field(current, field, as_author)
            values = condition.value if isinstance(condition.value, list | tuple) else [condition.value]
            if not field.relational:
                self._check_condition_value(condition, field, values)
            elif condition.operator not in ID_OPERATORS or any(isinstance(v, str) for v in values):
                # a sub-condition, or a name searched: the linked records are read
                self._check_rule_link(current, field)
                if condition.operator in ANY_OPERATORS:
                    self._check_conditions(Domain(condition.value), self.env[field.comodel_name], as_author)

    def _check_rule_field(self, model, field, as_author):
        label = self.env._('"%(field)s" of %(model)s', field=field._description_string(self.env),
                           model=self.env['ir.model']._get(model._name).name)
        if field.groups:
            raise ValidationError(self.env._(
                'Rule "%(rule)s" reads %(field)s, which only some users may see: a rule may not read a field '
                'restricted to a group.', rule=self.name, field=label))
        if as_author and not (model.has_access('read') and model._has_field_access(field, 'read')):
            raise ValidationError(self.env._(
                'Rule "%(rule)s" reads %(field)s, which you may not read.', rule=self.name, field=label))

    def _check_rule_link(self, model, field):
        if not field.relational or field.type == 'one2many' or field.comodel_name not in RULE_PATH_MODELS:
            raise ValidationError(self.env._(
                'Rule "%(rule)s" follows "%(field)s" of %(model)s, which a rule may not: a rule reads the lead, '
                'and through its links only contacts, countries, states, languages, industries, stages, tags, '
                'sales teams, lost reasons, UTM sources, mediums and campaigns, currencies, companies, lead '
                'classes, tiers and scores; never users, other leads, or lists of records.',
                rule=self.name, field=field._description_string(self.env),
                model=self.env['ir.model']._get(model._name).name))

    def _check_condition_value(self, condition, field, values):
        """Refuse a value its field's column cannot take (text for a number, a number for a yes/no)."""
        if condition.operator not in COMPARISON_OPERATORS:
            return
        if field.type in ('integer', 'float', 'monetary'):
            bad = [value for value in values if value is not False and value is not None
                   and (isinstance(value, bool) or not isinstance(value, int | float))]
            kind = self.env._('numbers')
        elif field.type == 'boolean':
            bad = [value for value in values if value is not None and not isinstance(value, bool | int)]
            kind = self.env._('yes or no (True or False)')
        else:
            return
        if bad:
            raise ValidationError(self.env._(
                'Rule "%(rule)s": "%(field)s" holds %(kind)s, and %(value)s is not one.',
                rule=self.name, field=field._description_string(self.env), kind=kind,
                value=f'"{bad[0]}"' if isinstance(bad[0], str) else bad[0]))

    def _check_domain_runs(self):
        """Match the rule on a lead as a pass does: a condition that fails in the
        database (a value its column cannot take) is refused now, not at night.

        The match is a column of the SELECT of one existing lead, so that its
        casts are evaluated, inside a savepoint.
        """
        self.ensure_one()
        # sudo: the passes match the rules as the system; what the author may read was checked
        rule = self.sudo()
        first = self.env.execute_query(SQL('SELECT id FROM crm_lead ORDER BY id LIMIT 1'))
        query = rule.env['crm.lead']._search(Domain('id', '=', first[0][0] if first else 0), active_test=False)
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.execute_query(query.select(SQL('crm_lead.id'), *rule._get_match_sql(query)))
        except RULE_ERRORS as error:
            raise ValidationError(self.env._(
                'The condition of rule "%(rule)s" cannot be evaluated on the leads (%(error)s): check that each '
                'value suits its field (a number for a number, a date for a date).',
                rule=self.name, error=self._describe_error(error))) from error

    def _describe_error(self, error):
        if isinstance(error, psycopg2.Error):
            return (error.diag.message_primary if error.diag else None) or str(error).split('\n')[0]
        if isinstance(error, UserError):
            return error.args[0]
        return str(error)

    def _is_stable(self, but=()):
        """Whether the rule's result can change only when the lead itself is written
        or the configuration changes.

        Such a rule reads the lead's own stored fields, none of them moved by a
        pass or a job (see ``crm.lead._is_stable_rule_field``), and through them
        only stored fields of the records of ``WATCHED_MODELS`` (a stage's
        sequence, a country's code, a tag's name), whose edits start a full pass.
        A write of such a field flags the lead dirty, through the ORM or behind
        it (the trigger of ``crm.lead._init_dirty_triggers``). A lead not flagged
        since it was last matched keeps its result: the nightly pass matches the
        rule on the dirty leads only and reads the others' stored result (the
        value of a classification dimension; the fit rules' matches kept in
        ``crm_lead_score.stable_matches``). A sub-domain (``any``) or a path
        through any other record (``partner_id.name``) is never stable.

        :param but: lead fields to count as stable all the same (the scores, for a pass that
            knows which leads it rescored)
        """
        self.ensure_one()
        return all(self._stable_path(condition, but) for condition in self._get_lead_domain().iter_conditions())

    def _reads_fields(self, names):
        """Whether the rule's condition reads one of the lead fields ``names`` (directly or through it)."""
        self.ensure_one()
        return any(condition.field_expr.split('.')[0] in names
                   for condition in self._get_lead_domain().iter_conditions())

    def _stable_path(self, condition, but=()):
        """Whether the condition reads only stable fields; see :meth:`_is_stable`."""
        name, *path = condition.field_expr.split('.')
        if name in but:
            return True
        if condition.operator in ANY_OPERATORS:
            return False
        Lead = self.env['crm.lead']
        if not Lead._is_stable_rule_field(name):
            return False
        model = Lead
        for hop in [name, *path][:-1]:
            field = model._fields[hop]
            if not field.relational or field.comodel_name not in WATCHED_MODELS:
                return False
            model = self.env[field.comodel_name]
        if path:
            field = model._fields.get(path[-1])
            if field is None or not field.store or field.compute or field.relational:
                return False
        return True

    # parsed and checked once per condition: a pass asks for every rule's condition in every chunk, and
    # each parse and check (literal_eval, validate, the field checks) cost it about a second at 1M leads;
    # a condition that fails its checks raises, and is not kept
    @tools.ormcache('self.domain', 'self.company_id.id')
    def _get_lead_domain(self):
        self.ensure_one()
        domain = self._parse_domain()
        if self.company_id:
            domain &= Domain('company_id', '=', self.company_id.id)
        return domain

    def _filter_runnable(self):
        """The rules of ``self`` whose condition still passes the checks of a save;
        the others (a field changed since, a stricter policy) are set aside."""
        runnable = self.browse()
        for rule in self:
            try:
                rule._get_lead_domain()
            except ValidationError as error:
                rule._set_aside(error.args[0])
            else:
                runnable |= rule
        return runnable

    def _set_aside(self, message):
        """The rule failed: it matches no lead until saved again; its error shows on the
        rule and the managers get a to-do."""
        self.ensure_one()
        _logger.warning('Lead Intelligence: %s %s set aside: %s', self._name, self.id, message)
        # sudo: the system records the failure on the rule, whoever's action matched it
        rule = self.sudo()
        rule.error_message = message
        summary = self.env._('Rule set aside: its condition fails')
        note = self.env._('Rule "%(rule)s" matches no lead until its condition is fixed: %(error)s',
                          rule=rule.name, error=message)
        managers = self.env.ref('lead_intelligence.group_lead_intelligence_manager').sudo().all_user_ids.filtered(
            lambda user: user.active and not user.share
            and (not rule.company_id or rule.company_id in user.company_ids))
        if managers:
            # sudo: the to-dos go to managers the user who triggered the match may not reach
            self.env['mail.activity'].sudo().with_context(mail_activity_quick_update=True).create([{
                'res_model_id': self.env['ir.model']._get_id(self._name), 'res_id': rule.id,
                'activity_type_id': self.env.ref('mail.mail_activity_data_todo').id,
                'summary': summary, 'note': note, 'user_id': user.id,
                'date_deadline': fields.Date.context_today(self),
            } for user in managers])

    def _read_matches(self, query, columns, guard=None, guarded=()):
        """Select ``columns`` and the rules' matches on the leads of ``query``, in one query.

        A rule whose condition fails in the database (a value its column cannot
        take, a field changed since it was saved) is found by matching each rule
        alone, set aside (:meth:`_set_aside`) and matches no lead; the others
        are matched again without it.

        :param columns: SQL integer expressions
        :param guard / guarded: see :meth:`_get_match_sql`, ``guarded`` indexes into ``self``
        :return: (values of ``columns`` (n, len(columns)) int64, matches (n, len(self)) bool)
        """
        rules, guarded = self, set(guarded)
        while True:
            positions = [index for index, rule in enumerate(self) if rule in rules]
            try:
                with self.env.cr.savepoint(flush=False):
                    match_sql = rules._get_match_sql(
                        query, guard, [k for k, index in enumerate(positions) if index in guarded]) if rules else []
                    rows = self.env.execute_query(query.select(*columns, *match_sql))
                break
            except RULE_ERRORS:
                broken = rules._set_aside_failing(query)
                if not broken:
                    raise
                rules -= broken
        data = np.array(rows, dtype=np.int64).reshape(len(rows), len(columns) + len(match_sql))
        matches = np.zeros((len(rows), len(self)), dtype=bool)
        if rules:
            matches[:, positions] = scoring.unpack_matches(data[:, len(columns):], len(rules))
        return data[:, :len(columns)], matches

    def _set_aside_failing(self, query):
        """Match each rule alone on the leads of ``query``; set aside and return those that fail."""
        broken = self.browse()
        for rule in self:
            try:
                with self.env.cr.savepoint(flush=False):
                    self.env.execute_query(query.select(SQL('1'), *rule._get_match_sql(query)))
            except RULE_ERRORS as error:
                rule._set_aside(rule._describe_error(error))
                broken |= rule
        return broken

    def _get_match_sql(self, query, guard=None, guarded=()):
        """Return the rules' matches as SQL integer columns, true bits where a
        lead of ``crm_lead`` (the main table of ``query``) matches a rule.

        Bit ``j`` of column ``w`` is rule ``w * RULES_PER_WORD + j`` of ``self``
        (see ``engine.scoring.unpack_matches``). All columns go in one SELECT,
        so a chunk of leads is matched against every rule with a single query.
        Inactive leads are matched too: the caller chooses which leads to score.

        :param guard: an SQL condition on the lead; the rules at the indexes
            ``guarded`` are only evaluated where it holds (0 elsewhere)
        """
        Lead = self.env['crm.lead'].with_context(active_test=False)
        guarded = set(guarded)
        # per word: (its unguarded terms, its guarded terms)
        words = [([], []) for _start in range(0, len(self), scoring.RULES_PER_WORD)]
        for index, rule in enumerate(self):
            domain = chunk_domain(rule._get_lead_domain().optimize_full(Lead), Lead)
            bit = 1 << (index % scoring.RULES_PER_WORD)
            if domain.is_false():
                continue
            if domain.is_true():
                term = SQL('%s::bigint', bit)
            else:
                term = SQL('(CASE WHEN %s THEN %s::bigint ELSE 0 END)', domain._to_sql(Lead, query.table, query), bit)
            words[index // scoring.RULES_PER_WORD][index in guarded].append(term)
        # the guarded rules of a word under one CASE, which evaluates its branches in order: the guard is
        # evaluated once per lead (not once per rule: 20 ms of the 150 ms of a chunk of 20,000 leads with
        # 24 guarded rules), the rules' conditions not at all where it fails
        return [
            SQL(' + ').join([
                *([SQL('(CASE WHEN %s THEN %s ELSE 0 END)', guard, SQL(' + ').join(guarded_terms))]
                  if guarded_terms else []),
                *other_terms,
            ]) if guarded_terms or other_terms else SQL('0')
            for other_terms, guarded_terms in words
        ]

