from flask import abort, current_app, redirect, render_template, request, session, url_for
from flask import flash as _flash
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from market.errors import Conflict, DomainError, ValidationError
from market.web import PUBLIC, apply_domain_error, commit, permission_required, run_service

from . import bp, role_label, services
from .forms import (
    AccountForm,
    ActionForm,
    ChangePasswordForm,
    LoginForm,
    MemberAddForm,
    MemberRoleForm,
    ResetRequestForm,
    SetPasswordForm,
    TokenForm,
)
from .safe_url import safe_next


def flash(message: str, category: str = "success") -> None:
    _flash(message, category)


@bp.route("/login", methods=["GET", "POST"])
@permission_required(PUBLIC)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("public.home"))
    form = LoginForm()
    if request.method == "GET" and request.args.get("email"):  # from the e-mail confirmation link
        form.email.data = request.args["email"][:254]
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except ValidationError as err:
            commit()  # the refused attempt still counts: the failure counter and a lock are kept
            apply_domain_error(form, err)
        else:
            commit()
            login_user(user, remember=form.remember.data)
            if user.locale:
                session["lang"] = user.locale
            return redirect(safe_next(request.args.get("next"), url_for("dashboard.home")))
    return render_template("auth/login.html", form=form, title=_("登录"))


@bp.route("/logout", methods=["POST"])
@permission_required(PUBLIC)
def logout():
    if current_user.is_authenticated:
        services.logout(current_user)  # every copy of this session's cookies stops working
        commit()
    logout_user()
    return redirect(url_for("public.home"))


# ---------------------------------------------------------------- password reset


@bp.route("/reset", methods=["GET", "POST"])
@permission_required(PUBLIC)
def request_reset():
    form = ResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        commit()
        # The same answer whether or not the account exists: no way to probe for emails.
        flash(_("如果该邮箱已注册，我们已向它发送了重置密码的链接。"), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_request.html", form=form, title=_("忘记密码"))


def _set_password_page(token: str, salt: str, title: str):
    try:
        user = services.user_for_token(token, salt)
    except ValidationError as err:
        return render_template("errors/error.html", status=400, message=err.message, title=title), 400
    form = SetPasswordForm()
    if form.validate_on_submit():
        if run_service(services.reset_password, token, form.password.data, salt, form=form,
                       ok=_("密码已设置，请用新密码登录。"))[1]:
            return redirect(url_for("auth.login"))
    return render_template("auth/set_password.html", form=form, title=title, user=user)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@permission_required(PUBLIC)
def reset_password(token: str):
    return _set_password_page(token, services.RESET_SALT, _("重置密码"))


@bp.route("/welcome/<token>", methods=["GET", "POST"])
@permission_required(PUBLIC)
def accept_invite(token: str):
    return _set_password_page(token, services.INVITE_SALT, _("设置密码"))


@bp.route("/confirm/<token>")
@permission_required(PUBLIC)
def confirm_email(token: str):
    """The link mailed on registration: confirms the e-mail, then asks for the password.

    It never logs anyone in by itself: a mailed link that switched the browser into its account would
    let someone sign a victim into an account the sender controls (login CSRF)."""
    try:
        user = services.confirm_email(token)
        commit()
    except Conflict as err:  # already confirmed: the link is spent, the account works (the flash says log in)
        flash(err.message, "info")
        return redirect(url_for("public.home"))
    except ValidationError as err:
        return render_template("errors/error.html", status=400, message=err.message, title=_("确认邮箱")), 400
    flash(_("邮箱已确认，请用注册时设置的密码登录。区里工作人员审核营业执照后会通知您。"), "success")
    next_page = url_for("orgs.profile", org_id=user.organisation_id) if user.organisation_id else None
    return redirect(url_for("auth.login", email=user.email, next=next_page))


# ---------------------------------------------------------------- own account


@bp.route("/account", methods=["GET", "POST"])
@permission_required("account.manage_own")
def account():
    form = AccountForm(obj=current_user if request.method == "GET" else None)
    form.locale.choices = [("", _("跟随浏览器/默认（中文）"))] + list(current_app.config["LANGUAGES"].items())
    if request.method == "GET":
        form.locale.data = current_user.locale or ""
    if form.validate_on_submit():
        if run_service(services.update_account, current_user, form.name.data, form.locale.data or None, form=form)[1]:
            if current_user.locale:
                session["lang"] = current_user.locale
            else:
                session.pop("lang", None)
            flash(_("账号信息已保存。"))
            return redirect(url_for("auth.account"))
    return render_template("auth/account.html", form=form, title=_("我的账号"))


@bp.route("/password", methods=["GET", "POST"])
@permission_required("account.manage_own")
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if run_service(services.change_password, current_user, form.current_password.data, form.new_password.data,
                       form=form)[1]:
            # every other session ended with the old password; this one goes on with the new version
            remember = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
            login_user(current_user._get_current_object(), remember=remember)
            flash(_("密码已修改。"))
            return redirect(url_for("auth.account"))
    return render_template("auth/change_password.html", form=form, title=_("修改密码"))


# ---------------------------------------------------------------- organisation members


def _members_org(org_id: int | None):
    if org_id is None:
        if current_user.organisation_id is None:
            abort(404)
        org_id = current_user.organisation_id
    try:
        return services.get_org(org_id)
    except DomainError:
        abort(404)


def _members_url(org) -> str:
    if org.id == current_user.organisation_id:
        return url_for("auth.members")
    return url_for("auth.org_members", org_id=org.id)


@bp.route("/members", methods=["GET", "POST"])
@permission_required("org.manage_members")
def members():
    if current_user.organisation_id is None:  # district staff without an organisation: pick one
        from sqlalchemy import select

        from market.web import paginate
        from models.organisations import Organisation

        stmt = select(Organisation).order_by(Organisation.name)
        q = (request.args.get("q") or "").strip()
        if q:
            stmt = stmt.where(Organisation.name.contains(q, autoescape=True))
        page = paginate(stmt, request.args.get("page", 1, type=int), 50)
        return render_template("auth/members_pick.html", page=page, q=q, title=_("机构成员"))
    return _members_page(None)


@bp.route("/orgs/<int:org_id>/members", methods=["GET", "POST"])
@permission_required("org.manage_members")
def org_members(org_id: int):
    return _members_page(org_id)


def _role_choices(org):
    return [(r, role_label(r)) for r in services.assignable_roles(org)]


def _members_page(org_id: int | None):
    org = _members_org(org_id)
    form = MemberAddForm()
    form.role.choices = _role_choices(org)
    if form.validate_on_submit():
        user, done = run_service(services.add_member, current_user, org, form.email.data, form.name.data,
                                 form.role.data, form=form)
        if done:
            flash(_("已添加成员 %(name)s，设置密码的链接已发送到 %(email)s。", name=user.name, email=user.email))
            return redirect(_members_url(org))
    users = services.list_members(current_user, org)  # checks the organisation (PermissionDenied -> 403)
    role_forms = {}
    for u in users:
        rf = MemberRoleForm(prefix=f"m{u.id}", formdata=None)
        rf.role.choices = _role_choices(org)
        rf.role.data = u.role
        role_forms[u.id] = rf
    return render_template(
        "auth/members.html", org=org, users=users, form=form, role_forms=role_forms, action_form=ActionForm(),
        title=_("机构成员"),
    )


@bp.route("/orgs/<int:org_id>/members/<int:user_id>/role", methods=["POST"])
@permission_required("org.manage_members")
def member_role(org_id: int, user_id: int):
    org = _members_org(org_id)
    form = MemberRoleForm(prefix=f"m{user_id}")
    form.role.choices = _role_choices(org)
    if form.validate_on_submit():
        user, done = run_service(services.set_member_role, current_user, org, user_id, form.role.data)
        if done:
            flash(_("%(name)s 的角色已改为 %(role)s。", name=user.name, role=role_label(user.role)))
    else:
        flash(_("请选择有效的角色。"), "danger")
    return redirect(_members_url(org))


@bp.route("/orgs/<int:org_id>/members/<int:user_id>/<any(activate, deactivate):op>", methods=["POST"])
@permission_required("org.manage_members")
def member_active(org_id: int, user_id: int, op: str):
    org = _members_org(org_id)
    form = ActionForm()
    if form.validate_on_submit():
        user, done = run_service(services.set_member_active, current_user, org, user_id, op == "activate")
        if done:
            flash(_("已启用 %(name)s。", name=user.name) if user.active else _("已停用 %(name)s。", name=user.name))
    return redirect(_members_url(org))


# ---------------------------------------------------------------- API tokens


@bp.route("/tokens", methods=["GET", "POST"])
@permission_required("api_token.manage")
def tokens():
    form = TokenForm()
    secret = None
    if form.validate_on_submit():
        created, done = run_service(services.create_token, current_user, form.name.data, actor=current_user, form=form)
        if done:
            _token, secret = created
            form = TokenForm(formdata=None)
    return render_template(
        "auth/tokens.html", form=form, tokens=services.list_tokens(current_user), secret=secret,
        member_tokens=services.list_member_tokens(current_user),
        action_form=ActionForm(), title=_("API 令牌"),
    )


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@permission_required("api_token.manage")
def revoke_token(token_id: int):
    form = ActionForm()
    if form.validate_on_submit():
        token, done = run_service(services.revoke_token, token_id, current_user)
        if done:
            flash(_("令牌“%(name)s”已撤销，使用它的调用将立即被拒绝。", name=token.name))
    return redirect(url_for("auth.tokens"))
