"""Organisation services: registration, verification, size, related parties. They flush; the caller commits.

POLICY.md interpretation 4: subsidies go only to verified organisations, SMEs by the national
classification, registered in the district, and never for deals between related parties. The
other features ask this module: :func:`require_verified` before publishing, bidding, booking,
signing or claiming, and :func:`related` to exclude self-dealing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, BinaryIO

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, null, select
from sqlalchemy.exc import IntegrityError

from market import audit, evidence
from market.auth.passwords import check_password_strength, hash_password
from market.db import get_or_404
from market.domain import localtime, orgfacts, parties
from market.domain.sme import Classification, classify, industry_codes
from market.errors import Conflict, PermissionDenied, ValidationError, ValidationErrors
from market.extensions import db
from market.links import path_for
from market.notifications.services import district_staff, notify, org_admins
from market.permissions import require
from models.base import utcnow
from models.organisations import (
    Organisation,
    OrganisationEvent,
    OrganisationFacts,
    OrgKind,
    OrgSize,
    RelatedPartyGroup,
    VerificationStatus,
)
from models.users import Role, User

from .labels import classification_words
from .uscc import validate_uscc

# Universities, institutes and government bodies are not classified (POLICY.md, SME table note);
# enterprises are. `size` is required for an SME unless its figures classify it.
SIZED_KINDS = frozenset({OrgKind.SME, OrgKind.LEADING_FIRM, OrgKind.OTHER})
KINDS = frozenset(k.value for k in OrgKind)
SIZES = frozenset(s.value for s in OrgSize)
GROUP_BASES = ("group", "shareholding", "declared")
LICENCE_MAX_BYTES = 10 * 1024 * 1024  # 营业执照 scan: PDF/PNG/JPG up to 10 MB
NAME_MAX = 200


# ---------------------------------------------------------------- small helpers
def get_org(org_id: int) -> Organisation:
    return get_or_404(Organisation, org_id, _("找不到该机构。"))


def get_group(group_id: int) -> RelatedPartyGroup:
    return get_or_404(RelatedPartyGroup, group_id, _("找不到该关联方组。"))


def _actor_id(actor: Any) -> int | None:
    return getattr(actor, "id", None) if actor is not None and not isinstance(actor, str) else None


def _event(org: Organisation, actor: Any, action: str, **detail: Any) -> OrganisationEvent:
    ev = OrganisationEvent(actor_id=_actor_id(actor), action=action, detail=audit._jsonable(detail))
    org.events.append(ev)
    return ev


def check_name(value: str | None, field_name: str = "name", required: bool = True, max_len: int = NAME_MAX) -> str | None:
    """Plain text: trimmed, bounded, and never starting with '=' (spreadsheets would run it as a formula)."""
    value = (value or "").strip()
    if not value:
        if required:
            raise ValidationError(_("必填。"), field_name)
        return None
    if len(value) > max_len:
        raise ValidationError(_("不能超过 %(n)d 个字符。", n=max_len), field_name)
    if value[0] in "=+@":
        raise ValidationError(_("不能以 =、+ 或 @ 开头（表格软件会把它当作公式）。"), field_name)
    return value


def uscc_taken_by(uscc: str, exclude_id: int | None = None) -> Organisation | None:
    stmt = select(Organisation).where(Organisation.uscc == uscc)
    if exclude_id is not None:
        stmt = stmt.where(Organisation.id != exclude_id)
    return db.session.execute(stmt).scalar_one_or_none()


def pending_orgs() -> list[Organisation]:
    """The verification queue, oldest first (the review page and any dashboard show this)."""
    return list(db.session.execute(
        select(Organisation).where(Organisation.verification_status == VerificationStatus.PENDING).order_by(Organisation.created_at, Organisation.id)
    ).scalars())


def pending_count() -> int:
    return db.session.execute(
        select(func.count()).select_from(Organisation).where(Organisation.verification_status == VerificationStatus.PENDING)
    ).scalar_one()


# ---------------------------------------------------------------- for the other features
def verification_problem(org: Organisation | None) -> str | None:
    """Why ``org`` may not publish, bid, book, sign or claim yet, in words; None when it may.

    The one answer to "must be verified" (POLICY.md interpretation 4), for forms, APIs and imports alike.
    """
    if org is None:
        return _("您的账号不属于任何机构，不能进行此操作。")
    if org.verification_status == VerificationStatus.VERIFIED:
        return None
    if org.verification_status == VerificationStatus.REJECTED:
        return _("%(org)s 的机构认证未通过（%(reason)s），不能发布、投标、预约、签约或申领补贴。请修改资料后重新提交审核。",
                 org=org.name, reason=org.rejection_reason or _("未说明原因"))
    return _("%(org)s 尚未通过机构认证，认证通过后才能发布、投标、预约、签约或申领补贴。", org=org.name)


def require_verified(org: Organisation | None) -> None:
    """Only verified organisations publish, bid, book, sign or claim (POLICY.md interpretation 4)."""
    problem = verification_problem(org)
    if problem:
        raise PermissionDenied(problem)


def related(org_a: Organisation | int, org_b: Organisation | int) -> bool:
    """True when a deal between the two earns no subsidy: one organisation on both sides, or one
    related-party group (same group, shareholding, declared). POLICY.md interpretation 4."""
    a = org_a.id if isinstance(org_a, Organisation) else org_a
    b = org_b.id if isinstance(org_b, Organisation) else org_b
    return parties.relation(a, b, group_map([a, b])) is not None


def group_map(org_ids: Iterable[int] | None = None) -> dict[int, int | None]:
    """Organisation id → related-party group id, loaded once for :func:`market.domain.parties.relation`
    (every organisation when ``org_ids`` is None)."""
    stmt = select(Organisation.id, Organisation.group_id)
    if org_ids is not None:
        stmt = stmt.where(Organisation.id.in_(list(org_ids)))
    return {org_id: group_id for org_id, group_id in db.session.execute(stmt)}


def fact_timelines(org_ids: Iterable[int] | None = None) -> dict[int, orgfacts.Timeline]:
    """Each organisation's dated facts (interpretation 4: judged on the payment date), in one query."""
    f = OrganisationFacts
    stmt = (select(f.organisation_id, f.valid_from, f.valid_to, f.kind, f.size, f.in_district, f.verified, f.group_id)
            .order_by(f.organisation_id, f.valid_from))  # columns, not ORM objects: a year loads them all
    if org_ids is not None:
        stmt = stmt.where(f.organisation_id.in_(list(org_ids)))
    periods: dict[int, list[orgfacts.Period]] = {}
    known: dict[tuple, orgfacts.OrgFacts] = {}  # one object per distinct value (a few hundred for 20,000 periods)
    for org_id, valid_from, valid_to, *values in db.session.execute(stmt):
        facts = known.get(key := tuple(values))
        if facts is None:
            kind, size, in_district, verified, group_id = key
            facts = known[key] = orgfacts.OrgFacts(kind=kind, size=size, in_district=in_district, verified=verified,
                                                   group_id=group_id)
        periods.setdefault(org_id, []).append(orgfacts.Period(valid_from, valid_to, facts))
    return {org_id: orgfacts.Timeline(p) for org_id, p in periods.items()}


def facts_on(org: Organisation | int, moment: dt.datetime) -> orgfacts.OrgFacts | None:
    """What ``org`` was at ``moment`` (None before it was registered)."""
    org_id = org.id if isinstance(org, Organisation) else org
    return orgfacts.facts_at(fact_timelines([org_id]).get(org_id), moment)


# ---------------------------------------------------------------- size
def classification_for(org: Organisation, on_date: dt.date | None = None) -> Classification | None:
    if org.kind not in SIZED_KINDS:
        return None
    return classify(org.industry, org.employees, org.revenue_cny, org.assets_cny, on_date)


def _reclassify(org: Organisation, actor: Any) -> None:
    """Recompute the size from the figures; an admin override stays, but the history shows both."""
    cls = classification_for(org)
    if cls is None:
        return
    if org.size_source == "override":
        if cls.size != org.size:
            _event(org, actor, "reclassified", size_from=org.size, size_to=org.size, classified=cls.size,
                   reason=cls.reason, override_kept=True)
        return
    if cls.size and cls.size != org.size:
        _event(org, actor, "reclassified", size_from=org.size, size_to=cls.size, classified=cls.size, reason=cls.reason)
        org.size, org.size_source = cls.size, "classified"
        org.size_assessed_on = localtime.today()


def override_size(actor: User, org: Organisation, size: str | None, reason: str) -> Organisation:
    """An admin sets the size with a recorded reason; ``size=None`` goes back to the classification."""
    require(actor, "org.override_size", org)
    if org.kind not in SIZED_KINDS:
        raise ValidationError(_("高校、科研院所和政府部门不划分企业规模。"), "size")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("请填写调整理由。"), "reason")
    if len(reason) > 1000:
        raise ValidationError(_("不能超过 %(n)d 个字符。", n=1000), "reason")
    if size is not None and size not in SIZES:
        raise ValidationError(_("规模无效。"), "size")
    before = audit.snapshot(org)
    cls = classification_for(org)
    old = org.size
    if size is None:
        if org.size_source != "override":
            raise ValidationError(_("该机构的规模没有人工调整，无需取消。"), "size")
        org.size = cls.size if cls else None
        org.size_source = "classified" if org.size else None
        org.size_override_reason = None
        _event(org, actor, "size_override_cleared", size_from=old, size_to=org.size,
               classified=cls.size if cls else None, classified_reason=cls.reason if cls else None, reason=reason)
    else:
        org.size, org.size_source, org.size_override_reason = size, "override", reason
        _event(org, actor, "size_override", size_from=old, size_to=size,
               classified=cls.size if cls else None, classified_reason=cls.reason if cls else None, reason=reason)
    org.size_assessed_on = localtime.today()
    audit.record(actor, "org.override_size", org, before, audit.snapshot(org))
    db.session.flush()
    return org


# ---------------------------------------------------------------- registration
@dataclass
class Registration:
    name: str
    uscc: str
    kind: str
    admin_name: str
    admin_email: str
    password: str
    licence: BinaryIO | None
    licence_filename: str = ""
    english_name: str | None = None
    address: str | None = None
    in_district: bool = False
    industry: str | None = None
    employees: int | None = None
    revenue_cny: Decimal | None = None
    assets_cny: Decimal | None = None


def _check_figures(industry: str | None, employees: int | None, revenue: Decimal | None, assets: Decimal | None) -> None:
    if industry and industry not in industry_codes():
        raise ValidationError(_("行业代码无效。"), "industry")
    if employees is not None and employees < 0:
        raise ValidationError(_("从业人员不能为负数。"), "employees")
    if revenue is not None and revenue < 0:
        raise ValidationError(_("营业收入不能为负数。"), "revenue_cny")
    if assets is not None and assets < 0:
        raise ValidationError(_("资产总额不能为负数。"), "assets_cny")


def register_organisation(reg: Registration) -> tuple[Organisation, User] | None:
    """A new organisation and its first org_admin; pending until a district reviewer decides.

    The org_admin cannot log in until they open the confirmation link mailed to them. If the e-mail
    already has an account, nothing is created and its owner is mailed a notice instead (None is
    returned): the caller answers exactly as for a new e-mail, so registration cannot be used to
    probe which e-mails have accounts (issue 8). A password is hashed either way (no timing oracle).
    """
    from market.auth.services import find_user_by_email, send_confirmation, send_registration_notice

    problems: list[ValidationError] = []  # every field's problem in one round, not one per submission

    def check(fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ValidationError as err:
            problems.append(err)
            return None

    name = check(check_name, reg.name, "name")
    english_name = check(check_name, reg.english_name, "english_name", required=False)
    address = check(check_name, reg.address, "address", required=False, max_len=300)
    if check(validate_uscc, reg.uscc, "uscc") is not None and uscc_taken_by(reg.uscc):
        problems.append(ValidationError(
            _("该统一社会信用代码已注册。如属于贵机构，请联系机构管理员或区里工作人员。"), "uscc"))
    if reg.kind not in KINDS:
        problems.append(ValidationError(_("机构类型无效。"), "kind"))
    before = len(problems)
    check(_check_figures, reg.industry, reg.employees, reg.revenue_cny, reg.assets_cny)
    figures_ok = len(problems) == before  # the size is classified from figures that are right
    cls = None
    if reg.kind in SIZED_KINDS and figures_ok:
        cls = classify(reg.industry, reg.employees, reg.revenue_cny, reg.assets_cny)
        if reg.kind == OrgKind.SME and not cls.size:
            problems.append(ValidationError(
                _("中小微企业需填写行业、从业人员、营业收入（部分行业还需资产总额）以便划型：%(r)s", r=classification_words(cls)),
                "industry",
            ))
    admin_name = check(check_name, reg.admin_name, "admin_name", max_len=100)
    email = (reg.admin_email or "").strip().lower()
    if not email or "@" not in email or len(email) > 254:
        problems.append(ValidationError(_("请填写有效的邮箱。"), "admin_email"))
    check(check_password_strength, reg.password, "password")
    if reg.licence is None:
        problems.append(ValidationError(_("请上传营业执照（PDF、PNG 或 JPG）。"), "licence"))
    ValidationErrors.raise_any(problems)
    stored = evidence.store(reg.licence, reg.licence_filename or "licence", field="licence", max_bytes=LICENCE_MAX_BYTES)
    password_hash = hash_password(reg.password)
    owner = find_user_by_email(email)
    if owner is not None:
        send_registration_notice(owner)
        return None

    org = Organisation(
        ref=reg.uscc,  # a registered organisation's stable key is its code (exports need a ref)
        name=name,
        english_name=english_name,
        uscc=reg.uscc,
        kind=reg.kind,
        address=address,
        in_district=bool(reg.in_district),
        industry=reg.industry or None,
        employees=reg.employees,
        revenue_cny=reg.revenue_cny,
        assets_cny=reg.assets_cny,
        size=cls.size if cls else None,
        size_source="classified" if cls and cls.size else None,
        size_assessed_on=localtime.today() if cls and cls.size else None,
        verification_status=VerificationStatus.PENDING,
        licence_sha256=stored.sha256,
        licence_filename=stored.filename,
    )
    user = User(email=email, name=admin_name, password_hash=password_hash, role=Role.ORG_ADMIN, organisation=org,
                email_confirmed_at=null())  # NULL, not the column default: unconfirmed until the link
    db.session.add_all([org, user])
    db.session.flush()
    _event(org, user, "registered", size=org.size, classification=cls.reason if cls else None, licence=stored.sha256)
    audit.record(user, "org.register", org, None, audit.snapshot(org))
    notify(district_staff(Role.DISTRICT_REVIEWER) or district_staff(), "org.pending",
           _l("新机构待审核：%(name)s", name=org.name),
           _l("%(name)s（%(uscc)s）已提交注册，请审核营业执照。", name=org.name, uscc=org.uscc),
           path_for("orgs.admin_detail", org_id=org.id))
    try:
        db.session.flush()
    except IntegrityError:  # a concurrent registration took the code or the email
        db.session.rollback()
        raise Conflict(_("该统一社会信用代码或邮箱刚刚被注册，请检查后重试。")) from None
    send_confirmation(user)
    return org, user


# ---------------------------------------------------------------- verification
def approve(actor: User, org: Organisation) -> Organisation:
    require(actor, "org.verify", org)
    if org.verification_status == VerificationStatus.VERIFIED:
        raise Conflict(_("该机构已经通过认证。"))
    before = audit.snapshot(org)
    org.verification_status = VerificationStatus.VERIFIED
    org.verified_at = utcnow()
    org.rejection_reason = None
    _event(org, actor, "verified")
    audit.record(actor, "org.verify", org, before, audit.snapshot(org))
    notify(org_admins(org.id), "org.verified", _l("您的机构已通过认证"),
           _l("%(name)s 已通过长春新区的机构认证，现在可以发布资源、投标、预约、签约和申领补贴。", name=org.name),
           path_for("orgs.profile", org_id=org.id))
    db.session.flush()
    return org


def reject(actor: User, org: Organisation, reason: str) -> Organisation:
    """Refuse a pending organisation, or revoke a verified one; the reason is required and shown to it."""
    require(actor, "org.verify", org)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("请填写不通过的理由。"), "reason")
    if len(reason) > 1000:
        raise ValidationError(_("不能超过 %(n)d 个字符。", n=1000), "reason")
    if org.verification_status == VerificationStatus.REJECTED:
        raise Conflict(_("该机构已是未通过状态。"))
    revoking = org.verification_status == VerificationStatus.VERIFIED
    before = audit.snapshot(org)
    org.verification_status = VerificationStatus.REJECTED
    org.verified_at = None
    org.rejection_reason = reason
    _event(org, actor, "revoked" if revoking else "rejected", reason=reason)
    audit.record(actor, "org.revoke" if revoking else "org.reject", org, before, audit.snapshot(org))
    title = _l("您的机构认证已被撤销") if revoking else _l("您的机构认证未通过")
    notify(org_admins(org.id), "org.rejected", title,
           _l("理由：%(reason)s。请修改资料或重新上传营业执照后再次提交。", reason=reason), path_for("orgs.edit", org_id=org.id))
    db.session.flush()
    return org


# ---------------------------------------------------------------- the organisation's own edits
@dataclass
class ProfileChange:
    address: str | None = None
    english_name: str | None = None
    industry: str | None = None
    employees: int | None = None
    revenue_cny: Decimal | None = None
    assets_cny: Decimal | None = None
    in_district: bool | None = None
    licence: BinaryIO | None = None
    licence_filename: str = ""


def update_profile(actor: User, org: Organisation, change: ProfileChange) -> Organisation:
    """The org admin edits address, English name and figures; the size is reclassified.

    A rejected organisation that uploads a new licence goes back to the review queue.
    """
    require(actor, "org.edit", org)
    address = check_name(change.address, "address", required=False, max_len=300)
    english_name = check_name(change.english_name, "english_name", required=False)
    _check_figures(change.industry, change.employees, change.revenue_cny, change.assets_cny)
    if org.kind == OrgKind.SME:
        cls = classify(change.industry, change.employees, change.revenue_cny, change.assets_cny)
        if not cls.size and org.size_source != "override":
            raise ValidationError(_("中小微企业需填写足以划型的行业与经营数据：%(r)s", r=classification_words(cls)), "industry")
    stored = None
    if change.licence is not None:
        stored = evidence.store(change.licence, change.licence_filename or "licence", field="licence",
                                max_bytes=LICENCE_MAX_BYTES)
    before = audit.snapshot(org)
    new_values = {
        "address": address, "english_name": english_name, "industry": change.industry or None,
        "employees": change.employees, "revenue_cny": change.revenue_cny, "assets_cny": change.assets_cny,
    }
    if change.in_district is not None and actor.is_district_staff:
        new_values["in_district"] = change.in_district  # where it is registered is checked by the district
    changed = {k: [getattr(org, k), v] for k, v in new_values.items() if getattr(org, k) != v}
    for k, (_old, v) in changed.items():
        setattr(org, k, v)
    if stored and stored.sha256 != org.licence_sha256:
        org.licence_sha256, org.licence_filename = stored.sha256, stored.filename
        changed["licence"] = [None, stored.sha256]
    if not changed:
        return org
    _event(org, actor, "profile_updated", changes=changed)
    _reclassify(org, actor)
    if stored and org.verification_status == VerificationStatus.REJECTED:
        org.verification_status = VerificationStatus.PENDING
        _event(org, actor, "resubmitted")
        notify(district_staff(Role.DISTRICT_REVIEWER) or district_staff(), "org.pending",
               _l("机构重新提交审核：%(name)s", name=org.name), "", path_for("orgs.admin_detail", org_id=org.id))
    audit.record(actor, "org.edit", org, before, audit.snapshot(org))
    db.session.flush()
    return org


# ---------------------------------------------------------------- related parties
def create_group(actor: User, name: str, basis: str, note: str | None = None) -> RelatedPartyGroup:
    require(actor, "org.manage_groups")
    name = check_name(name, "name")
    if basis not in GROUP_BASES:
        raise ValidationError(_("关联依据无效。"), "basis")
    if db.session.execute(select(RelatedPartyGroup).where(RelatedPartyGroup.name == name)).scalar_one_or_none():
        raise ValidationError(_("已有同名的关联方组。"), "name")
    group = RelatedPartyGroup(name=name, basis=basis, note=(note or "").strip() or None)
    db.session.add(group)
    audit.record(actor, "org.group_create", group, None, audit.snapshot(group))
    db.session.flush()
    return group


def add_to_group(actor: User, group: RelatedPartyGroup, org: Organisation) -> None:
    require(actor, "org.manage_groups", org)
    if org.group_id == group.id:
        raise Conflict(_("该机构已在此关联方组中。"))
    if org.group_id is not None:
        raise Conflict(_("该机构已属于关联方组“%(g)s”，请先将其移出。", g=org.group.name))
    before = audit.snapshot(org)
    org.group = group
    _event(org, actor, "group_joined", group=group.name, basis=group.basis)
    audit.record(actor, "org.group_add", org, before, audit.snapshot(org))
    db.session.flush()


def remove_from_group(actor: User, group: RelatedPartyGroup, org: Organisation) -> None:
    require(actor, "org.manage_groups", org)
    if org.group_id != group.id:
        raise Conflict(_("该机构不在此关联方组中。"))
    before = audit.snapshot(org)
    org.group = None
    _event(org, actor, "group_left", group=group.name)
    audit.record(actor, "org.group_remove", org, before, audit.snapshot(org))
    db.session.flush()


def find_org(key: str) -> Organisation | None:
    """By ref or USCC (what reviewers type when adding a group member)."""
    key = (key or "").strip()
    if not key:
        return None
    return db.session.execute(
        select(Organisation).where((Organisation.ref == key) | (Organisation.uscc == key.upper()))
    ).scalars().first()
