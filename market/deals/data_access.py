"""Data access applications for databases (art. 7) and public data (art. 13).

Public data opened unconditionally (无条件开放) needs no application; conditional public data is
applied for in one of the two modes art. 13 names: 特许开发 (franchise) or 授权应用 (authorised).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from market import audit
from market.domain.localtime import local_date
from market.errors import Conflict, PermissionDenied, ValidationError
from market.extensions import db
from market.links import path_for
from market.money import parse_money
from market.notifications.services import notify, org_admins
from market.permissions import require
from models.deals import ContractKind, DataAccessMode, DataApplication, DataApplicationStatus
from models.listings import DATA_KINDS, Listing, ListingKind, ListingStatus, OpenMode

from .common import (
    acting_org,
    admins_and_requester,
    clock,
    get_for_parties,
    get_for_update,
    is_party,
    listing_of_kind,
    require_text,
)
from .contracts import create_contract_draft

PUBLIC_DATA_MODES = (DataAccessMode.FRANCHISE, DataAccessMode.AUTHORISED)  # art. 13
MAX_PERIOD_DAYS = 366 * 5


def application_link(app: DataApplication) -> str:
    return path_for("deals.application_detail", application_id=app.id)


def data_listing_by_ref(ref: str) -> Listing:
    return listing_of_kind(ref, DATA_KINDS, _("找不到该数据资源。"))


def is_open_without_application(listing: Listing) -> bool:
    """Public data opened unconditionally (无条件开放, art. 13) is directly accessible."""
    return listing.kind == ListingKind.PUBLIC_DATA and listing.open_mode == OpenMode.UNCONDITIONAL


def modes_for(listing: Listing) -> tuple[str, ...]:
    if listing.kind == ListingKind.PUBLIC_DATA:
        return tuple(m.value for m in PUBLIC_DATA_MODES)
    return (DataAccessMode.USE.value,)


def today_local(now: dt.datetime | None = None) -> dt.date:
    return local_date(clock(now))


def parse_fields(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        items = [str(v).strip() for v in value]
    else:
        items = [s.strip() for s in re.split(r"[,，;；、\n]+", str(value or ""))]
    items = [i[:100] for i in items if i]
    if not items:
        raise ValidationError(_("请列出需要的数据字段。"), "fields")
    if len(items) > 100:
        raise ValidationError(_("数据字段最多 100 个。"), "fields")
    return items


def catalogue_fields(listing: Listing) -> list[str]:
    """The fields the listing's catalogue names (empty: it names none, any request is read by the provider)."""
    return [str(f).strip() for f in (listing.details or {}).get("fields") or [] if str(f).strip()]


def offered_fields(listing: Listing, requested: list[str]) -> list[str]:
    """``requested`` as the catalogue spells them; a field the catalogue does not offer is refused with the list of
    those it does (an application for 身份证号 from a catalogue without it would grant what was never opened)."""
    offered = catalogue_fields(listing)
    if not offered:
        return requested
    by_key = {_field_key(f): f for f in offered}
    unknown = [f for f in requested if _field_key(f) not in by_key]
    if unknown:
        raise ValidationError(_("数据目录中没有这些字段：%(unknown)s。可申请的字段：%(offered)s。",
                                unknown=_("、").join(unknown), offered=_("、").join(offered)), "fields")
    return list(dict.fromkeys(by_key[_field_key(f)] for f in requested))


def _field_key(name: str) -> str:
    return unicodedata.normalize("NFKC", name).replace(" ", "").casefold()  # full-width letters, spaces, case


def _check_period(start: dt.date | None, end: dt.date | None, start_field: str, end_field: str) -> None:
    if start is None:
        raise ValidationError(_("请填写开始日期。"), start_field)
    if end is None:
        raise ValidationError(_("请填写结束日期。"), end_field)
    if end < start:
        raise ValidationError(_("结束日期不能早于开始日期。"), end_field)
    if (end - start).days > MAX_PERIOD_DAYS:
        raise ValidationError(_("使用期限最长五年。"), end_field)


@dataclass
class ApplicationInput:
    purpose: str | None
    fields: Any
    period_start: dt.date | None
    period_end: dt.date | None
    mode: str | None = None


def apply(user: Any, listing_id: int, data: ApplicationInput, now: dt.datetime | None = None) -> DataApplication:
    require(user, "data_application.submit")
    listing = get_for_update(Listing, listing_id, _("找不到该数据资源。"))
    if listing.kind not in DATA_KINDS:
        raise ValidationError(_("只能申请数据库或公共数据。"))
    org = acting_org(user)
    if org.id == listing.owner_id:
        raise PermissionDenied(_("不能申请本机构的数据。"))
    if listing.status != ListingStatus.PUBLISHED:
        raise Conflict(_("该数据资源未发布，暂不接受申请。"))
    if is_open_without_application(listing):
        raise Conflict(_("该公共数据无条件开放，无需申请，可直接访问。"))
    purpose = require_text(data.purpose, "purpose", _("使用目的"), 5000)
    fields = offered_fields(listing, parse_fields(data.fields))
    _check_period(data.period_start, data.period_end, "period_start", "period_end")
    if data.period_end < today_local(now):  # type: ignore[operator]
        raise ValidationError(_("使用期限已经结束。"), "period_end")
    modes = modes_for(listing)
    mode = data.mode or (modes[0] if len(modes) == 1 else None)
    if mode not in modes:
        raise ValidationError(_("请选择申请方式：特许开发或授权应用。"), "mode")
    pending = db.session.execute(
        select(DataApplication).where(
            DataApplication.listing_id == listing.id, DataApplication.applicant_id == org.id,
            DataApplication.status == DataApplicationStatus.SUBMITTED,
        )
    ).scalars().first()
    if pending is not None:
        raise Conflict(_("您的机构已有一份待审批的申请。"))
    app = DataApplication(
        listing=listing, applicant=org, requested_by_id=user.id, purpose=purpose, fields=fields,
        period_start=data.period_start, period_end=data.period_end, mode=mode,
        status=DataApplicationStatus.SUBMITTED,
    )
    db.session.add(app)
    audit.record(user, "data_application.submit", app, None, audit.snapshot(app))
    notify(org_admins(listing.owner_id), "data_application.submitted",
           _l("新的数据使用申请：%(title)s", title=listing.title), org.name, application_link(app))
    db.session.flush()
    return app


@dataclass
class Decision:
    outcome: str  # approve | approve_with_conditions | reject
    conditions: str | None = None
    reason: str | None = None
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    fee_cny: Any = None


def decide(user: Any, application_id: int, decision: Decision, now: dt.datetime | None = None) -> DataApplication:
    """The data owner approves (optionally with conditions and a fee) or rejects with a reason.

    An approval with a fee creates a data_access contract draft (payer = applicant, payee = owner).
    """
    app = get_for_update(DataApplication, application_id, _("找不到该申请。"))
    require(user, "data_application.decide", app.listing)
    acting_org(user)
    if app.status != DataApplicationStatus.SUBMITTED:
        raise Conflict(_("该申请已处理。"))
    before = audit.snapshot(app)
    if decision.outcome == "reject":
        app.rejection_reason = require_text(decision.reason, "reason", _("拒绝原因"), 2000)
        app.status = DataApplicationStatus.REJECTED
        title = _l("数据使用申请未获批准：%(title)s", title=app.listing.title)
        body = app.rejection_reason
    elif decision.outcome in ("approve", "approve_with_conditions"):
        if decision.outcome == "approve_with_conditions":
            app.conditions = require_text(decision.conditions, "conditions", _("附加条件"), 5000)
        valid_from = decision.valid_from or app.period_start
        valid_until = decision.valid_until or app.period_end
        _check_period(valid_from, valid_until, "valid_from", "valid_until")
        if valid_until < today_local(now):
            raise ValidationError(_("有效期已经结束。"), "valid_until")
        app.valid_from, app.valid_until = valid_from, valid_until
        fee = None
        if decision.fee_cny not in (None, ""):
            fee = parse_money(decision.fee_cny, "fee_cny", allow_zero=True)
        app.fee_cny = fee
        app.status = DataApplicationStatus.APPROVED
        if fee:
            app.contract = create_contract_draft(
                user, kind=ContractKind.DATA_ACCESS, payer=app.applicant, payee=app.listing.owner,
                amount_cny=fee, listing=app.listing, source_type="data_application", source_id=app.id,
                title=_l("数据授权合同：%(title)s", title=app.listing.title), note=app.conditions,
            )
        title = _l("数据使用申请已批准：%(title)s", title=app.listing.title)
        body = _l("有效期 %(a)s 至 %(b)s。", a=valid_from.isoformat(), b=valid_until.isoformat())
        if app.conditions:
            body += "\n" + _("附加条件：") + app.conditions
    else:
        raise ValidationError(_("请选择审批结果。"), "outcome")
    app.decided_at = clock(now)
    app.decided_by_id = user.id
    audit.record(user, f"data_application.{decision.outcome}", app, before, audit.snapshot(app))
    notify(admins_and_requester(app.applicant_id, app.requested_by_id), "data_application.decided", title, body, application_link(app))
    db.session.flush()
    return app


def withdraw(user: Any, application_id: int) -> DataApplication:
    app = get_for_update(DataApplication, application_id, _("找不到该申请。"))
    require(user, "data_application.submit")
    if not is_party(user, app.applicant_id):
        raise PermissionDenied(_("只有申请机构可以撤回申请。"))
    if app.status != DataApplicationStatus.SUBMITTED:
        raise Conflict(_("该申请已处理，不能撤回。"))
    before = audit.snapshot(app)
    app.status = DataApplicationStatus.WITHDRAWN
    audit.record(user, "data_application.withdraw", app, before, audit.snapshot(app))
    notify(org_admins(app.listing.owner_id), "data_application.withdrawn",
           _l("数据使用申请已撤回：%(title)s", title=app.listing.title), app.applicant.name, application_link(app))
    db.session.flush()
    return app


def get_application(user: Any, application_id: int) -> DataApplication:
    return get_for_parties(user, DataApplication, application_id, lambda a: (a.applicant_id, a.listing.owner_id),
                           _("找不到该申请。"), _("只有申请双方可以查看该申请。"))


def open_public_data() -> list[Listing]:
    """Unconditionally open public data: directly accessible, listed on the dashboard."""
    return list(db.session.execute(
        select(Listing).where(
            Listing.kind == ListingKind.PUBLIC_DATA, Listing.open_mode == OpenMode.UNCONDITIONAL,
            Listing.status == ListingStatus.PUBLISHED,
        ).order_by(Listing.ref)
    ).scalars())
