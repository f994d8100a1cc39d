import ast
from functools import partial

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.fields import Domain
from odoo.orm.domains import DomainAnd, DomainCondition, DomainCustom, DomainOr
from odoo.tools import SQL, Query

from ..engine import scoring

MAX_RULE_POINTS = 100


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
      (:func:`_many2many_probe_sql`).
    """
    if _is_many2many_any(domain, model):
        return DomainCustom(partial(_many2many_probe_sql, domain))
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
    """A rule whose condition is an Odoo domain on leads, matched in SQL a chunk at a time."""

    _name = 'crm.lead.domain.rule'
    _description = 'Lead Rule with a Condition'

    domain = fields.Char(
        'Condition', required=True, default='[]',
        help="The leads the rule applies to.")
    company_id = fields.Many2one(
        'res.company', index=True,
        help="Leave empty to apply the rule to the leads of every company.")

    @api.constrains('domain')
    def _check_domain(self):
        for rule in self:
            rule._parse_domain()

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

    def _parse_domain(self):
        """Return the rule's condition as a validated :class:`Domain`.

        The text is read with ``ast.literal_eval``: no code runs, so names such as
        ``uid`` or ``context_today()`` are refused like any other syntax error.
        """
        self.ensure_one()
        try:
            domain = Domain(ast.literal_eval(self.domain or '[]'))
            domain.validate(self.env['crm.lead'])
        except (SyntaxError, ValueError, TypeError, KeyError) as error:
            raise ValidationError(self.env._(
                'The condition of rule "%(rule)s" is not a valid lead domain: %(error)s',
                rule=self.name, error=error)) from error
        return domain

    def _get_lead_domain(self):
        self.ensure_one()
        domain = self._parse_domain()
        if self.company_id:
            domain &= Domain('company_id', '=', self.company_id.id)
        return domain

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
        terms = []
        for index, rule in enumerate(self):
            domain = chunk_domain(rule._get_lead_domain().optimize_full(Lead), Lead)
            bit = 1 << (index % scoring.RULES_PER_WORD)
            if domain.is_false():
                terms.append(SQL('0'))
            elif index in guarded:
                # CASE evaluates its branches in order: the rule's condition is not
                # evaluated at all where the guard fails
                condition = SQL('TRUE') if domain.is_true() else domain._to_sql(Lead, query.table, query)
                terms.append(SQL('(CASE WHEN NOT (%s) THEN 0 WHEN %s THEN %s::bigint ELSE 0 END)',
                                 guard, condition, bit))
            elif domain.is_true():
                terms.append(SQL('%s::bigint', bit))
            else:
                terms.append(SQL('(CASE WHEN %s THEN %s::bigint ELSE 0 END)',
                                 domain._to_sql(Lead, query.table, query), bit))
        return [
            SQL(' + ').join(terms[start:start + scoring.RULES_PER_WORD])
            for start in range(0, len(terms), scoring.RULES_PER_WORD)
        ]


class CrmLeadFitRule(models.Model):
    _name = 'crm.lead.fit.rule'
    _description = 'Lead Profile-Fit Rule'
    _inherit = ['crm.lead.domain.rule', 'crm.lead.scoring.config']
    _order = 'sequence, id'
    _rescore_fields = ('domain', 'points', 'company_id', 'active')

    name = fields.Char('Rule', required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    points = fields.Integer(
        required=True, default=10,
        help="Added to the lead's fit points when it matches; negative points subtract.")
    description = fields.Text('Why', translate=True)

    @api.constrains('points')
    def _check_points(self):
        for rule in self:
            if abs(rule.points) > MAX_RULE_POINTS:
                raise ValidationError(self.env._(
                    'Rule "%(rule)s" gives %(points)s points: points must be between -%(max)s and %(max)s.',
                    rule=rule.name, points=rule.points, max=MAX_RULE_POINTS))
