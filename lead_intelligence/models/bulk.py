"""Set-based helpers the lead's stages share: chunk sizes, claims of chunks and retries
on conflict, and the chatter's tracking of changes made by SQL, in bulk."""
import logging

import numpy as np
import psycopg2

from odoo.tools import SQL

from ..engine import arrays

_logger = logging.getLogger(__name__)

SCORE_CHUNK_SIZE = 20000  # leads scored, written and committed together


def chunk_size(env, param='lead_intelligence.chunk_size', default=SCORE_CHUNK_SIZE):
    """The chunk size set in the system parameter ``param``, ``default`` when unset or 0."""
    # sudo: a technical system parameter, which only administrators may read otherwise
    return int(env['ir.config_parameter'].sudo().get_param(param, default)) or default


def claim_leads(env, claim_query):
    """Lock and return the ids selected by ``claim_query``, a ``SELECT id ...
    FOR NO KEY UPDATE SKIP LOCKED``."""
    return retry_on_conflict(env, lambda: [row[0] for row in env.execute_query(claim_query)])


def retry_on_conflict(env, function, attempts=3):
    """Call ``function`` as the start of a transaction, again on a fresh one
    if it conflicts with a transaction committed since this one's snapshot.

    Odoo's transactions are REPEATABLE READ: a row another worker committed
    after this transaction's snapshot can neither be locked nor updated. The
    work before was committed, so starting over loses nothing.
    """
    for attempt in range(attempts):
        try:
            with env.cr.savepoint(flush=False):
                return function()
        except psycopg2.errors.SerializationFailure:
            if attempt == attempts - 1:
                raise
            _logger.info('Lead Intelligence: leads changed by another transaction meanwhile, retrying')
            env.cr.rollback()
    return None


def log_tracking(leads, cells, now):
    """Post field changes made by SQL in the chatter, in Odoo's own tracking format:
    one note per lead carrying a tracking value per changed field.

    :param cells: the changes, an :class:`engine.stages.TrackingCells` (display values are codes
        into its ``labels``, 1-based, 0 for none: ``engine.arrays.encode_labels``; integer values
        0 for none)

    One INSERT for the messages and one for their tracking values, however
    many leads changed: ``mail.message.create`` would cost several queries
    per lead in a nightly pass that moves tens of thousands.
    """
    cells = cells.take(_settle_pending_tracking(leads, cells))
    if not len(cells):
        return
    author = leads.env.user.partner_id
    subtype_id = leads.env['ir.model.data']._xmlid_to_res_id('mail.mt_note')
    leads.env.execute_query(SQL(
        """WITH changes AS (
               SELECT res_id, field_id, old_int, new_int,
                      COALESCE((%(labels)s::varchar[])[old_code], '') AS old_char,
                      COALESCE((%(labels)s::varchar[])[new_code], '') AS new_char
                 FROM unnest(%(ids)s::int[], %(fields)s::int[], %(old_int)s::int[], %(new_int)s::int[],
                             %(old_code)s::int[], %(new_code)s::int[])
                      AS c(res_id, field_id, old_int, new_int, old_code, new_code)
           ), messages AS (
               INSERT INTO mail_message (model, res_id, message_type, subtype_id, is_internal, body, author_id,
                                         email_from, date, create_uid, create_date, write_uid, write_date)
               SELECT 'crm.lead', res_id, 'notification', %(subtype)s, TRUE, '',
                      %(author)s, %(email_from)s, %(now)s, %(uid)s, %(now)s, %(uid)s, %(now)s
                 FROM (SELECT DISTINCT res_id FROM changes) leads
               RETURNING id, res_id
           )
           INSERT INTO mail_tracking_value (field_id, mail_message_id, old_value_integer, new_value_integer,
                                            old_value_char, new_value_char,
                                            create_uid, create_date, write_uid, write_date)
           SELECT changes.field_id, messages.id, NULLIF(changes.old_int, 0), NULLIF(changes.new_int, 0),
                  changes.old_char, changes.new_char, %(uid)s, %(now)s, %(uid)s, %(now)s
             FROM messages JOIN changes ON changes.res_id = messages.res_id""",
        ids=arrays.int_array_literal(cells.res_id), fields=arrays.int_array_literal(cells.field_id),
        old_int=arrays.int_array_literal(cells.old_int), new_int=arrays.int_array_literal(cells.new_int),
        old_code=arrays.int_array_literal(cells.old_code), new_code=arrays.int_array_literal(cells.new_code),
        labels=list(cells.labels) or [''], subtype=subtype_id,
        author=author.id or None, email_from=author.email_formatted or None, now=now, uid=leads.env.uid,
    ))
    leads.env['mail.message'].invalidate_model()
    leads.invalidate_model(['message_ids'])


def _settle_pending_tracking(leads, cells):
    """Make Odoo's tracking of a write in this transaction and the pass's SQL changes log each change once.

    A form saved with scoring on save is written through the ORM, whose tracking compares the
    tracked fields at commit with their values before the write; the pass changes some of them
    by SQL within that write. Where the pass changed a field from its value before the write,
    its own line says it all: the tracking takes the pass's value as the one before the write.
    Where the write had changed the field first (a value set by hand cleared, the rules set
    theirs), the tracking's line, from the value before the write, says it all: the pass's
    line is left out.

    :param cells: as for :func:`log_tracking`
    :return: bool array (n,): the changes the pass logs itself
    """
    keep = np.ones(len(cells), dtype=bool)
    pending = leads.env.cr.precommit.data.get(f'mail.tracking.{leads._name}')
    if not pending:
        return keep
    names = {field_id: name for name, field_id in leads.env['ir.model.fields']._get_ids(leads._name).items()}
    settled = []
    labels, old_ints, old_codes = cells.labels, cells.old_int, cells.old_code
    for row, (lead_id, field_id) in enumerate(zip(cells.res_id.tolist(), cells.field_id.tolist(), strict=True)):
        initial = pending.get(lead_id)
        name = names[field_id]
        if not initial or name not in initial:
            continue  # no write of this lead in the transaction, or a field Odoo does not track
        field = leads._fields[name]
        if field.type == 'many2one':
            unchanged = (initial[name].id or 0) == old_ints[row]
        else:
            before = dict(field._description_selection(leads.env)).get(initial[name], '')
            unchanged = before == (labels[old_codes[row] - 1] if old_codes[row] else '')
        if unchanged:
            settled.append((lead_id, name))
        else:
            keep[row] = False
    leads = leads.browse({lead_id for lead_id, _name in settled})
    leads.invalidate_recordset({name for _lead_id, name in settled})
    for lead_id, name in settled:
        pending[lead_id][name] = leads.browse(lead_id)[name]  # the value the pass wrote
    return keep
