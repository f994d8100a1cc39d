"""The floor PostgreSQL itself allows for the writes of a first classification, with no Odoo at all.

``first_classification`` gives every open lead its values from nothing, and the
issue asks that every change be stored on the lead, in the chatter (Odoo's
tracking format) and in the history. Right after that pass the orchestrator
copies what it wrote into unlogged tables (:func:`snapshot_writes`): the leads'
new values, their classes, the tracking values and the history rows. Once the
classification is cleared again, :func:`replay_writes` writes the very same
rows back by plain SQL, chunk by chunk in id order and committing per chunk
like the pass: one ``UPDATE`` of ``crm_lead``, one ``INSERT`` of classes, one of
chatter notes with their tracking values, one of history rows per chunk.

No rule is matched, no value computed and nothing sent from Python: the rows
come from tables on the server. What is left is the cost of the writes
themselves (the heap and the indexes of ``crm_lead``, ``mail_message``,
``mail_tracking_value`` and the history, their foreign keys, the WAL), which no
implementation can beat while it stores what the issue asks it to store.
"""

import time

from psycopg2 import sql

from bench.scratchdb import cursor

CHUNK_SIZE = 20_000  # leads per transaction, as the addon's default chunk
SELECTION_COLUMNS = ["company_size", "job_level", "source_type", "sales_stage_class", "intent_level",
                     "lifecycle_stage"]
VALUE_COLUMNS = ["industry_id", *SELECTION_COLUMNS]
TABLES = ("bench_classify_leads", "bench_classify_classes", "bench_classify_tracking", "bench_classify_history",
          "bench_classify_message")

SNAPSHOT = [
    # the leads whose values the pass wrote, with those values
    sql.SQL("""CREATE UNLOGGED TABLE bench_classify_leads AS
               SELECT id, {columns} FROM crm_lead
                WHERE id IN (SELECT lead_id FROM crm_lead_classification_history
                              WHERE date >= %(since)s AND cause = 'rule' AND dimension <> 'class')""").format(
        columns=sql.SQL(", ").join(map(sql.Identifier, VALUE_COLUMNS))),
    # the classes of the leads whose classes it set
    sql.SQL("""CREATE UNLOGGED TABLE bench_classify_classes AS
               SELECT lead_id, class_id FROM crm_lead_class_rel
                WHERE lead_id IN (SELECT lead_id FROM crm_lead_classification_history
                                   WHERE date >= %(since)s AND cause = 'rule' AND dimension = 'class')"""),
    # its tracking values, by lead
    sql.SQL("""CREATE UNLOGGED TABLE bench_classify_tracking AS
               SELECT m.res_id, v.field_id, v.old_value_integer, v.new_value_integer, v.old_value_char,
                      v.new_value_char
                 FROM mail_tracking_value v JOIN mail_message m ON m.id = v.mail_message_id
                WHERE m.model = 'crm.lead' AND m.create_date >= %(since)s
                  AND v.field_id IN (SELECT id FROM ir_model_fields WHERE model = 'crm.lead' AND name = ANY(%(fields)s))
             """),
    # the author, subtype and user of its notes (the same for all)
    sql.SQL("""CREATE UNLOGGED TABLE bench_classify_message AS
               SELECT m.subtype_id, m.author_id, m.email_from, m.create_uid
                 FROM mail_message m JOIN mail_tracking_value v ON v.mail_message_id = m.id
                WHERE m.model = 'crm.lead' AND m.create_date >= %(since)s
                  AND v.field_id IN (SELECT id FROM ir_model_fields WHERE model = 'crm.lead' AND name = ANY(%(fields)s))
                LIMIT 1"""),
    # its history rows
    sql.SQL("""CREATE UNLOGGED TABLE bench_classify_history AS
               SELECT lead_id, date, user_id, dimension, old_value, new_value, cause
                 FROM crm_lead_classification_history WHERE date >= %(since)s AND cause = 'rule'"""),
]

UPDATE_LEADS = sql.SQL(
    """UPDATE crm_lead SET {sets}
         FROM bench_classify_leads s
        WHERE crm_lead.id = s.id AND s.id BETWEEN %(low)s AND %(high)s""").format(
    sets=sql.SQL(", ").join(sql.SQL("{column} = s.{column}").format(column=sql.Identifier(column))
                            for column in VALUE_COLUMNS))
INSERT_CLASSES = sql.SQL(
    """INSERT INTO crm_lead_class_rel (lead_id, class_id)
       SELECT lead_id, class_id FROM bench_classify_classes WHERE lead_id BETWEEN %(low)s AND %(high)s""")
INSERT_TRACKING = sql.SQL(
    """WITH changes AS (
           SELECT * FROM bench_classify_tracking WHERE res_id BETWEEN %(low)s AND %(high)s
       ), messages AS (
           INSERT INTO mail_message (model, res_id, message_type, subtype_id, is_internal, body, author_id,
                                     email_from, date, create_uid, create_date, write_uid, write_date)
           SELECT 'crm.lead', leads.res_id, 'notification', t.subtype_id, TRUE, '', t.author_id, t.email_from,
                  %(now)s, t.create_uid, %(now)s, t.create_uid, %(now)s
             FROM (SELECT DISTINCT res_id FROM changes) leads, bench_classify_message t
           RETURNING id, res_id, create_uid
       )
       INSERT INTO mail_tracking_value (field_id, mail_message_id, old_value_integer, new_value_integer,
                                        old_value_char, new_value_char, create_uid, create_date, write_uid, write_date)
       SELECT changes.field_id, messages.id, changes.old_value_integer, changes.new_value_integer,
              changes.old_value_char, changes.new_value_char, messages.create_uid, %(now)s, messages.create_uid, %(now)s
         FROM messages JOIN changes ON changes.res_id = messages.res_id""")
INSERT_HISTORY = sql.SQL(
    """INSERT INTO crm_lead_classification_history (lead_id, date, user_id, dimension, old_value, new_value, cause)
       SELECT lead_id, %(now)s, user_id, dimension, old_value, new_value, cause
         FROM bench_classify_history WHERE lead_id BETWEEN %(low)s AND %(high)s""")


def snapshot_writes(db, since, tracked_fields):
    """Copy what the classification pass started at ``since`` wrote; return the row counts."""
    counts = {}
    with cursor(db) as cr:
        for table in TABLES:
            cr.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
        for statement in SNAPSHOT:
            cr.execute(statement, {"since": since, "fields": list(tracked_fields)})
        for table in TABLES:
            cr.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
            counts[table] = cr.fetchone()[0]
    return counts


def drop_snapshot(db):
    with cursor(db) as cr:
        for table in TABLES:
            cr.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))


PHASES = (("write", UPDATE_LEADS), ("classes", INSERT_CLASSES), ("tracking", INSERT_TRACKING),
          ("history", INSERT_HISTORY))


def replay_writes(db):
    """Write the snapshot's rows back by plain SQL, a chunk of leads per transaction.

    :return: ``{"leads": n, "phases": {phase: seconds}}`` (the commits in ``commit``)
    """
    seconds = dict.fromkeys([phase for phase, _statement in PHASES] + ["commit"], 0.0)
    with cursor(db) as cr:
        cr.execute("SELECT id FROM bench_classify_leads UNION SELECT lead_id FROM bench_classify_classes "
                   "UNION SELECT res_id FROM bench_classify_tracking UNION SELECT lead_id FROM bench_classify_history "
                   "ORDER BY 1")
        ids = [row[0] for row in cr.fetchall()]
        for start in range(0, len(ids), CHUNK_SIZE):
            cr.execute("SELECT now() AT TIME ZONE 'UTC'")
            params = {"low": ids[start], "high": ids[min(start + CHUNK_SIZE, len(ids)) - 1],
                      "now": cr.fetchone()[0]}
            for phase, statement in PHASES:
                started = time.perf_counter()
                cr.execute(statement, params)
                seconds[phase] += time.perf_counter() - started
            started = time.perf_counter()
            cr.connection.commit()
            seconds["commit"] += time.perf_counter() - started
    return {"leads": len(ids), "phases": {phase: round(value, 3) for phase, value in seconds.items()}}
