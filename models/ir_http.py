from odoo import models
from odoo.http import request

from ..const import API_PREFIX
from ..controllers.main import api_error


class IrHttp(models.AbstractModel):
    _inherit = 'ir.http'

    @classmethod
    def _handle_error(cls, exception):
        # Odoo answers some errors itself, in HTML: an unknown path, a database that kept
        # refusing the transaction after its retries. Machine clients of the API get JSON.
        if request and request.httprequest.path.startswith(API_PREFIX):
            return api_error(exception)
        return super()._handle_error(exception)
