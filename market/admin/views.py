from flask import render_template, request
from flask_babel import gettext as _

from market import exports, outbox
from market.exports import Column, Table
from market.i18n import N_
from market.web import paginate, permission_required, query_args

from . import bp
from .forms import FILTERS, AuditFilterForm
from .services import (
    action_label,
    audit_query,
    entries_in_batches,
    export_rows,
    readable_diff,
    resolve_objects,
    type_label,
)

EXPORT_COLUMNS = (
    Column(N_("时间"), "at", "datetime"),
    Column(N_("操作人"), "actor"),
    Column(N_("操作"), "action"),
    Column(N_("对象"), "object"),
    Column(N_("变更"), "changes"),
)


def _filters() -> tuple[AuditFilterForm, dict]:
    form = AuditFilterForm(request.args)
    form.validate()  # a bad field shows its error and is left out; the others still filter
    return form, {k: form[k].data for k in FILTERS if not form[k].errors}


# an audit action in words wherever a page lists what happened to an object (a listing's 处理记录)
bp.add_app_template_global(action_label, "audit_action_label")


@bp.route("/audit")
@permission_required("audit.view")
def audit_log():
    form, filters = _filters()
    page = paginate(audit_query(**filters), request.args.get("page", 1, type=int), 50)
    objects = resolve_objects(page.items)
    return render_template(
        "admin/audit.html", form=form, page=page, objects=objects, readable_diff=readable_diff,
        action_label=action_label, type_label=type_label, export_args=query_args(page=None), title=_("审计日志"),
        dead_outbox=outbox.dead_count(),
    )


@bp.route("/audit/export.<fmt>")
@permission_required("audit.view")
def audit_export(fmt: str):
    """The filtered view for inspectors (CSV, XLSX, PDF), through market/exports.py."""
    exports.require_format(fmt)
    _form, filters = _filters()
    table = Table(_("审计日志"), EXPORT_COLUMNS, export_rows(entries_in_batches(audit_query(**filters))))
    stamp = exports.stamp()
    return exports.download(fmt, table, filename=f"{_('审计日志')}-{stamp}", fallback=f"audit-{stamp}", title=_("审计日志"))
