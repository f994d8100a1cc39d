from odoo import api, fields, models, tools
from odoo.exceptions import AccessError
from odoo.fields import Domain
from odoo.tools import SQL

from . import bulk, log_fields
from .lead_fields import FIELDS_NOT_SCORED

LEAD_FILLFACTOR = 80  # per cent of each page of crm_lead filled by new rows; see CrmLead._init_fillfactor


class CrmLead(models.Model):
    """What every stage of the lead builds on: the fields only the addon fills in
    (``system_owned``), and the dirty flag a write sets for the scoring job, which the
    write's transaction triggers to run once it commits."""

    _inherit = 'crm.lead'

    # Not a column of crm_lead: the flag lives in a narrow table of its own (see _init_dirty_table).
    # On crm_lead, clearing it rewrote the lead's wide row and, as its partial index had to lose the
    # row, every one of the table's thirty-odd indexes: a third of the nightly pass where few scores
    # change. Deleting the lead's row from crm_lead_dirty touches one small index.
    score_dirty = fields.Boolean(
        'Score Outdated', compute='_compute_score_dirty', search='_search_score_dirty', system_owned=True,
        help="The lead changed since it was last scored; the scoring job rescores it within seconds.")
    # Set in the UPDATE of an ORM write of a field that can move a score but that no trigger of
    # _init_dirty_triggers watches (a classification dimension set by hand, which the passes also
    # write): its own trigger flags the lead in crm_lead_dirty, inside crm's UPDATE, with no query
    # of its own (crm's query-count tests count them). Never cleared, indexed by nothing: it costs
    # a row no HOT update.
    score_flag = fields.Boolean(readonly=True, copy=False, system_owned=True)

    def init(self):
        res = super().init()
        self._init_fillfactor()
        self._init_dirty_table()
        self._init_dirty_triggers()
        return res

    def _init_fillfactor(self):
        """Leave a fifth of each page of ``crm_lead`` free (``LEAD_FILLFACTOR``).

        The addon rewrites the rows of leads often, by SQL and in bulk: the behaviour counters of
        every lead an event reaches, the tier of every lead that moves, the classes. A lead's row is
        wide and the table carries some thirty indexes: in a full page, the row's new version goes to
        another page and every index gets an entry for it. With room in its page, the new version
        stays beside the old one and no index is written (a HOT update: none of those columns is
        indexed). 1M leads, the counters of 56,872 leads: 8.6-10.5 s in full pages (3 % HOT), 2.0 s
        with a fifth free (92 % HOT); a scan of the table, 20 % more pages, about 60 ms more.

        It applies to the pages written from now on: rows that were there before the addon keep
        their full pages until the table is rewritten (``VACUUM FULL crm_lead``, see the docs).
        """
        options = self.env.execute_query(SQL("SELECT reloptions FROM pg_class WHERE oid = 'crm_lead'::regclass"))
        if f'fillfactor={LEAD_FILLFACTOR}' not in (options[0][0] or []):
            self.env.cr.execute(SQL('ALTER TABLE crm_lead SET (fillfactor = %s)', LEAD_FILLFACTOR))

    def _init_dirty_table(self):
        """``crm_lead_dirty``: one row per lead flagged for the scoring job (``score_dirty``).

        A plain table, not a model: only the addon's SQL reads and writes it. ``flagged_at`` is
        rewritten each time the lead is flagged again, so that a pass that read the flag before a
        concurrent edit cannot delete the edit's flag unseen: its DELETE conflicts with the edit's
        update of the row and the pass's chunk is redone (see ``bulk.retry_on_conflict``).
        """
        self.env.cr.execute(SQL(
            """CREATE TABLE IF NOT EXISTS crm_lead_dirty (
                   lead_id integer PRIMARY KEY REFERENCES crm_lead(id) ON DELETE CASCADE,
                   flagged_at timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'))"""))

    def _init_dirty_triggers(self):
        """Flag dirty the leads whose rule-relevant values are written behind the ORM.

        A write through the ORM flags the lead (see :meth:`write`); an UPDATE or
        INSERT by SQL (an import, another module, a script) does not, and the
        nightly pass, which matches the stable rules on the dirty leads only,
        would keep their old matches. So PostgreSQL flags them itself:

        * an ``AFTER UPDATE OF`` trigger on the watched columns of ``crm_lead``
          (:meth:`_get_dirty_watched_columns`) flags the row's lead where a value
          actually changed: an UPDATE of other columns (the passes', crm's
          probabilities) never runs it;
        * an ``AFTER INSERT`` statement trigger flags every lead inserted, by the ORM
          or not (a new lead is scored);
        * an ``AFTER UPDATE OF score_flag`` trigger flags the leads of an ORM write of a
          field the first trigger does not watch (see ``score_flag``);
        * on the link table of each watched many2many (the tags), a statement
          trigger flags the leads of the links inserted or deleted (of a lead
          being deleted, none).

        Recreated at each update of the module, when the fields may have changed. Uninstalling
        a module whose lead column it watches drops it with the column (Odoo drops columns with
        ``CASCADE``): the next update of this module creates it again.
        """
        cr = self.env.cr
        cr.execute(SQL(
            """CREATE OR REPLACE FUNCTION lead_intelligence_flag_dirty() RETURNS trigger
               LANGUAGE plpgsql AS $$ BEGIN
                 INSERT INTO crm_lead_dirty (lead_id) VALUES (NEW.id)
                 ON CONFLICT (lead_id) DO UPDATE SET flagged_at = EXCLUDED.flagged_at;
                 RETURN NULL;
               END $$;
               CREATE OR REPLACE FUNCTION lead_intelligence_flag_dirty_inserted() RETURNS trigger
               LANGUAGE plpgsql AS $$ BEGIN
                 INSERT INTO crm_lead_dirty (lead_id) SELECT id FROM lead_intelligence_new_leads
                 ON CONFLICT (lead_id) DO UPDATE SET flagged_at = EXCLUDED.flagged_at;
                 RETURN NULL;
               END $$;
               DROP TRIGGER IF EXISTS lead_intelligence_flag_dirty ON crm_lead;
               DROP TRIGGER IF EXISTS lead_intelligence_flag_dirty_insert ON crm_lead;
               CREATE TRIGGER lead_intelligence_flag_dirty_insert AFTER INSERT ON crm_lead
                 REFERENCING NEW TABLE AS lead_intelligence_new_leads
                 FOR EACH STATEMENT EXECUTE FUNCTION lead_intelligence_flag_dirty_inserted();"""))
        cr.execute(SQL(
            """DROP TRIGGER IF EXISTS lead_intelligence_flag_dirty_write ON crm_lead;
               CREATE TRIGGER lead_intelligence_flag_dirty_write AFTER UPDATE OF score_flag ON crm_lead FOR EACH ROW
                 EXECUTE FUNCTION lead_intelligence_flag_dirty()"""))
        columns, links = self._get_dirty_watched_columns()
        if columns:
            cr.execute(SQL(
                """CREATE TRIGGER lead_intelligence_flag_dirty AFTER UPDATE OF %(columns)s ON crm_lead FOR EACH ROW
                     WHEN ((%(old)s) IS DISTINCT FROM (%(new)s))
                     EXECUTE FUNCTION lead_intelligence_flag_dirty()""",
                columns=SQL(', ').join(SQL.identifier(column) for column in columns),
                old=SQL(', ').join(SQL.identifier('old', column) for column in columns),
                new=SQL(', ').join(SQL.identifier('new', column) for column in columns)))
        for relation, lead_column in links:
            function = SQL.identifier(f'lead_intelligence_flag_dirty_{relation}')
            cr.execute(SQL(
                """CREATE OR REPLACE FUNCTION %(function)s() RETURNS trigger LANGUAGE plpgsql AS $$
                   BEGIN
                     INSERT INTO crm_lead_dirty (lead_id)
                     SELECT DISTINCT links.%(lead)s FROM lead_intelligence_links links
                       JOIN crm_lead ON crm_lead.id = links.%(lead)s
                     ON CONFLICT (lead_id) DO UPDATE SET flagged_at = EXCLUDED.flagged_at;
                     RETURN NULL;
                   END $$""", function=function, lead=SQL.identifier(lead_column)))
            for event, table in (('INSERT', 'NEW'), ('DELETE', 'OLD')):
                trigger = SQL.identifier(f'lead_intelligence_flag_dirty_{event.lower()}')
                cr.execute(SQL(
                    """DROP TRIGGER IF EXISTS %(trigger)s ON %(relation)s;
                       CREATE TRIGGER %(trigger)s AFTER %(event)s ON %(relation)s
                         REFERENCING %(table)s TABLE AS lead_intelligence_links
                         FOR EACH STATEMENT EXECUTE FUNCTION %(function)s()""",
                    trigger=trigger, relation=SQL.identifier(relation), event=SQL(event), table=SQL(table),
                    function=function))

    @api.model
    @tools.ormcache()
    def _get_dirty_watched_fields(self):
        """The names of the fields whose every change the triggers of :meth:`_init_dirty_triggers`
        flag (:meth:`_get_dirty_watched_columns`, the many2many fields by their link tables)."""
        columns, links = self._get_dirty_watched_columns()
        return frozenset(columns) | frozenset(
            name for name, field in self._fields.items()
            if field.type == 'many2many' and (field.relation, field.column1) in links)

    @api.model
    def _get_dirty_watched_columns(self):
        """What the triggers of :meth:`_init_dirty_triggers` watch: the columns of the stable
        lead fields (``_is_stable_rule_field``, the fields a stable rule may read) that a write
        can move a score with (not ``NOT_SCORED``), but those the addon's passes write
        themselves (``system_owned``: the behaviour counters, which the events pass
        counts and rescores at once) and the ORM's write bookkeeping.

        :return: (sorted column names of ``crm_lead``, sorted (link table, its lead column)
            of the many2many fields)
        """
        columns, links = set(), set()
        for name, field in self._fields.items():
            if (name in FIELDS_NOT_SCORED or name in ('write_date', 'write_uid')
                    or getattr(field, 'system_owned', False) or not self._is_stable_rule_field(name)):
                continue
            if field.type == 'many2many':
                links.add((field.relation, field.column1))
            elif field.column_type:
                columns.add(name)
        return sorted(columns), sorted(links)

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    def _valid_field_parameter(self, field, name):
        # system_owned: see _check_system_owned_fields; counter: a behaviour counter (events/crm_lead.py)
        return name in ('system_owned', 'counter') or super()._valid_field_parameter(field, name)

    def write(self, vals):
        self._check_system_owned_fields(vals)
        scored = set(vals) - FIELDS_NOT_SCORED
        if scored - self._get_dirty_watched_fields():
            # a field no trigger watches (they flag the others in crm's own UPDATE): score_flag's
            # trigger flags the leads in the same UPDATE, no query of its own
            vals = dict(vals, score_flag=True)
        res = super().write(vals)
        if scored:
            self.invalidate_recordset(['score_dirty'])
        if self.env.context.get('lead_intelligence_score_now'):
            self._score_now()
        elif scored:
            bulk.trigger_job(self.env, 'lead_intelligence.ir_cron_rescore_dirty_leads')
        return res

    def unlink(self):
        # the logs reference the lead without a foreign key (log_fields.UncheckedMany2one): their rows go with it
        log_fields.delete_references(self.env, self._name, self.ids)
        return super().unlink()

    @api.model_create_multi
    def create(self, vals_list):
        self._check_system_owned_fields({name for vals in vals_list for name in vals})
        leads = super().create(vals_list)
        if self.env.context.get('lead_intelligence_score_now'):
            leads._score_now()
        elif leads:  # born dirty
            bulk.trigger_job(self.env, 'lead_intelligence.ir_cron_rescore_dirty_leads')
        return leads

    def _compute_score_dirty(self):
        # the triggers flag the leads in the UPDATE of their pending writes
        self.flush_model()
        ids = [lead_id for lead_id in self._ids if isinstance(lead_id, int)]
        dirty = {row[0] for row in self.env.execute_query(SQL(
            'SELECT lead_id FROM crm_lead_dirty WHERE lead_id = ANY(%s)', ids))} if ids else set()
        for lead in self:
            lead.score_dirty = lead._origin.id in dirty if lead._origin.id else True

    def _search_score_dirty(self, operator, value):
        if operator not in ('in', 'not in'):
            return NotImplemented
        self.flush_model()  # as in _compute_score_dirty
        flagged = SQL('(SELECT lead_id FROM crm_lead_dirty)')
        positive = (True in value) == (operator == 'in')
        return [('id', 'in' if positive else 'not in', flagged)]

    @api.model
    def _get_flagged_domain(self, low, high):
        """The leads flagged dirty with ``low < id <= high``, the range given to the flags as well:
        PostgreSQL then starts from the flags of the range, through their key, rather than from
        every lead of the range (1M leads, 1,000 flagged of a 20,000-lead chunk: 16 ms against 50)."""
        self.flush_model()  # as in _compute_score_dirty
        return Domain('id', 'in', SQL(
            '(SELECT lead_id FROM crm_lead_dirty WHERE lead_id > %s AND lead_id <= %s)', low, high))

    def _check_system_owned_fields(self, names):
        """Refuse a user's write or create naming a field the addon fills in (``system_owned``).

        The passes write those fields by SQL, or through the ORM as superuser:
        only ``env.su`` lets a write through, never a context key, which any RPC
        call may set. The web client does not send read-only fields on save.
        """
        if self.env.su:
            return
        owned = sorted(name for name in names if getattr(self._fields.get(name), 'system_owned', False))
        if owned:
            raise AccessError(self.env._(
                'These fields are filled in by Lead Intelligence and cannot be set by hand: %s.',
                ', '.join(self._fields[name]._description_string(self.env) for name in owned)))

    def web_save(self, vals, specification, next_id=None):
        """A form saved in the UI is scored at once, so the user sees the effect."""
        if self.env['res.config.settings']._get_lead_intelligence_settings()['score_on_save'] == 'now':
            self = self.with_context(lead_intelligence_score_now=True)
        return super().web_save(vals, specification, next_id=next_id)

    # ------------------------------------------------------------
    # PASS HOOKS
    # ------------------------------------------------------------

    @api.model
    def _on_pass_changes(self, changes):
        """Hook of the passes, after each of their writes by SQL: the lead fields they changed
        (scores and tier, the classification's dimensions and classes, the routing state and
        salesperson), an :class:`engine.stages.FieldChanges` of the old and new values.

        Called in the pass's transaction, which may still roll back: what must happen only
        once the changes are committed waits for the commit (``cr.postcommit``). Nothing
        here; the automation rules' bridge runs the rules watching those fields.
        """
