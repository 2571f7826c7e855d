"""Authentication and account services: audited; they flush, the caller (view, CLI) commits.

Password reset and member invitations use signed, expiring links (itsdangerous). A link is
single-use: it carries a fingerprint of the password hash it was issued for, and setting a
password changes the hash, so the same link can never be used twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select, update

from market.audit import record, snapshot
from market.errors import Conflict, NotFound, PermissionDenied, ValidationError
from market.extensions import db
from market.permissions import require
from models.base import utcnow
from models.organisations import Organisation, OrgKind
from models.users import DISTRICT_ROLES, ApiToken, Role, User

from .passwords import check_password_strength, hash_password, verify_password

log = logging.getLogger("market.auth")

RESET_SALT = "market.password-reset"
INVITE_SALT = "market.member-invite"
CONFIRM_SALT = "market.email-confirm"  # a registered organisation's first user confirms the e-mail
CONFIRM_MAX_AGE = 24 * 3600


def find_user_by_email(email: str) -> User | None:
    return db.session.execute(select(User).where(User.email == email.strip().lower())).scalar_one_or_none()


def _login_refused() -> ValidationError:
    """One answer for an unknown email, a wrong password, a locked and a deactivated account."""
    minutes = current_app.config["LOGIN_LOCK_MINUTES"]
    return ValidationError(_("邮箱或密码不正确。连续多次输错后，需等待 %(m)d 分钟才能再次登录。", m=minutes), "password")


def _dummy_hash() -> str:
    """A hash to verify against when the email is unknown, so that both answers take as long
    (made once per process and hasher cost, with the same parameters as real hashes)."""
    fast = bool(current_app.config.get("PASSWORD_HASH_FAST"))
    if fast not in _DUMMY_HASHES:
        _DUMMY_HASHES[fast] = hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASHES[fast]


_DUMMY_HASHES: dict[bool, str] = {}


def _count_failure(user: User, now: dt.datetime) -> None:
    """Count a wrong password in the database itself (UPDATE ... SET n = n + 1 RETURNING n), never
    read-then-write: parallel attempts each add one, and the one that reaches the limit locks."""
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    failures = db.session.execute(
        update(User).where(User.id == user.id).values(failed_logins=User.failed_logins + 1).returning(User.failed_logins)
    ).scalar_one()
    if failures >= limit:
        until = now + dt.timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
        locked = db.session.execute(
            update(User)
            .where(User.id == user.id, User.failed_logins >= limit)
            .values(locked_until=until, failed_logins=0)
            .returning(User.id)
        ).scalar_one_or_none()
        if locked is not None:  # only the attempt that reset the counter records the lock
            record(user, "auth.locked", user, after={"locked_until": until})
    db.session.flush()


def authenticate(email: str, password: str) -> User:
    """Check credentials; lock after repeated failures. Raises ValidationError with one vague message
    whether the account is unknown, locked or deactivated, or the password wrong."""
    user = find_user_by_email(email)
    now = utcnow()
    if user is None:
        verify_password(_dummy_hash(), password or "")
        raise _login_refused()
    db.session.refresh(user)  # the counter and the lock as they are now, not as this session last saw them
    password_ok = verify_password(user.password_hash, password or "")
    if user.locked_until and user.locked_until > now:
        raise _login_refused()
    if not password_ok:
        _count_failure(user, now)
        raise _login_refused()
    if not user.active:
        raise _login_refused()
    if user.email_confirmed_at is None:
        # The password was right: saying so tells nothing to someone without it, and a new organisation's admin is not
        # left believing the password wrong. A fresh link goes out (the login view commits refused attempts too).
        send_confirmation(user)
        raise ValidationError(_("您的邮箱尚未确认。我们已向 %(email)s 重新发送确认邮件，请打开邮件中的链接完成注册后再登录。",
                                email=user.email), "email")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    record(user, "auth.login", user)
    db.session.flush()
    return user


def _end_sessions(user: User) -> None:
    """Every session and remember-me cookie of ``user`` stops working (atomic: UPDATE n = n + 1)."""
    db.session.execute(update(User).where(User.id == user.id).values(session_version=User.session_version + 1))
    db.session.refresh(user, ["session_version"])


def logout(user: User) -> None:
    """Log out everywhere: a copy of this session's cookie (or of another device's) no longer works."""
    _end_sessions(user)
    record(user, "auth.logout", user)
    db.session.flush()


# ---------------------------------------------------------------- passwords


def _set_password(user: User, new_password: str) -> None:
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    user.failed_logins = 0
    user.locked_until = None
    _end_sessions(user)


def change_password(user: User, current_password: str, new_password: str) -> None:
    require(user, "account.manage_own")
    if not verify_password(user.password_hash, current_password):
        raise ValidationError(_("当前密码不正确。"), "current_password")
    if current_password == new_password:
        raise ValidationError(_("新密码不能与当前密码相同。"), "new_password")
    check_password_strength(new_password, "new_password")
    _set_password(user, new_password)
    record(user, "auth.password_changed", user)
    db.session.flush()


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def make_password_token(user: User, salt: str = RESET_SALT) -> str:
    return _serializer(salt).dumps({"uid": user.id, "fp": _fingerprint(user)})


def _max_age(salt: str) -> int:
    if salt == CONFIRM_SALT:
        return int(current_app.config.get("EMAIL_CONFIRM_MAX_AGE", CONFIRM_MAX_AGE))
    key = "INVITE_MAX_AGE" if salt == INVITE_SALT else "PASSWORD_RESET_MAX_AGE"
    return int(current_app.config[key])


def user_for_token(token: str, salt: str = RESET_SALT) -> User:
    """The user a password link was issued to. Raises ValidationError if it expired, was used or forged."""
    try:
        data = _serializer(salt).loads(token, max_age=_max_age(salt))
    except SignatureExpired:
        raise ValidationError(_("此链接已过期，请重新申请重置密码。"), "token") from None
    except BadSignature:
        raise ValidationError(_("此链接无效。"), "token") from None
    user = db.session.get(User, data.get("uid")) if isinstance(data, dict) else None
    if user is None or not user.active or data.get("fp") != _fingerprint(user):
        raise ValidationError(_("此链接已使用过或已失效，请重新申请。"), "token")
    return user


def _send_password_link(user: User, salt: str, subject: str, intro: str) -> str:
    """Queue the mail in the caller's transaction (sent by the outbox drain after the commit)."""
    from market.links import external_url
    from market.notifications.mail import queue_mail

    endpoint = "auth.accept_invite" if salt == INVITE_SALT else "auth.reset_password"
    link = external_url(endpoint, token=make_password_token(user, salt))
    hours = max(1, _max_age(salt) // 3600)
    body = _("%(intro)s\n\n%(link)s\n\n此链接 %(hours)d 小时内有效，只能使用一次。", intro=intro, link=link, hours=hours)
    queue_mail(user.email, subject, body)
    log.info("password link for %s: %s", user.email, link)
    return link


def request_password_reset(email: str) -> str | None:
    """Send a reset link if the account exists and is active. The caller says the same either way."""
    user = find_user_by_email(email)
    if user is None or not user.active:
        log.info("password reset requested for unknown or inactive %s", email)
        return None
    record(user, "auth.password_reset_requested", user)
    db.session.flush()
    link = _send_password_link(
        user, RESET_SALT, _("重置您的平台密码"), _("有人（希望是您）申请重置长春新区开放场景平台的密码。请打开下面的链接设置新密码：")
    )
    return link


def reset_password(token: str, new_password: str, salt: str = RESET_SALT) -> User:
    user = user_for_token(token, salt)
    check_password_strength(new_password, "password")
    before = {"password_changed_at": user.password_changed_at}
    _set_password(user, new_password)
    if user.email_confirmed_at is None:  # the link came by mail: the mailbox is theirs
        user.email_confirmed_at = utcnow()
    action = "auth.invite_accepted" if salt == INVITE_SALT else "auth.password_reset"
    record(user, action, user, before, {"password_changed_at": user.password_changed_at})
    db.session.flush()
    return user


# ---------------------------------------------------------------- e-mail confirmation (registration)


def send_confirmation(user: User) -> str:
    """Queue the link that confirms a newly registered user's e-mail (and logs them in)."""
    from market.links import external_url
    from market.notifications.mail import queue_mail

    link = external_url("auth.confirm_email", token=make_password_token(user, CONFIRM_SALT))
    hours = max(1, _max_age(CONFIRM_SALT) // 3600)
    body = _("您（或有人用您的邮箱）在长春新区开放场景平台申请注册机构 %(org)s。请打开下面的链接确认邮箱并完成注册：\n\n%(link)s\n\n"
             "此链接 %(hours)d 小时内有效，只能使用一次。如果不是您本人操作，请忽略本邮件。",
             org=user.organisation.name if user.organisation else "", link=link, hours=hours)
    queue_mail(user.email, _("请确认您的邮箱，完成机构注册"), body)
    log.info("confirmation link for %s: %s", user.email, link)
    return link


def send_registration_notice(user: User) -> None:
    """Someone tried to register an organisation with ``user``'s e-mail: tell the owner, and nothing else
    (the registration page answers as for a new e-mail, so it cannot be used to probe for accounts)."""
    from market.links import external_url
    from market.notifications.mail import queue_mail

    body = _("有人尝试用您的邮箱在长春新区开放场景平台注册机构。您的账号没有任何改动。"
             "如果是您本人，请直接登录或找回密码：\n\n%(login)s\n%(reset)s\n\n如果不是您本人，请忽略本邮件。",
             login=external_url("auth.login"), reset=external_url("auth.request_reset"))
    queue_mail(user.email, _("有人尝试用您的邮箱注册机构"), body)
    log.info("registration attempted with the existing account %s", user.email)


def confirm_email(token: str) -> User:
    """Confirm the e-mail a confirmation link was issued for. Single-use: a confirmed user's link is
    refused with Conflict (the caller sends them to log in); an expired or forged one with ValidationError."""
    try:
        data = _serializer(CONFIRM_SALT).loads(token, max_age=_max_age(CONFIRM_SALT))
    except SignatureExpired:
        raise ValidationError(_("此确认链接已过期。请用“忘记密码”重新获取链接，设置密码后即可登录。"), "token") from None
    except BadSignature:
        raise ValidationError(_("此链接无效。"), "token") from None
    user = db.session.get(User, data.get("uid")) if isinstance(data, dict) else None
    if user is None or not user.active or data.get("fp") != _fingerprint(user):
        raise ValidationError(_("此链接已使用过或已失效，请重新申请。"), "token")
    if user.email_confirmed_at is not None:
        raise Conflict(_("此邮箱已确认，请直接登录。"))
    user.email_confirmed_at = utcnow()
    user.last_login_at = user.email_confirmed_at
    record(user, "auth.email_confirmed", user, {"email_confirmed_at": None}, {"email_confirmed_at": user.email_confirmed_at})
    db.session.flush()
    return user


# ---------------------------------------------------------------- account


def update_account(user: User, name: str, locale: str | None) -> None:
    require(user, "account.manage_own")
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("请填写姓名。"), "name")
    if locale and locale not in current_app.config["LANGUAGES"]:
        raise ValidationError(_("不支持这种语言。"), "locale")
    before = {"name": user.name, "locale": user.locale}
    user.name, user.locale = name, locale or None
    after = {"name": user.name, "locale": user.locale}
    if before != after:
        record(user, "account.updated", user, before, after)
    db.session.flush()


# ---------------------------------------------------------------- organisation members


def member_role_for(org: Organisation) -> str:
    """The plain member role an organisation's kind allows: SMEs have sme_member, others provider_member."""
    return Role.SME_MEMBER if org.kind == OrgKind.SME else Role.PROVIDER_MEMBER


def assignable_roles(org: Organisation) -> list[str]:
    return [member_role_for(org), Role.ORG_ADMIN]


def get_org(org_id: int) -> Organisation:
    org = db.session.get(Organisation, org_id)
    if org is None:
        raise NotFound(_("机构不存在。"))
    return org


def list_members(actor: User, org: Organisation) -> list[User]:
    require(actor, "org.manage_members", org)
    return list(
        db.session.execute(select(User).where(User.organisation_id == org.id).order_by(User.active.desc(), User.name)).scalars()
    )


def add_member(actor: User, org: Organisation, email: str, name: str, role: str) -> User:
    """Create a member account and email them a link to set their password."""
    require(actor, "org.manage_members", org)
    email = (email or "").strip().lower()
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("请填写姓名。"), "name")
    if role not in assignable_roles(org):
        raise ValidationError(_("此机构类型不能分配该角色。"), "role")
    if db.session.execute(select(func.count()).select_from(User).where(User.email == email)).scalar_one():
        raise ValidationError(_("该邮箱已被注册。"), "email")
    # An unguessable password nobody knows: the member sets their own through the emailed link.
    user = User(email=email, name=name, role=role, organisation=org, password_hash=hash_password(secrets.token_urlsafe(32)))
    db.session.add(user)
    db.session.flush()
    record(actor, "org.member_added", user, after=snapshot(user))
    db.session.flush()
    _send_password_link(
        user,
        INVITE_SALT,
        _("欢迎加入长春新区开放场景平台"),
        _("%(org)s 的管理员为您开通了平台账号。请打开下面的链接设置密码：", org=org.name),
    )
    return user


def _member(actor: User, org: Organisation, user_id: int) -> User:
    require(actor, "org.manage_members", org)
    user = db.session.get(User, user_id)
    if user is None or user.organisation_id != org.id:
        raise NotFound(_("该成员不存在。"))
    if user.role in DISTRICT_ROLES:
        raise PermissionDenied(_("区级工作人员的账号不能在这里修改。"))
    return user


def _other_active_admins(org: Organisation, user: User) -> int:
    return db.session.execute(
        select(func.count())
        .select_from(User)
        .where(User.organisation_id == org.id, User.role == Role.ORG_ADMIN, User.active, User.id != user.id)
    ).scalar_one()


def set_member_active(actor: User, org: Organisation, user_id: int, active: bool) -> User:
    user = _member(actor, org, user_id)
    if user.id == actor.id and not active:
        raise Conflict(_("不能停用自己的账号。"))
    if not active and user.role == Role.ORG_ADMIN and _other_active_admins(org, user) == 0:
        raise Conflict(_("机构至少需要一名在用的管理员。"))
    if user.active == active:
        return user
    before = {"active": user.active}
    user.active = active
    record(actor, "org.member_activated" if active else "org.member_deactivated", user, before, {"active": active})
    if not active:
        _end_sessions(user)
        _revoke_tokens_beyond_role(actor, user)
    db.session.flush()
    return user


def set_member_role(actor: User, org: Organisation, user_id: int, role: str) -> User:
    user = _member(actor, org, user_id)
    if role not in assignable_roles(org):
        raise ValidationError(_("此机构类型不能分配该角色。"), "role")
    if user.role == role:
        return user
    if user.role == Role.ORG_ADMIN and _other_active_admins(org, user) == 0:
        raise Conflict(_("机构至少需要一名在用的管理员。"))
    before = {"role": user.role}
    user.role = role
    record(actor, "org.member_role_changed", user, before, {"role": role})
    _revoke_tokens_beyond_role(actor, user)
    db.session.flush()
    return user


# ---------------------------------------------------------------- API tokens


def _revoke_tokens_beyond_role(actor: User | str, user: User) -> list[ApiToken]:
    """Revoke ``user``'s live tokens once the user may no longer hold tokens (demoted or deactivated).

    A token acts with its user's current role, but a plain member can neither see nor revoke tokens:
    one kept from an admin past would live on out of reach. Audited; the caller commits.
    """
    from market.permissions import can

    if user.active and can(user, "api_token.manage"):
        return []
    tokens = list(
        db.session.execute(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))).scalars()
    )
    now = utcnow()
    for token in tokens:
        token.revoked_at = now
        record(actor, "api_token.revoked", token, {"revoked_at": None}, {"revoked_at": now, "reason": "role"})
    return tokens


def list_tokens(user: User) -> list[ApiToken]:
    require(user, "api_token.manage")
    return list(
        db.session.execute(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())).scalars()
    )


def create_token(user: User, name: str, actor: User | str | None = None) -> tuple[ApiToken, str]:
    """Create a bearer token for ``user``; returns it with its secret (shown once, never stored).

    ``actor`` is the user acting in the UI (permission checked) or a label such as "cli".
    """
    from market.api.auth import new_token_secret, token_digest

    if actor is None or isinstance(actor, User):
        require(actor or user, "api_token.manage")
    if not user.active:
        raise ValidationError(_("此账号已停用，请联系管理员。"), "user")
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("请为令牌起一个名字。"), "name")
    if len(name) > 100:
        raise ValidationError(_("名字太长了（最多 100 个字符）。"), "name")
    secret = new_token_secret()
    token = ApiToken(user=user, name=name, token_sha256=token_digest(secret), prefix=secret[:12])
    db.session.add(token)
    db.session.flush()
    record(actor if actor is not None else user, "api_token.created", token, after={"name": name, "prefix": token.prefix, "user": user.email})
    db.session.flush()
    return token, secret


def list_member_tokens(actor: User) -> list[ApiToken]:
    """The live tokens of the other members of the actor's organisation (for its org admin)."""
    from market.permissions import can

    org = actor.organisation
    if org is None or not can(actor, "org.manage_members", org):
        return []
    return list(
        db.session.execute(
            select(ApiToken)
            .join(User, ApiToken.user_id == User.id)
            .where(User.organisation_id == org.id, User.id != actor.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc())
        ).scalars()
    )


def _may_revoke(actor: User, token: ApiToken) -> bool:
    """Own tokens; and a member's, for whoever manages that member's organisation."""
    from market.permissions import can

    if token.user_id == actor.id:
        return True
    org = token.user.organisation
    return org is not None and token.user.role not in DISTRICT_ROLES and can(actor, "org.manage_members", org)


def revoke_token(token_id: int, actor: User | str) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if isinstance(actor, User):
        require(actor, "api_token.manage")
        if token is not None and not _may_revoke(actor, token):
            token = None  # a token the actor may not touch: as if it did not exist
    if token is None:
        raise NotFound(_("令牌不存在。"))
    if token.revoked_at is not None:
        raise Conflict(_("此令牌已被撤销。"))
    token.revoked_at = utcnow()
    record(actor, "api_token.revoked", token, {"revoked_at": None}, {"revoked_at": token.revoked_at})
    db.session.flush()
    return token
