"""Listing pages: browse, my organisation's listings, create/edit per kind, detail, review queue, import."""

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
from markupsafe import Markup

from market import evidence, exports, imports
from market.errors import DomainError, ImportErrors, NotFound
from market.extensions import db
from market.permissions import can
from market.web import PUBLIC, apply_domain_error, commit, paginate, permission_required, rollback, run_service
from models.audit import AuditEntry
from models.listings import ListingKind, ListingStatus, Track

from . import bp, fields, importer, services
from .forms import AttachmentForm, ImportForm, ReviewForm, form_for

VIEWED_KEY = "listings_viewed"


def _show_form_errors(form, err: DomainError) -> None:
    rollback()  # re-render from a clean session (as apply_domain_error does)
    if isinstance(err, fields.ListingInvalid):
        for error in err.errors:
            target = getattr(form, error.field, None)
            if target is not None and hasattr(target, "errors"):
                target.errors = list(target.errors) + [error.message]
            else:
                flash(f"{fields.FIELD_LABELS.get(error.field, error.field)}：{error.message}", "danger")
    else:
        apply_domain_error(form, err)


# ---------------------------------------------------------------- public
@bp.route("/")
@permission_required(PUBLIC)
def index():
    kind = request.args.get("kind") if request.args.get("kind") in set(ListingKind) else None
    track = request.args.get("track") if request.args.get("track") in set(Track) else None
    page = paginate(services.public_query(kind, track), request.args.get("page", 1, type=int), 20)
    return render_template("listings/index.html", page=page, kind=kind, track=track, title=_("开放资源"))


@bp.route("/<ref>")
@permission_required(PUBLIC)
def detail(ref: str):
    listing = services.get_visible(current_user, ref)
    viewed = session.get(VIEWED_KEY, [])
    if listing.is_public and listing.id not in viewed:
        if services.record_view(current_user, listing):
            commit()
            session[VIEWED_KEY] = (viewed + [listing.id])[-200:]
    history = []
    if can(current_user, "listing.view_unpublished", listing):
        history = list(
            db.session.execute(
                db.select(AuditEntry)
                .where(AuditEntry.object_type == "listing", AuditEntry.object_id == listing.ref)
                .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                .limit(30)
            ).scalars()
        )
    return render_template(
        "listings/detail.html", listing=listing, data=fields.read(listing), history=history,
        attachment_form=AttachmentForm(), title=listing.title,
    )


@bp.route("/<ref>/attachments/<int:attachment_id>")
@permission_required(PUBLIC)
def attachment(ref: str, attachment_id: int):
    listing = services.get_visible(current_user, ref)
    att = next((a for a in listing.attachments if a.id == attachment_id), None)
    if att is None or not services.attachment_visible(current_user, listing, att):
        raise NotFound(_("找不到附件。"))
    path = evidence.path_for(att.sha256)
    if not path.is_file():
        abort(404)
    mimetypes = {"pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg"}
    return send_file(path, mimetype=mimetypes.get(att.file_kind, "application/octet-stream"),
                     download_name=att.filename, as_attachment=True)


# ---------------------------------------------------------------- owner pages
@bp.route("/mine")
@permission_required("listing.manage")
def mine():
    org = current_user.organisation
    if org is None:
        abort(403)
    status = request.args.get("status") if request.args.get("status") in set(ListingStatus) else None
    page = paginate(services.org_listings_query(org.id, status), request.args.get("page", 1, type=int), 20)
    return render_template(
        "listings/mine.html", page=page, org=org, status=status,
        kinds=services.allowed_kinds(org), title=_("本机构的条目"),
    )


@bp.route("/new")
@permission_required("listing.manage")
def choose_kind():
    kinds = services.allowed_kinds(current_user.organisation)
    return render_template("listings/choose_kind.html", kinds=kinds, title=_("发布新条目"))


@bp.route("/new/<kind>", methods=["GET", "POST"])
@permission_required("listing.manage")
def create(kind: str):
    if kind not in set(ListingKind):
        abort(404)
    org = current_user.organisation
    if org is None:
        abort(403)
    message = services.owner_kind_error(org, kind)
    if message:
        flash(message, "danger")
        return redirect(url_for("listings.choose_kind"))
    form = form_for(kind)
    if form.validate_on_submit():
        try:
            listing = services.create(current_user, kind, form.to_raw())
            commit()
        except DomainError as err:
            _show_form_errors(form, err)
        else:
            flash(_("已保存为草稿。检查无误后请提交审核。"), "success")
            return redirect(url_for("listings.detail", ref=listing.ref))
    return render_template(
        "listings/form.html", form=form, kind=kind, listing=None,
        title=_("新建%(kind)s", kind=str(fields.KIND_LABELS[kind]).lower()),  # "New research instrument"
    )


@bp.route("/<ref>/edit", methods=["GET", "POST"])
@permission_required("listing.manage")
def edit(ref: str):
    listing = services.get_visible(current_user, ref)
    if not can(current_user, "listing.manage", listing):
        abort(403)
    form = form_for(listing.kind)
    if request.method == "GET":
        form.load(services._revision_base(listing))
    if form.validate_on_submit():
        try:
            revision = services.edit(current_user, listing, form.to_raw())
            commit()
        except DomainError as err:
            _show_form_errors(form, err)
        else:
            if revision is not None:
                flash(_("修改已提交审核；审核通过前，公开页面仍显示当前发布的版本。"), "success")
            else:
                flash(_("已保存。"), "success")
            return redirect(url_for("listings.detail", ref=listing.ref))
    return render_template(
        "listings/form.html", form=form, kind=listing.kind, listing=listing,
        title=_("编辑：%(title)s", title=listing.title),
    )


def _action(ref: str, fn, done: str):
    listing = services.get_visible(current_user, ref)
    run_service(fn, current_user, listing, ok=done)  # another organisation's listing: 403/404, not a redirect
    return redirect(url_for("listings.detail", ref=ref))


@bp.route("/<ref>/submit", methods=["POST"])
@permission_required("listing.manage")
def submit(ref: str):
    return _action(ref, services.submit, _("已提交审核，审核结果会通知您。"))


@bp.route("/<ref>/withdraw", methods=["POST"])
@permission_required("listing.manage")
def withdraw(ref: str):
    return _action(ref, services.withdraw, _("已撤回审核申请。"))


@bp.route("/<ref>/close", methods=["POST"])
@permission_required("listing.close")
def close(ref: str):
    return _action(ref, services.close, _("条目已关闭，不再公开展示。"))


@bp.route("/<ref>/archive", methods=["POST"])
@permission_required("listing.close")
def archive(ref: str):
    return _action(ref, services.archive, _("条目已归档。"))


@bp.route("/<ref>/attachments", methods=["POST"])
@permission_required("listing.manage")
def upload_attachment(ref: str):
    listing = services.get_visible(current_user, ref)
    form = AttachmentForm()
    if not form.validate_on_submit():
        flash(_("请选择要上传的文件。"), "danger")
        return redirect(url_for("listings.detail", ref=ref))
    upload = form.file.data
    if run_service(services.add_attachment, current_user, listing, upload.stream, upload.filename or "file")[1]:
        if listing.status == ListingStatus.PUBLISHED:
            flash(_("附件已上传，审核通过后公开。"), "success")
        else:
            flash(_("附件已上传。"), "success")
    return redirect(url_for("listings.detail", ref=ref))


@bp.route("/<ref>/attachments/<int:attachment_id>/delete", methods=["POST"])
@permission_required("listing.manage")
def delete_attachment(ref: str, attachment_id: int):
    return _action(
        ref, lambda user, listing: services.remove_attachment(user, listing, attachment_id), _("附件已删除（已发布的附件在审核通过后移除）。")
    )


# ---------------------------------------------------------------- reviewers
@bp.route("/review")
@permission_required("listing.review")
def review_queue():
    return render_template("listings/review_queue.html", items=services.review_queue(), title=_("条目审核"))


@bp.route("/review/<ref>", methods=["GET", "POST"])
@permission_required("listing.review")
def review_detail(ref: str):
    listing = services.get(ref)
    form = ReviewForm()
    if form.validate_on_submit():
        decision = "publish" if form.publish.data else "return"
        if run_service(services.review, current_user, listing, decision, form.comment.data, form=form,
                       ok=_("已发布。") if decision == "publish" else _("已退回，发布方会收到您的意见。"))[1]:
            return redirect(url_for("listings.review_queue"))
    revision = listing.pending_revision
    changes = []
    if listing.status == ListingStatus.PUBLISHED and revision is not None:
        current = fields.read(listing)
        proposed = fields.from_json(listing.kind, revision.data)
        changes = [
            (name, current.get(name), proposed.get(name))
            for name in fields.field_names(listing.kind)
            if fields.to_json({name: current.get(name)}) != fields.to_json({name: proposed.get(name)})
        ]
        # descriptions are shown from the HTML stored when they were saved, never rendered here
        changes = [
            (name, Markup(listing.description_html), Markup(revision.description_html or "")) if name == "description"  # noqa: S704 - sanitised when saved
            else (name, old, new)
            for name, old, new in changes
        ]
    data = fields.read(listing)
    data["description"] = Markup(listing.description_html)  # noqa: S704 - sanitised by nh3 when saved
    return render_template(
        "listings/review.html", listing=listing, data=data, revision=revision,
        changes=changes, form=form, title=_("审核：%(title)s", title=listing.title),
    )


# ---------------------------------------------------------------- import / export
@bp.route("/import", methods=["GET", "POST"])
@permission_required("listing.import")
def import_page():
    form = ImportForm()
    errors: list = []
    error_count = 0
    result = None
    if form.validate_on_submit():
        source = imports.read_upload(form.file.data, current_app.config["IMPORT_MAX_BYTES"])
        try:
            result = importer.import_rows(current_user, source, publish=form.publish.data)
            commit()
        except ImportErrors as err:
            errors = err.errors
            error_count = err.report.error_count if isinstance(err, imports.ImportRefused) else len(errors)
        else:
            flash(result.summary(), "success")
    return render_template("listings/import.html", form=form, errors=errors, error_count=error_count,
                           result=result, title=_("批量导入条目"))


@bp.route("/export.<fmt>")
@permission_required("listing.import")
def export(fmt: str):
    exports.require_format(fmt, ("jsonl", "csv", "xlsx"))
    name = _("条目")
    return exports.download(fmt, importer.export_table(), filename=f"{name}-{exports.stamp()}",
                            fallback=f"listings-{exports.stamp()}")
