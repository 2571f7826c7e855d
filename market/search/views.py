"""Search pages: /search, saved searches, the synonym dictionary (admins)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from market.errors import ValidationError
from market.web import PUBLIC, commit, permission_required, run_service

from . import bp, labels, services
from .forms import SaveSearchForm, SynonymForm

FILTER_NAMES = tuple(labels.FACETS)


def _int_arg(name: str, default: int, lo: int, hi: int) -> int:
    try:
        value = int(request.args.get(name, default))
    except (TypeError, ValueError):
        return default
    return min(max(value, lo), hi)


@bp.route("/")
@permission_required(PUBLIC)
def search_page():
    q = request.args.get("q", "")[:1000]
    raw_filters = {name: request.args.get(name, "") for name in FILTER_NAMES}
    sort = request.args.get("sort", "relevance")
    if sort not in services.SORTS:
        sort = "relevance"
    page = _int_arg("page", 1, 1, 10000)
    error = None
    try:
        result = services.search(q, raw_filters, page=page, per_page=20, sort=sort)
    except ValidationError as err:  # a hand-edited filter: show everything and say why
        error = err.message
        result = services.search(q, {}, page=1, per_page=20, sort=sort)
    save_form = None
    if current_user.is_authenticated and services.permissions.can(current_user, "search.save", current_user):
        save_form = SaveSearchForm(formdata=None, q=q, **result.filters)
    return render_template(
        "search/search.html", title=_("搜索资源"), result=result, q=q, sort=sort, error=error,
        labels=labels, save_form=save_form,
    )


@bp.route("/saved", methods=["GET"])
@permission_required("search.save")
def saved_list():
    return render_template("search/saved.html", title=_("我保存的搜索"), saved=services.saved_searches(current_user), labels=labels)


@bp.route("/saved", methods=["POST"])
@permission_required("search.save")
def saved_create():
    form = SaveSearchForm()
    if form.validate_on_submit():
        filters = {name: getattr(form, name).data for name in FILTER_NAMES if getattr(form, name).data}
        if run_service(services.save_search, current_user, form.name.data, form.q.data, filters, form=form,
                       ok=_("已保存。有新资源符合此搜索时，我们会通知您。"))[1]:
            return redirect(url_for("search.saved_list"))
    for errors in form.errors.values():
        for message in errors:
            flash(message, "danger")
    return redirect(url_for("search.saved_list"))


@bp.route("/saved/<int:saved_id>/delete", methods=["POST"])
@permission_required("search.saved_manage")
def saved_delete(saved_id: int):
    services.delete_saved_search(current_user, saved_id)
    commit()
    flash(_("已删除保存的搜索。"), "success")
    return redirect(url_for("search.saved_list"))


@bp.route("/admin/synonyms", methods=["GET", "POST"])
@permission_required("search.manage_synonyms")
def synonyms_admin():
    form = SynonymForm()
    if form.validate_on_submit():
        if run_service(services.save_synonym, current_user, form.terms.data, form=form, ok=_("已添加同义词组。"))[1]:
            return redirect(url_for("search.synonyms_admin"))
    q, source = _synonym_filter(request.args)
    return render_template("search/synonyms.html", title=_("同义词词典"), form=form, q=q, source=source,
                           page=services.synonym_page(q, source))


def _synonym_filter(values) -> tuple[str, str]:
    """The synonyms page's filter (``q``: a word of the groups' terms; ``source``: one source of the shipped lexicon)."""
    return values.get("q", "").strip()[:50], values.get("source", "").strip()[:200]


@bp.route("/admin/synonyms/<int:synonym_id>", methods=["POST"])
@permission_required("search.manage_synonyms")
def synonym_update(synonym_id: int):
    if request.form.get("action") == "delete":
        run_service(services.delete_synonym, current_user, synonym_id, ok=_("已删除同义词组。"))
    else:
        run_service(services.save_synonym, current_user, request.form.get("terms", ""), synonym_id,
                    ok=_("已更新同义词组。"))
    q, source = _synonym_filter(request.form)  # back to the same filtered list
    return redirect(url_for("search.synonyms_admin", **{k: v for k, v in (("q", q), ("source", source)) if v}))
