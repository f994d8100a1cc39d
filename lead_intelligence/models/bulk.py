"""Set-based helpers the lead's stages share: chunk sizes, claims of chunks and retries
on conflict, the jobs' triggers, and the chatter's notes and tracking of changes made by SQL, in bulk: the
passes' only writer of ``mail_message`` and ``mail_tracking_value``."""
import logging

import numpy as np
import psycopg2

from odoo.tools import SQL

from ..engine import arrays
from ..engine.stages import Notes

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


def trigger_job(env, xmlid):
    """Have the job ``xmlid`` run as soon as the current transaction commits: one trigger per
    transaction, however many leads or events of it ask.

    The trigger is a row the job's worker sees at the commit, woken by Odoo's ``NOTIFY``
    after it; a burst of writes in one transaction makes one run of the batch job, and only
    the first write of a transaction pays for the trigger. The mark is kept in the
    transaction's post-commit data, which the commit or a rollback clears (a savepoint rolled
    back keeps it: leads flagged after it in the same transaction wait for the job's interval). Never
    skipped because another transaction's trigger is due: a worker running the job has
    deleted it without committing yet, and may have read its work before this transaction's.

    :param xmlid: the job's XML id; absent while the addon's data is being loaded
    """
    data = env.cr.postcommit.data
    key = f'lead_intelligence.trigger.{xmlid}'
    if data.get(key):
        return
    cron = env.ref(xmlid, raise_if_not_found=False)
    if cron:
        # sudo: whoever writes a lead or logs an event asks the system's job to process it
        cron.sudo()._trigger()
        data[key] = True


def log_tracking(leads, cells, now):
    """Post field changes made by SQL in the chatter, in Odoo's own tracking format:
    one note per lead carrying a tracking value per changed field.

    :param cells: the changes, an :class:`engine.stages.TrackingCells` (display values are codes
        into its ``labels``, 1-based, 0 for none: ``engine.arrays.encode_labels``; integer values
        0 for none)

    One statement for the messages and their tracking values, however many leads changed
    (see :func:`post_notes`).
    """
    cells = cells.take(_settle_pending_tracking(leads, cells))
    if not len(cells):
        return
    res_ids = np.unique(cells.res_id)
    post_notes(leads, Notes.silent(res_ids, [''] * len(res_ids)), cells, now)


def post_notes(leads, notes, cells, now):
    """Post internal notes in the chatter of leads, in bulk, in Odoo's own formats: one note per
    row of ``notes`` (its HTML body), carrying the tracking values of the cells of its lead, and
    an inbox notification to its partner, if any.

    :param notes: an :class:`engine.stages.Notes`, at most one per lead
    :param cells: the tracking values, an :class:`engine.stages.TrackingCells` (as for
        :func:`log_tracking`), of leads among the notes'

    One statement, however many leads: ``mail.message.create`` (or ``message_post``) would
    cost several queries per lead in passes that write tens of thousands.
    """
    author = leads.env.user.partner_id
    # bodies as codes into their distinct values (tracking notes all have the same empty body):
    # a list of one string per lead would be sent and parsed as an ARRAY[...] of as many terms
    bodies, (body_codes,) = arrays.encode_labels(notes.body.tolist())
    # the notified partners' rows only when a note notifies someone: one statement either way
    tracking = SQL(
        """INSERT INTO mail_tracking_value (field_id, mail_message_id, old_value_integer, new_value_integer,
                                            old_value_char, new_value_char,
                                            create_uid, create_date, write_uid, write_date)
           SELECT changes.field_id, messages.id, NULLIF(changes.old_int, 0), NULLIF(changes.new_int, 0),
                  changes.old_char, changes.new_char, %(uid)s, %(now)s, %(uid)s, %(now)s
             FROM messages JOIN changes ON changes.res_id = messages.res_id""",
        uid=leads.env.uid, now=now)
    if (notes.partner_id > 0).any():
        tracking = SQL(
            """, tracking AS (%(tracking)s), recipients AS (
                   INSERT INTO mail_message_res_partner_rel (mail_message_id, res_partner_id)
                   SELECT messages.id, notes.partner_id
                     FROM messages JOIN notes ON notes.res_id = messages.res_id WHERE notes.partner_id > 0
               )
               INSERT INTO mail_notification (mail_message_id, res_partner_id, author_id, notification_type,
                                              notification_status, is_read)
               SELECT messages.id, notes.partner_id, %(author)s, 'inbox', 'sent', FALSE
                 FROM messages JOIN notes ON notes.res_id = messages.res_id WHERE notes.partner_id > 0""",
            tracking=tracking, author=author.id or None)
    leads.env.execute_query(SQL(
        """WITH notes AS (
               SELECT n.res_id, COALESCE((%(bodies)s::text[])[n.body_code], '') AS body, n.partner_id
                 FROM unnest(%(ids)s::int[], %(body_codes)s::int[], %(partners)s::int[])
                      AS n(res_id, body_code, partner_id)
           ), changes AS (
               SELECT res_id, field_id, old_int, new_int,
                      COALESCE((%(labels)s::varchar[])[old_code], '') AS old_char,
                      COALESCE((%(labels)s::varchar[])[new_code], '') AS new_char
                 FROM unnest(%(cell_ids)s::int[], %(fields)s::int[], %(old_int)s::int[], %(new_int)s::int[],
                             %(old_code)s::int[], %(new_code)s::int[])
                      AS c(res_id, field_id, old_int, new_int, old_code, new_code)
           ), messages AS (
               INSERT INTO mail_message (model, res_id, message_type, subtype_id, is_internal, body, author_id,
                                         email_from, date, create_uid, create_date, write_uid, write_date)
               SELECT 'crm.lead', res_id, 'notification', %(subtype)s, TRUE, body,
                      %(author)s, %(email_from)s, %(now)s, %(uid)s, %(now)s, %(uid)s, %(now)s
                 FROM notes
               RETURNING id, res_id
           )
           %(tracking)s""",
        ids=arrays.int_array_literal(notes.res_id), partners=arrays.int_array_literal(notes.partner_id),
        bodies=bodies or [''], body_codes=arrays.int_array_literal(body_codes),
        cell_ids=arrays.int_array_literal(cells.res_id), fields=arrays.int_array_literal(cells.field_id),
        old_int=arrays.int_array_literal(cells.old_int), new_int=arrays.int_array_literal(cells.new_int),
        old_code=arrays.int_array_literal(cells.old_code), new_code=arrays.int_array_literal(cells.new_code),
        labels=list(cells.labels) or [''], subtype=leads.env['ir.model.data']._xmlid_to_res_id('mail.mt_note'),
        author=author.id or None, email_from=author.email_formatted or None, now=now, uid=leads.env.uid,
        tracking=tracking,
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
