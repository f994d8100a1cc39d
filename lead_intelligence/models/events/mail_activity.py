from odoo import fields, models

# activity categories that are behaviour of the lead once done, and the event type they log
ACTIVITY_EVENT_TYPES = {'phonecall': 'call', 'meeting': 'meeting'}


class MailActivity(models.Model):
    _inherit = 'mail.activity'

    def _action_done(self, feedback=False, attachment_ids=None):
        """A call or meeting activity done on a lead is a call or a meeting of that lead.

        Logged under the activity's id, so it counts once whatever happens to
        the activity afterwards. A meeting activity tied to a calendar event is
        left to the calendar event, counted once held (see calendar.event).
        """
        rows = [
            {
                'lead_id': activity.res_id,
                'type': ACTIVITY_EVENT_TYPES[activity.activity_type_id.category],
                'occurred_at': fields.Datetime.now(),
                'external_id': f'mail.activity-{activity.id}',
            }
            for activity in self
            if activity.res_model == 'crm.lead' and activity.res_id
            and activity.activity_type_id.category in ACTIVITY_EVENT_TYPES
            and not (activity.activity_type_id.category == 'meeting' and activity.calendar_event_id)
        ]
        result = super()._action_done(feedback=feedback, attachment_ids=attachment_ids)
        if rows:
            # sudo: marking an activity done logs the lead's behaviour, whoever the user
            self.env['crm.lead.event'].sudo()._log_odoo_events(rows, 'activity')
        return result
