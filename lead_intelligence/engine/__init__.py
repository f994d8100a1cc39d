"""Pure-Python core of lead_intelligence: numpy only, no Odoo import."""
