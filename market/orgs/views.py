from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select

from market import evidence
from market.domain import localtime
from market.errors import DomainError, ImportErrors, ValidationError
from market.extensions import db
from market.permissions import can
from market.web import PUBLIC, commit, paginate, permission_required, run_service
from models.organisations import Organisation, RelatedPartyGroup

from . import bp, services
from .forms import (
    AddMemberForm,
    ApproveForm,
    EditForm,
    GroupForm,
    ImportForm,
    RegisterForm,
    RejectForm,
    SizeOverrideForm,
)
from .labels import KIND_LABELS, SIZE_LABELS, STATUS_LABELS

PER_PAGE = 25


def _back(default: str) -> str:
    target = request.form.get("next") or ""
    return target if target.startswith("/") and not target.startswith("//") else default


def _file(field):
    data = field.data
    if data is None or not getattr(data, "filename", ""):
        return None, ""
    return data.stream, data.filename


# ---------------------------------------------------------------- public
KEPT_LICENCE = "register_licence"  # session key: the licence uploaded on a failed try, kept for the retry
SENT_TO = "register_sent_to"  # session key: the e-mail the "we sent you a mail" page names


def _keep_licence(form: RegisterForm) -> dict | None:
    """Store a newly uploaded licence at once (the evidence store, by sha256) and remember it in the
    session, so a form failing on another field does not drop it; a kept one is reused when no new
    file is chosen (issue 13)."""
    stream, filename = _file(form.licence)
    if stream is not None:
        try:
            stored = evidence.store(stream, filename, field="licence", max_bytes=services.LICENCE_MAX_BYTES)
        except ValidationError as err:
            session.pop(KEPT_LICENCE, None)
            form.licence.process_errors.append(err.message)  # shown by validate()
            return None
        session[KEPT_LICENCE] = {"sha256": stored.sha256, "filename": stored.filename}
    kept = session.get(KEPT_LICENCE)
    if kept and not evidence.path_for(kept["sha256"]).is_file():
        session.pop(KEPT_LICENCE, None)
        return None
    return kept


@bp.route("/register", methods=["GET", "POST"])
@permission_required(PUBLIC)
def register():
    if current_user.is_authenticated:
        flash(_("您已登录。如需为另一家机构注册，请先退出登录。"), "info")
        return redirect(url_for("public.home"))
    form = RegisterForm()
    kept = _keep_licence(form) if request.method == "POST" else session.get(KEPT_LICENCE)
    if kept:
        form.licence.validators = []  # the kept file stands in for a new choice
        form.licence.flags.required = False
    if form.validate_on_submit() and kept:
        reg = services.Registration(
            name=form.name.data, english_name=form.english_name.data, uscc=form.uscc.data, kind=form.kind.data,
            address=form.address.data, in_district=form.in_district.data, industry=form.industry.data or None,
            employees=form.employees.data, revenue_cny=form.revenue_cny.data, assets_cny=form.assets_cny.data,
            admin_name=form.admin_name.data, admin_email=form.admin_email.data, password=form.password.data,
            licence=evidence.path_for(kept["sha256"]).open("rb"), licence_filename=kept["filename"],
        )
        try:  # None when the e-mail is taken: answered the same way
            _none, done = run_service(services.register_organisation, reg, form=form)
        finally:
            reg.licence.close()
        if done:
            session.pop(KEPT_LICENCE, None)
            session[SENT_TO] = (form.admin_email.data or "").strip().lower()
            return redirect(url_for("orgs.register_sent"))
    return render_template("orgs/register.html", form=form, kept_licence=kept, retry=request.method == "POST",
                           title=_("机构注册"))


@bp.route("/register/sent")
@permission_required(PUBLIC)
def register_sent():
    """One page whether the e-mail was new (a confirmation link was mailed) or already had an account
    (its owner was mailed a notice): the answer reveals nothing about which e-mails have accounts."""
    email = session.get(SENT_TO)
    if not email:
        return redirect(url_for("orgs.register"))
    return render_template("orgs/register_sent.html", email=email, title=_("申请已提交"))


def _may_see_unverified(org: Organisation) -> bool:
    if not current_user.is_authenticated:
        return False
    return current_user.is_district_staff or current_user.organisation_id == org.id


@bp.route("/<int:org_id>")
@permission_required(PUBLIC)
def profile(org_id: int):
    org = services.get_org(org_id)
    if not org.is_verified and not _may_see_unverified(org):
        abort(404)
    own = current_user.is_authenticated and current_user.organisation_id == org.id
    return render_template("orgs/profile.html", org=org, own=own, title=org.name)


@bp.route("/mine")
@permission_required("org.view_own")
def mine():
    if current_user.organisation_id is None:  # district staff without an organisation of their own
        return redirect(url_for("orgs.admin_list" if current_user.is_district_staff else "public.home"))
    return redirect(url_for("orgs.profile", org_id=current_user.organisation_id))


@bp.route("/<int:org_id>/edit", methods=["GET", "POST"])
@permission_required("org.edit")
def edit(org_id: int):
    org = services.get_org(org_id)
    if not can(current_user, "org.edit", org):
        abort(403)
    form = EditForm(obj=org)
    if form.validate_on_submit():
        stream, filename = _file(form.licence)
        change = services.ProfileChange(
            address=form.address.data, english_name=form.english_name.data, industry=form.industry.data or None,
            employees=form.employees.data, revenue_cny=form.revenue_cny.data, assets_cny=form.assets_cny.data,
            licence=stream, licence_filename=filename,
        )
        if run_service(services.update_profile, current_user, org, change, form=form, ok=_("机构资料已保存。"))[1]:
            return redirect(url_for("orgs.profile", org_id=org.id))
    return render_template("orgs/edit.html", form=form, org=org, title=_("编辑机构资料"))


@bp.route("/<int:org_id>/licence")
@permission_required("org.view_licence")
def licence(org_id: int):
    org = services.get_org(org_id)
    if not can(current_user, "org.view_licence", org):
        abort(403)
    if not org.licence_sha256 or not evidence.path_for(org.licence_sha256).is_file():
        abort(404)
    kind = evidence.sniff(evidence.path_for(org.licence_sha256).read_bytes()[:16]) or "pdf"
    mimetype = {"pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg"}.get(kind, "application/octet-stream")
    return send_file(evidence.path_for(org.licence_sha256), mimetype=mimetype, download_name=f"licence-{org.id}.{kind}")


# ---------------------------------------------------------------- district staff
@bp.route("/review")
@permission_required("org.verify")
def review():
    return render_template("orgs/review.html", pending=services.pending_orgs(), title=_("机构审核队列"))


@bp.route("/admin")
@permission_required("org.view_admin")
def admin_list():
    args = request.args
    stmt = select(Organisation)
    kind, size, district, status, q = (args.get(k, "") for k in ("kind", "size", "district", "status", "q"))
    if kind in KIND_LABELS:
        stmt = stmt.where(Organisation.kind == kind)
    if size in SIZE_LABELS:
        stmt = stmt.where(Organisation.size == size)
    elif size == "none":
        stmt = stmt.where(Organisation.size.is_(None))
    if district in ("1", "0"):
        stmt = stmt.where(Organisation.in_district.is_(district == "1"))
    if status in STATUS_LABELS:
        stmt = stmt.where(Organisation.verification_status == status)
    if q.strip():
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Organisation.name.ilike(like), Organisation.uscc.ilike(like), Organisation.ref.ilike(like)))
    page = paginate(stmt.order_by(Organisation.name, Organisation.id), request.args.get("page", 1, type=int) or 1, PER_PAGE)
    filters = {"kind": kind, "size": size, "district": district, "status": status, "q": q}
    return render_template("orgs/admin_list.html", page=page, filters=filters, title=_("机构管理"))


@bp.route("/admin/<int:org_id>")
@permission_required("org.view_admin")
def admin_detail(org_id: int):
    return _admin_page(services.get_org(org_id))


def _admin_page(org: Organisation, reject_form: RejectForm | None = None, size_form: SizeOverrideForm | None = None,
                status: int = 200):
    """The organisation's review page; a form sent back with an error keeps what was chosen and typed."""
    if size_form is None:
        size_form = SizeOverrideForm(prefix="size", data={"size": org.size if org.size_source == "override" else ""})
    return render_template(
        "orgs/admin_detail.html", org=org, classification=services.classification_for(org),
        approve_form=ApproveForm(prefix="approve"), reject_form=reject_form or RejectForm(prefix="reject"),
        size_form=size_form, today=localtime.today(), title=org.name,
    ), status


@bp.route("/admin/<int:org_id>/approve", methods=["POST"])
@permission_required("org.verify")
def approve(org_id: int):
    org = services.get_org(org_id)
    form = ApproveForm(prefix="approve")
    if form.validate_on_submit():
        run_service(services.approve, current_user, org, ok=_("已通过 %(name)s 的认证，已通知该机构。", name=org.name))
    return redirect(_back(url_for("orgs.admin_detail", org_id=org.id)))


@bp.route("/admin/<int:org_id>/reject", methods=["POST"])
@permission_required("org.verify")
def reject(org_id: int):
    org = services.get_org(org_id)
    form = RejectForm(prefix="reject")
    if form.validate_on_submit():
        if run_service(services.reject, current_user, org, form.reason.data, form=form)[1]:
            flash(_("已将 %(name)s 标记为未通过，并告知了理由。", name=org.name), "warning")
            return redirect(_back(url_for("orgs.admin_detail", org_id=org.id)))
    return _admin_page(org, reject_form=form, status=422)


@bp.route("/admin/<int:org_id>/size", methods=["POST"])
@permission_required("org.override_size")
def override_size(org_id: int):
    org = services.get_org(org_id)
    form = SizeOverrideForm(prefix="size")
    if form.validate_on_submit():
        if run_service(services.override_size, current_user, org, form.size.data or None, form.reason.data, form=form,
                       ok=_("规模已更新并记入历史。"))[1]:
            return redirect(url_for("orgs.admin_detail", org_id=org.id))
    return _admin_page(org, size_form=form, status=422)


@bp.route("/groups", methods=["GET", "POST"])
@permission_required("org.manage_groups")
def groups():
    form = GroupForm()
    if form.validate_on_submit():
        group, done = run_service(services.create_group, current_user, form.name.data, form.basis.data,
                                  form.note.data, form=form, ok=_("关联方组已创建。"))
        if done:
            return redirect(url_for("orgs.group_detail", group_id=group.id))
    all_groups = db.session.execute(select(RelatedPartyGroup).order_by(RelatedPartyGroup.name)).scalars().all()
    return render_template("orgs/groups.html", groups=all_groups, form=form, title=_("关联方组"))


@bp.route("/groups/<int:group_id>", methods=["GET", "POST"])
@permission_required("org.manage_groups")
def group_detail(group_id: int):
    group = services.get_group(group_id)
    form = AddMemberForm()
    if form.validate_on_submit():
        org = services.find_org(form.org.data)
        if org is None:
            form.org.errors.append(_("找不到该机构，请输入 ref 或统一社会信用代码。"))
        else:
            if run_service(services.add_to_group, current_user, group, org, form=form,
                           ok=_("%(name)s 已加入本组。", name=org.name))[1]:
                return redirect(url_for("orgs.group_detail", group_id=group.id))
    return render_template("orgs/group_detail.html", group=group, form=form, remove_form=ApproveForm(), title=group.name)


@bp.route("/groups/<int:group_id>/remove/<int:org_id>", methods=["POST"])
@permission_required("org.manage_groups")
def group_remove(group_id: int, org_id: int):
    group, org = services.get_group(group_id), services.get_org(org_id)
    if ApproveForm().validate_on_submit():
        run_service(services.remove_from_group, current_user, group, org, ok=_("%(name)s 已移出本组。", name=org.name))
    return redirect(url_for("orgs.group_detail", group_id=group.id))


@bp.route("/admin/import", methods=["GET", "POST"])
@permission_required("org.import")
def import_page():
    from market import imports

    from .importer import import_rows

    form = ImportForm()
    errors: list = []
    error_count = 0
    limit_mb = current_app.config["IMPORT_MAX_BYTES"] // (1024 * 1024)
    if form.validate_on_submit():
        source = imports.read_upload(form.file.data, current_app.config["IMPORT_MAX_BYTES"])
        try:
            result = import_rows(current_user, source)
            commit()
        except ImportErrors as err:
            db.session.rollback()
            errors = err.errors
            error_count = err.report.error_count if isinstance(err, imports.ImportRefused) else len(errors)
        except ValidationError as err:
            db.session.rollback()
            errors, error_count = [f"line 0: file: {err.message}"], 1
        except DomainError as err:
            db.session.rollback()
            flash(err.message, "danger")
        else:
            flash(_("导入完成：%(s)s", s=result.summary()), "success")
            return redirect(url_for("orgs.admin_list"))
    return render_template("orgs/import.html", form=form, errors=errors, error_count=error_count, limit_mb=limit_mb,
                           title=_("批量导入机构"))


@bp.route("/admin/export.<fmt>")
@permission_required("org.export")
def export(fmt: str):
    from market import exports

    from .importer import export_table

    exports.require_format(fmt, ("jsonl", "csv", "xlsx"))
    return exports.download(fmt, export_table(), filename=f"{_('机构')}-{exports.stamp()}", fallback=f"organisations-{exports.stamp()}")
