"""What Odoo does not remove on its own when the addon is uninstalled: the PostgreSQL objects the
addon creates by SQL (``crm.lead._init_dirty_table`` and ``_init_dirty_triggers``), and the
storage setting it gives ``crm_lead`` (``crm.lead._init_fillfactor``)."""

from odoo.tools import SQL

PREFIX = 'lead_intelligence_flag_dirty'  # of the triggers and of their functions


def uninstall_hook(env):
    """Drop the dirty-flag triggers, their functions and the table of flags: left behind, the
    triggers would go on flagging leads on every write of crm_lead (and of its tags) for no one."""
    cr = env.cr
    cr.execute(SQL(
        """SELECT trigger.tgname, relation.relname FROM pg_trigger trigger
             JOIN pg_class relation ON relation.oid = trigger.tgrelid
            WHERE starts_with(trigger.tgname, %s) AND NOT trigger.tgisinternal""", PREFIX))
    for trigger, table in cr.fetchall():
        cr.execute(SQL('DROP TRIGGER IF EXISTS %s ON %s', SQL.identifier(trigger), SQL.identifier(table)))
    cr.execute(SQL('SELECT proname FROM pg_proc WHERE starts_with(proname, %s)', PREFIX))
    for (function,) in cr.fetchall():
        cr.execute(SQL('DROP FUNCTION IF EXISTS %s()', SQL.identifier(function)))
    cr.execute(SQL('DROP TABLE IF EXISTS crm_lead_dirty'))
    # crm's own table back to PostgreSQL's default: full pages for the rows written from now on
    cr.execute(SQL('ALTER TABLE crm_lead RESET (fillfactor)'))
