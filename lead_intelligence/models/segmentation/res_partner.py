from odoo import fields, models

from .rfm import ABC_CLASSES, RFM_SEGMENTS


class ResPartner(models.Model):
    """The customer's RFM segment (from its won deals) and ABC class (its share of the won revenue),
    written by the nightly refresh (``writes/rfm.py``)."""

    _inherit = 'res.partner'

    rfm_recency = fields.Integer('Recency Score', readonly=True, copy=False,
                                 help="1 to 5: the quintile of the customer's last won deal, 5 the most recent.")
    rfm_frequency = fields.Integer('Frequency Score', readonly=True, copy=False,
                                   help="1 to 5: the quintile of the customer's won deals over the RFM window.")
    rfm_monetary = fields.Integer('Monetary Score', readonly=True, copy=False,
                                  help="1 to 5: the quintile of the customer's won revenue over the RFM window.")
    rfm_segment = fields.Selection(RFM_SEGMENTS, 'RFM Segment', readonly=True, copy=False)
    abc_class = fields.Selection(
        ABC_CLASSES, 'ABC Class', readonly=True, copy=False,
        help="A: the customers bringing the first 80 % of the won revenue over the ABC period (Settings), B the "
             "next 15 %, C the rest of those with won revenue; empty: no won revenue in the period.")
