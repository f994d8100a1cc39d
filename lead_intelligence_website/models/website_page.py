from odoo import api, fields, models


class WebsitePage(models.Model):
    _inherit = 'website.page'

    is_key_page = fields.Boolean(
        'Key Page for Lead Scoring',
        help="Views of this page by the visitors of a lead are key page views (a product, solution or "
             "case page) rather than plain visits. A key page is tracked: its views are recorded.")

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get('is_key_page'):
                vals['track'] = True
        return super().create(vals_list)

    def write(self, vals):
        if vals.get('is_key_page'):
            vals = dict(vals, track=True)
        return super().write(vals)


class WebsitePageProperties(models.TransientModel):
    _inherit = 'website.page.properties'

    is_key_page = fields.Boolean(related='target_model_id.is_key_page', readonly=False)
