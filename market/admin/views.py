from flask import render_template, request
from flask_babel import gettext as _

from market import outbox
from market.web import paginate, permission_required

from . import bp
from .forms import AuditFilterForm
from .services import audit_query, diff


@bp.route("/audit")
@permission_required("audit.view")
def audit_log():
    form = AuditFilterForm(request.args)
    form.validate()  # a bad field shows its error and is left out; the others still filter
    names = ("actor", "action", "object_type", "object_id", "date_from", "date_to")
    filters = {k: form[k].data for k in names if not form[k].errors}
    page = paginate(audit_query(**filters), request.args.get("page", 1, type=int), 50)
    return render_template(
        "admin/audit.html", form=form, page=page, diff=diff, title=_("审计日志"), dead_outbox=outbox.dead_count()
    )
