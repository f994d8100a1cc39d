"""Fields of the addon's logs, the tables a pass appends a row per change to."""

from odoo import fields
from odoo.tools import SQL


class UncheckedMany2one(fields.Many2one):
    """A many2one the database does not check: no foreign key, as ``mail.message`` keeps its
    document (``res_id``).

    A log row per change is written in bulk (a pass that moves every open lead's fit score logs
    every one of them), and PostgreSQL checks a foreign key row by row, with a look-up and a lock
    of the referenced record: for 340,349 score history rows, 2.1 s for the lead and 2.5 s for the
    two tiers, two thirds of the insert. The field's ``ondelete`` is carried out by the referenced
    model's ``unlink`` (:func:`delete_references`), and the log's autovacuum
    (:func:`delete_all_dangling`) removes what a deletion made another way (by SQL, or beside a
    pass still writing) leaves dangling.
    """

    def update_db_foreign_key(self, model, column):
        # no foreign key (a database that had one loses it in a migration: 19.0.1.13.0, 19.0.1.14.0)
        return


def unchecked_fields(env, model=None, comodel=None):
    """(model name, field name) of the :class:`UncheckedMany2one` fields of ``model`` (None: of
    every model) that reference ``comodel`` (None: any)."""
    models = [env[model]] if model else env.registry.models.values()
    return [(Model._name, field.name)
            for Model in models if not Model._abstract and Model._auto
            for field in Model._fields.values()
            if isinstance(field, UncheckedMany2one) and comodel in (None, field.comodel_name)]


def delete_dangling(env, model, field_name, ids=None):
    """Carry out the ``ondelete`` of the :class:`UncheckedMany2one` ``field_name`` of ``model``
    (a model name) for the referenced records ``ids``, or for every record its rows reference
    that no longer exists (``ids`` None): their rows deleted (``cascade``) or the field emptied
    (``set null``). Plain SQL, as the foreign key would do. Returns the number of rows touched."""
    Model = env[model]
    field = Model._fields[field_name]
    table, column = SQL.identifier(Model._table), SQL.identifier(field_name)
    if ids is None:
        comodel_table = SQL.identifier(env[field.comodel_name]._table)
        which = SQL('%s IS NOT NULL AND NOT EXISTS (SELECT 1 FROM %s ref WHERE ref.id = %s.%s)',
                    column, comodel_table, table, column)
    else:
        if not ids:
            return 0
        which = SQL('%s = ANY(%s)', column, list(ids))
    if field.ondelete == 'cascade':
        query = SQL('DELETE FROM %s WHERE %s', table, which)
    else:
        query = SQL('UPDATE %s SET %s = NULL WHERE %s', table, column, which)
    Model.flush_model([field_name])
    env.cr.execute(query)
    Model.invalidate_model(None if field.ondelete == 'cascade' else [field_name])
    return env.cr.rowcount


def delete_references(env, comodel, ids):
    """The ``ondelete`` of every unchecked reference to the records ``ids`` of ``comodel``, which
    are being deleted (their ``unlink``)."""
    for model, field_name in unchecked_fields(env, comodel=comodel):
        delete_dangling(env, model, field_name, ids)


def delete_all_dangling(env, model):
    """The rows of ``model`` (a log) whose unchecked references point to deleted records deleted or
    emptied (its autovacuum)."""
    for _model, field_name in unchecked_fields(env, model=model):
        delete_dangling(env, model, field_name)
