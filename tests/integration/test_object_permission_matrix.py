"""The role x route matrix extended from routes to objects (issue 8, "keep it fixed").

One world per module: two sides, A and B, each with a leading firm (provider) and an SME, their
users, and real objects of every kind (listings of each kind, an attachment, availability and a
blocked period, a bid with an attachment, a booking, a data application, a contract with its signed
document, a ledger entry with evidence, notifications, an API token, a saved search, a member to
manage), plus district-level objects (a related-party group, a synonym).

Every route of ``app.url_map`` is walked; a route with path parameters that name an object must
have an entry in ``SPECS`` saying how to fill them from a side's objects and which users may act on
them, so a new route without one fails ``test_every_route_has_an_object_spec`` (parameters that name
no object, such as an export's ``fmt``, are filled from ``FIXED_PARAMS``). Each route is requested with GET
and, if it changes state, POST (CSRF is off in the test config) by: the side-A provider admin and member, the side-A SME admin
and member, a district reviewer, a district admin and an anonymous visitor, on side A's objects and
on side B's. The answer must be exactly what ``permissions.RULES`` declares:

- anonymous on a protected route -> a redirect to the login page (401 JSON on the API);
- a role outside the rule's roles -> 403;
- another organisation's object -> 403 or 404 (and nothing changes: no audit entry is written);
- one's own -> 200 or a redirect that is not to the login page (POST: anything but 401/403/404/5xx).

The object-level part of the expectation is computed with ``permissions.can(user, action, obj)`` on
the real object wherever RULES has an object check; deals (two sides) name their parties here, as
their services do (market/deals/*.py).

The walk runs in three passes over the same world: every GET, then every POST that must be refused
(the audit log must not grow), then every POST that must be let through (these change the world,
so they come last and only check that the permission gate let them in).
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select

from market import evidence
from market.auth.passwords import hash_password
from market.auth.services import CONFIRM_SALT, INVITE_SALT, create_token, make_password_token
from market.extensions import db
from market.ledger import services as ledger_svc
from market.notifications.services import notify
from market.permissions import DISTRICT, RULES, can
from market.web import PUBLIC
from models.audit import AuditEntry
from models.deals import (
    Bid,
    BlockedPeriod,
    Booking,
    Contract,
    DataApplication,
    ResourceAvailability,
)
from models.listings import Listing, ListingAttachment
from models.organisations import Organisation, RelatedPartyGroup, VerificationStatus
from models.search import SavedSearch, SearchSynonym
from models.users import Role, User
from tests.claims_support import add_to_object_matrix as add_claims_to_object_matrix
from tests.conftest import PASSWORD, _clear_tables
from tests.events_support import add_to_object_matrix
from tests.integration.test_role_route_matrix import EXEMPT_ENDPOINTS, EXEMPT_PREFIXES, _actions
from tests.ledger_helpers import full_evidence

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
_n = itertools.count(1)

ACTORS = ("p_admin", "p_staff", "s_admin", "s_member", "reviewer", "d_admin", None)
SIDES = ("A", "B")


# ---------------------------------------------------------------- the world
def _org(kind: str, name: str, sha: str) -> Organisation:
    from market.orgs.uscc import make_valid_uscc

    n = 9000 + next(_n)
    org = Organisation(
        ref=f"OBJ{n}", name=name, uscc=make_valid_uscc(n), kind=kind, in_district=True,
        size="small" if kind == "sme" else None, verification_status=VerificationStatus.VERIFIED,
        licence_sha256=sha, licence_filename="licence.pdf",
    )
    db.session.add(org)
    return org


def _user(role: str, org: Organisation | None, label: str) -> User:
    user = User(email=f"{label.lower()}-{next(_n)}@objects.example.cn", name=label, password_hash=hash_password(PASSWORD),
                role=role, organisation=org)
    db.session.add(user)
    return user


def _listing(owner: Organisation, kind: str, status: str = "published", **fields: Any) -> Listing:
    n = next(_n)
    values: dict[str, Any] = dict(ref=f"OBJ{kind[:2].upper()}{n:04d}", kind=kind, owner=owner, title=f"对象矩阵{kind}{n}",
                                  description="说明", status=status)
    if kind == "scenario":
        values.update(budget_cny=Decimal("500000.00"), deadline=dt.datetime.now(dt.UTC) + dt.timedelta(days=30))
    if kind in ("instrument", "facility", "pilot_base"):
        values.update(rate_cny_per_hour=Decimal("800.00"))
    if kind == "public_data":
        values.update(open_mode="conditional")
    if status == "published":
        values.update(published_at=dt.datetime.now(dt.UTC))
    values.update(fields)
    listing = Listing(**values)
    db.session.add(listing)
    return listing


def _side(name: str, sha: str) -> SimpleNamespace:
    s = SimpleNamespace()
    s.provider = _org("leading_firm", f"对象矩阵龙头{name}", sha)
    s.sme = _org("sme", f"对象矩阵中小{name}", sha)
    s.p_admin = _user(Role.ORG_ADMIN, s.provider, f"p-admin-{name}")
    s.p_staff = _user(Role.PROVIDER_MEMBER, s.provider, f"p-staff-{name}")
    s.p_extra = _user(Role.PROVIDER_MEMBER, s.provider, f"p-extra-{name}")  # the member the admin manages
    s.s_admin = _user(Role.ORG_ADMIN, s.sme, f"s-admin-{name}")
    s.s_member = _user(Role.SME_MEMBER, s.sme, f"s-member-{name}")
    s.scenario = _listing(s.provider, "scenario")
    s.instrument = _listing(s.provider, "instrument")
    s.facility = _listing(s.provider, "facility")
    s.pilot_base = _listing(s.provider, "pilot_base")
    s.database = _listing(s.provider, "database")
    s.public_data = _listing(s.provider, "public_data")
    s.draft = _listing(s.provider, "scenario", status="draft")
    s.closable = _listing(s.provider, "instrument")
    db.session.flush()
    s.attachment = ListingAttachment(listing=s.draft, sha256=sha, filename="spec.pdf", size=len(PDF), file_kind="pdf")
    s.public_attachment = ListingAttachment(listing=s.instrument, sha256=sha, filename="spec.pdf", size=len(PDF),
                                            file_kind="pdf", published=True)
    s.availability = ResourceAvailability(listing=s.instrument, opening_hours={str(d): ["09:00-17:00"] for d in range(5)})
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=60)
    s.block = BlockedPeriod(availability=s.availability, start_at=start, end_at=start + dt.timedelta(hours=4), reason="检修")
    s.bid = Bid(listing=s.scenario, bidder=s.sme, submitted_by=s.s_member, approach="方案", price_cny=Decimal("100000.00"),
                timeline="三个月", attachments=[{"sha256": sha, "filename": "bid.pdf", "size": len(PDF)}])
    s.booking = Booking(listing=s.instrument, renter=s.sme, requested_by=s.s_member, start_at=start + dt.timedelta(days=1),
                        end_at=start + dt.timedelta(days=1, hours=2), purpose="测试", sample_description="样品",
                        rate_cny_per_hour=Decimal("800.00"))
    s.application = DataApplication(listing=s.database, applicant=s.sme, requested_by_id=None, purpose="研究",
                                    fields=["字段"], period_start=dt.date(2027, 1, 1), period_end=dt.date(2027, 6, 30),
                                    mode="use")
    s.contract = Contract(kind="rental", payer=s.sme, payee=s.provider, listing=s.instrument, title="对象矩阵合同",
                          amount_cny=Decimal("120000.00"), payment_schedule=[], status="active",
                          signed_document_sha256=sha, signed_document_filename="contract.pdf")
    db.session.add_all([s.attachment, s.public_attachment, s.availability, s.block, s.bid, s.booking, s.application,
                        s.contract])
    s.saved = SavedSearch(user=s.s_member, name="电镜", query="电镜", filters={})
    db.session.add(s.saved)
    db.session.commit()
    return s


def _build_world() -> SimpleNamespace:
    sha = evidence.store(io.BytesIO(PDF), "licence.pdf").sha256
    w = SimpleNamespace(sha=sha)
    w.reviewer = _user(Role.DISTRICT_REVIEWER, None, "reviewer")
    w.d_admin = _user(Role.DISTRICT_ADMIN, None, "d-admin")
    db.session.commit()
    w.side = {name: _side(name, sha) for name in SIDES}
    w.group = RelatedPartyGroup(name="对象矩阵关联方")
    w.synonym = SearchSynonym(terms=["电镜", "电子显微镜"])
    db.session.add_all([w.group, w.synonym])
    db.session.flush()
    w.side["A"].sme.group_id = w.group.id
    db.session.commit()
    for s in w.side.values():
        s.entry = ledger_svc.record_payment(s.s_admin, s.contract, amount="1000.00",
                                            paid_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
                                            uploads=full_evidence(s.provider.name))
        s.evidence_sha = json.loads(s.entry.evidence_json)[0]["sha256"]
        ledger_svc.dispute(s.p_admin, s.entry, "金额待核")  # so that resolving has a dispute to resolve
        notify([s.p_admin, s.p_staff, s.s_admin, s.s_member], "matrix", "对象矩阵通知")
        db.session.commit()
        s.notification = {u: _latest_notification(getattr(s, u)) for u in ("p_admin", "p_staff", "s_admin", "s_member")}
        s.token, _secret = create_token(s.p_admin, "对象矩阵", actor="test")
        s.reset_token = make_password_token(s.p_extra)
        s.invite_token = make_password_token(s.p_extra, INVITE_SALT)
        s.confirm_token = make_password_token(s.p_extra, CONFIRM_SALT)  # already confirmed: sends to log in
    for u in (w.reviewer, w.d_admin):
        notify([u], "matrix", "对象矩阵通知")
    db.session.commit()
    add_to_object_matrix(w)  # events (issue 11)
    _add_reward_decisions(w)  # subsidies (issue 10)
    add_claims_to_object_matrix(w)  # subsidy claims (issue 10)
    return w


def _add_reward_decisions(w) -> None:
    from models.rewards import RewardDecision

    for s in w.side.values():
        s.reward = RewardDecision(rule="art13_data", organisation_id=s.provider.id, project_title="矩阵项目",
                                  amount_cny=Decimal("1000.00"), reason="矩阵评价意见", parameter_version="2026-01-01",
                                  decided_on=dt.date(2026, 6, 1), evidence={})
        db.session.add(s.reward)
    db.session.commit()


def _latest_notification(user: User):
    from models.notifications import Notification

    return db.session.execute(select(Notification).where(Notification.user_id == user.id)
                              .order_by(Notification.id.desc())).scalars().first()


# ---------------------------------------------------------------- expectations
# An expectation answers, for a user whose role passed the route's rule, whether the object-level
# check lets them act on side ``s``'s object. ``w`` is the world.
Expect = Callable[[Any, SimpleNamespace, User], bool]


def anyone(w, s, u) -> bool:
    return True


def rule(action: str, obj: Callable[[SimpleNamespace], Any]) -> Expect:
    """Exactly what RULES says for ``action`` on the real object."""
    return lambda w, s, u: can(u, action, obj(s))


def parties(*orgs: str, district: bool = True) -> Expect:
    """A deal: its parties (and district staff, who oversee deals) may see it."""

    def check(w, s, u) -> bool:
        if u.role in DISTRICT:
            return district
        return u.organisation_id in {getattr(s, o).id for o in orgs}

    return check


def both(*checks: Expect) -> Expect:
    return lambda w, s, u: all(c(w, s, u) for c in checks)


def only_user(attr: Callable[[SimpleNamespace], Any]) -> Expect:
    return lambda w, s, u: u.id == attr(s)


@dataclass
class Spec:
    params: Callable[[Any, SimpleNamespace], dict[str, Any]]
    get: Expect | None = None  # None: the route has no GET (or GET is not object-level)
    post: Expect | None = None
    data: Callable[[Any, SimpleNamespace], dict[str, Any]] = field(default=lambda w, s: {})
    per_side: bool = True  # False: the object is not owned by a side (district data, fixed values)
    renew: Callable[[Any, SimpleNamespace], None] | None = None  # recreate what an allowed POST consumes


def _new_block(w, s) -> None:
    start = s.block.start_at + dt.timedelta(days=1)
    s.block = BlockedPeriod(availability_id=s.availability.id, start_at=start, end_at=start + dt.timedelta(hours=1),
                            reason="检修")
    db.session.add(s.block)
    db.session.commit()


def _new_attachment(w, s) -> None:
    s.attachment = ListingAttachment(listing_id=s.draft.id, sha256=w.sha, filename="spec.pdf", size=len(PDF),
                                     file_kind="pdf")
    db.session.add(s.attachment)
    db.session.commit()


def _disputant(w, s, u) -> bool:
    """Resolving a dispute: district staff or the party that raised it (the provider, in this world)."""
    return u.role in DISTRICT or u.organisation_id == s.provider.id


PAYMENT = {"amount_cny": "10.00", "paid_at": "2026-03-01T10:00"}


def listing_params(name: str):
    return lambda w, s: {"ref": getattr(s, name).ref}


def _future_local(days: int, hour: int) -> str:
    t = (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    return t.replace(hour=hour, minute=0).strftime("%Y-%m-%dT%H:%M")


OWN_LISTING = rule("listing.manage", lambda s: s.draft)
SEE_DRAFT = rule("listing.view_unpublished", lambda s: s.draft)
SPECS: dict[str, Spec] = {
    # ---- public pages with parameters
    "listings.detail": Spec(listing_params("draft"), get=SEE_DRAFT),
    "listings.attachment": Spec(lambda w, s: {"ref": s.draft.ref, "attachment_id": s.attachment.id}, get=SEE_DRAFT),
    "orgs.profile": Spec(lambda w, s: {"org_id": s.provider.id}, get=anyone),
    "rewards.opener": Spec(lambda w, s: {"org_id": s.provider.id}, get=anyone, post=anyone),
    "rewards.demo": Spec(lambda w, s: {"decl_id": w.declaration.id}, get=anyone, post=anyone, per_side=False),
    "rewards.detail": Spec(lambda w, s: {"decision_id": s.reward.id}, get=rule("subsidies.view", lambda s: s.reward)),
    "rewards.revoke": Spec(lambda w, s: {"decision_id": s.reward.id}, post=anyone,
                           data=lambda w, s: {"reason": "矩阵撤销理由"}),
    "subsidy_exports.sheet_export": Spec(lambda w, s: {"org_id": s.sme.id, "year": 2026, "fmt": "csv"},
                                         get=rule("subsidies.view", lambda s: s.sme)),
    "subsidy_estimates.estimate": Spec(lambda w, s: {"ref": s.scenario.ref}, get=anyone),
    "subsidies.sheet": Spec(lambda w, s: {"org_id": s.sme.id, "year": 2026}, get=rule("subsidies.view", lambda s: s.sme)),
    "listings_api.get_listing": Spec(listing_params("draft"), get=SEE_DRAFT),
    "auth.reset_password": Spec(lambda w, s: {"token": s.reset_token}, get=anyone, post=anyone),
    "auth.accept_invite": Spec(lambda w, s: {"token": s.invite_token}, get=anyone, post=anyone),
    "auth.confirm_email": Spec(lambda w, s: {"token": s.confirm_token}, get=anyone),
    # ---- listings (the draft belongs to the provider; the reviewer handles it in the queue)
    "listings.edit": Spec(listing_params("draft"), get=OWN_LISTING, post=OWN_LISTING,
                          data=lambda w, s: {"title": s.draft.title, "description": "改", "track": "digital_healthcare",
                                             "scenario_mode": "rd_collaboration", "budget_cny": "500000.00"}),
    "listings.submit": Spec(listing_params("draft"), post=OWN_LISTING),
    "listings.withdraw": Spec(listing_params("draft"), post=OWN_LISTING),
    "listings.close": Spec(listing_params("closable"), post=rule("listing.close", lambda s: s.closable)),
    "listings.archive": Spec(listing_params("closable"), post=rule("listing.close", lambda s: s.closable)),
    "listings.upload_attachment": Spec(listing_params("draft"), post=OWN_LISTING),
    "listings.delete_attachment": Spec(lambda w, s: {"ref": s.draft.ref, "attachment_id": s.attachment.id}, post=OWN_LISTING,
                                       renew=_new_attachment),
    "listings.review_detail": Spec(listing_params("draft"), get=anyone, post=anyone),
    # ---- organisations
    "orgs.edit": Spec(lambda w, s: {"org_id": s.provider.id}, get=rule("org.edit", lambda s: s.provider),
                      post=rule("org.edit", lambda s: s.provider), data=lambda w, s: {"name": s.provider.name}),
    "orgs.licence": Spec(lambda w, s: {"org_id": s.provider.id}, get=rule("org.view_licence", lambda s: s.provider)),
    "orgs.admin_detail": Spec(lambda w, s: {"org_id": s.provider.id}, get=anyone),
    "orgs.approve": Spec(lambda w, s: {"org_id": s.provider.id}, post=anyone),
    "orgs.reject": Spec(lambda w, s: {"org_id": s.provider.id}, post=anyone),
    "orgs.override_size": Spec(lambda w, s: {"org_id": s.sme.id}, post=anyone),
    "orgs.group_detail": Spec(lambda w, s: {"group_id": w.group.id}, get=anyone, post=anyone, per_side=False),
    "orgs.group_remove": Spec(lambda w, s: {"group_id": w.group.id, "org_id": w.side["A"].sme.id}, post=anyone,
                              per_side=False),
    # ---- members and tokens
    "auth.org_members": Spec(lambda w, s: {"org_id": s.provider.id}, get=rule("org.manage_members", lambda s: s.provider),
                             post=rule("org.manage_members", lambda s: s.provider),
                             data=lambda w, s: {"email": f"new{next(_n)}@objects.example.cn", "name": "新成员",
                                                "role": "provider_member"}),
    "auth.member_role": Spec(lambda w, s: {"org_id": s.provider.id, "user_id": s.p_extra.id},
                             post=rule("org.manage_members", lambda s: s.provider),
                             data=lambda w, s: {f"m{s.p_extra.id}-role": "provider_member"}),
    "auth.member_active": Spec(lambda w, s: {"org_id": s.provider.id, "user_id": s.p_extra.id, "op": "activate"},
                               post=rule("org.manage_members", lambda s: s.provider)),
    # a token's owner, and whoever manages the owner's members (its org admin, the district admin)
    "auth.revoke_token": Spec(lambda w, s: {"token_id": s.token.id}, post=lambda w, s, u: (
        u.id == s.token.user_id or can(u, "org.manage_members", s.token.user.organisation))),
    # ---- notifications: the side's SME member's
    "notifications.read": Spec(lambda w, s: {"notification_id": s.notification["s_member"].id},
                               post=only_user(lambda s: s.s_member.id)),
    # ---- search
    # saving a search is for SME users: the route lets every organisation admin in, the service decides (403)
    "search.saved_create": Spec(lambda w, s: {}, post=lambda w, s, u: can(u, "search.save", u), per_side=False),
    "search.saved_delete": Spec(lambda w, s: {"saved_id": s.saved.id}, post=rule("search.saved_manage", lambda s: s.saved)),
    "search.synonym_update": Spec(lambda w, s: {"synonym_id": w.synonym.id}, post=anyone,
                                  data=lambda w, s: {"terms": "电镜，电子显微镜"}, per_side=False),
    # ---- deals: bids
    "deals.bid_new": Spec(listing_params("scenario"), get=anyone, post=anyone),
    "deals.bid_edit": Spec(lambda w, s: {"bid_id": s.bid.id}, get=parties("sme", district=False),
                           post=parties("sme", district=False)),
    "deals.bid_detail": Spec(lambda w, s: {"bid_id": s.bid.id}, get=parties("sme", "provider")),
    "deals.bid_action": Spec(lambda w, s: {"bid_id": s.bid.id, "action": "decline"},
                             post=rule("bid.manage_received", lambda s: s.scenario), data=lambda w, s: {"reason": "不合适"}),
    "deals.bid_message": Spec(lambda w, s: {"bid_id": s.bid.id}, post=parties("sme", "provider", district=False),
                              data=lambda w, s: {"body": "你好"}),
    "deals.bid_attachment": Spec(lambda w, s: {"bid_id": s.bid.id, "sha256": w.sha}, get=parties("sme", "provider")),
    "deals.scenario_bids": Spec(listing_params("scenario"), get=rule("bid.manage_received", lambda s: s.scenario),
                                post=rule("bid.manage_received", lambda s: s.scenario), data=lambda w, s: {"reason": "已选定"}),
    # ---- deals: bookings and availability
    "deals.book": Spec(listing_params("instrument"), get=anyone, post=anyone),
    "deals.resource_calendar": Spec(listing_params("instrument"), get=anyone),
    "deals.resource_slots": Spec(listing_params("instrument"), get=anyone),
    "deals.availability": Spec(listing_params("instrument"), get=rule("availability.edit", lambda s: s.instrument),
                               post=rule("availability.edit", lambda s: s.instrument)),
    "deals.block_delete": Spec(lambda w, s: {"ref": s.instrument.ref, "block_id": s.block.id},
                               post=rule("availability.edit", lambda s: s.instrument), renew=_new_block),
    "deals.resource_bookings": Spec(listing_params("instrument"), get=rule("booking.manage", lambda s: s.instrument)),
    "deals.booking_detail": Spec(lambda w, s: {"booking_id": s.booking.id}, get=parties("sme", "provider")),
    "deals.booking_action": Spec(lambda w, s: {"booking_id": s.booking.id, "action": "reject"},
                                 post=rule("booking.manage", lambda s: s.instrument), data=lambda w, s: {"reason": "时段冲突"}),
    # ---- deals: data applications and contracts
    "deals.apply_data": Spec(listing_params("database"), get=anyone, post=anyone),
    "deals.application_detail": Spec(lambda w, s: {"application_id": s.application.id}, get=parties("sme", "provider"),
                                     post=rule("data_application.decide", lambda s: s.database),
                                     data=lambda w, s: {"outcome": "reject", "reason": "不符合"}),
    "deals.application_withdraw": Spec(lambda w, s: {"application_id": s.application.id}, post=parties("sme", district=False)),
    "deals.contract_detail": Spec(lambda w, s: {"contract_id": s.contract.id}, get=parties("sme", "provider"),
                                  post=parties("sme", "provider", district=False),
                                  data=lambda w, s: {"t-amount_cny": "120000.00", "t-schedule": "", "t-submit": "1"}),
    "deals.contract_confirm": Spec(lambda w, s: {"contract_id": s.contract.id}, post=parties("sme", "provider", district=False)),
    "deals.contract_document": Spec(lambda w, s: {"contract_id": s.contract.id}, get=parties("sme", "provider")),
    # ---- ledger
    "ledger.entry": Spec(lambda w, s: {"entry_id": s.entry.id}, get=rule("ledger.view_entry", lambda s: s.entry)),
    "ledger.entry_by_ref": Spec(lambda w, s: {"ref": s.entry.ref}, get=rule("ledger.view_entry", lambda s: s.entry)),
    "ledger.evidence_file": Spec(lambda w, s: {"entry_id": s.entry.id, "sha256": s.evidence_sha},
                                 get=rule("ledger.view_entry", lambda s: s.entry)),
    "ledger.record_payment": Spec(lambda w, s: {"contract_id": s.contract.id}, post=rule("ledger.record", lambda s: s.contract),
                                  data=lambda w, s: dict(PAYMENT)),
    "ledger.confirm": Spec(lambda w, s: {"entry_id": s.entry.id}, post=rule("ledger.confirm", lambda s: s.entry)),
    "ledger.dispute": Spec(lambda w, s: {"entry_id": s.entry.id}, post=rule("ledger.dispute", lambda s: s.entry),
                           data=lambda w, s: {"reason": "金额不符"}),
    "ledger.resolve": Spec(lambda w, s: {"entry_id": s.entry.id},
                           post=both(rule("ledger.resolve", lambda s: s.entry), _disputant),
                           data=lambda w, s: {"reason": "已核对"}),
    "ledger.refund": Spec(lambda w, s: {"entry_id": s.entry.id}, post=rule("ledger.refund", lambda s: s.entry),
                          data=lambda w, s: {"amount_cny": "1.00", "paid_at": "2026-03-02T10:00"}),
    "ledger.add_evidence": Spec(lambda w, s: {"entry_id": s.entry.id}, post=rule("ledger.confirm", lambda s: s.entry)),
    # ---- events (issue 11): one district event; each side's meeting and request are the side's
    "events.detail": Spec(lambda w, s: {"event_id": w.event.id}, get=anyone, per_side=False),
    "events.advance": Spec(lambda w, s: {"event_id": w.event.id}, post=anyone, per_side=False),
    "events.agenda": Spec(lambda w, s: {"event_id": w.event.id}, get=anyone, per_side=False),
    "events.agenda_download": Spec(lambda w, s: {"event_id": w.event.id, "fmt": "csv"}, get=anyone, per_side=False),
    "events.attach": Spec(lambda w, s: {"event_id": w.event.id}, post=anyone, per_side=False),
    "events.detach": Spec(lambda w, s: {"event_id": w.event.id, "listing_id": s.scenario.id},
                          post=rule("event.attach_scenario", lambda s: s.scenario)),
    "events.register": Spec(lambda w, s: {"event_id": w.event.id}, post=anyone, per_side=False),
    "events.request_meeting": Spec(lambda w, s: {"event_id": w.event.id}, post=anyone, per_side=False),
    "events.respond": Spec(lambda w, s: {"request_id": s.event_request.id, "action": "accept"},
                           post=lambda w, s, u: u.organisation_id == s.provider.id),  # the invited side only
    "events.compute": Spec(lambda w, s: {"event_id": w.event.id}, post=anyone, per_side=False),
    "events.publish": Spec(lambda w, s: {"event_id": w.event.id}, post=anyone, per_side=False),
    "events.my_agenda": Spec(lambda w, s: {"event_id": w.event.id}, get=anyone, per_side=False),
    "events.my_agenda_download": Spec(lambda w, s: {"event_id": w.event.id, "fmt": "ics"}, get=anyone, per_side=False),
    "events.checkin": Spec(lambda w, s: {"event_id": w.event.id}, get=anyone, post=anyone, per_side=False),
    "events.outcome": Spec(lambda w, s: {"meeting_id": s.meeting.id}, get=parties("sme", "provider"),
                           post=parties("sme", "provider")),
    "events.kpi_chart": Spec(lambda w, s: {"name": "funnel"}, get=anyone, per_side=False),
    "events.demo_project": Spec(lambda w, s: {"decl_id": w.declaration.id}, get=anyone, post=anyone, per_side=False),
    "events.demo_handoff": Spec(lambda w, s: {"decl_id": w.declaration.id}, post=anyone, per_side=False),
    # subsidy claims (issue 10): members read their organisation's claims, its admin files and withdraws;
    # the district acts by role; the notice is public
    "subsidy_claims.claim": Spec(lambda w, s: {"claim_id": s.claim.id}, get=rule("subsidies.claim_view", lambda s: s.claim)),
    "subsidy_claims.decide": Spec(lambda w, s: {"claim_id": s.claim.id}, post=anyone),
    "subsidy_claims.withdraw": Spec(lambda w, s: {"claim_id": s.claim.id}, post=rule("subsidies.claim", lambda s: s.claim)),
    "subsidy_claims.pay": Spec(lambda w, s: {"claim_id": s.claim_final.id}, post=anyone,
                               data=lambda w, s: {"amount_cny": "1.00", "paid_on": "2026-01-05", "reference": "M1"}),
    "subsidy_claims.notice": Spec(lambda w, s: {"notice_id": w.notice.id}, get=anyone, per_side=False),
    "subsidy_claims.object_": Spec(lambda w, s: {"notice_id": w.notice.id}, post=anyone, per_side=False,
                                   data=lambda w, s: {"claim_id": str(w.side["A"].claim_in_notice.id), "text": "异议"}),
    "subsidy_claims.resolve": Spec(lambda w, s: {"objection_id": s.objection.id}, post=anyone),
    "subsidy_claims.award": Spec(lambda w, s: {"award_id": w.award_list.id}, get=anyone, per_side=False),
    "subsidy_claims.budget_chart": Spec(lambda w, s: {"year": 2026}, get=anyone, per_side=False),
    "subsidy_claims.award_export": Spec(lambda w, s: {"award_id": w.award_list.id, "fmt": "csv"}, get=anyone,
                                        per_side=False),
}

# Parameters that name no object (a format, a language, a listing kind): a route whose parameters are
# all of these needs no spec; only its role rule applies.
FIXED_PARAMS = {"fmt": "csv", "code": "zh_CN", "kind": "scenario", "chart": "ledger_years"}


def _spec_for(route) -> Spec | None:
    spec = SPECS.get(route.endpoint)
    if spec is None and route.rule.arguments and route.rule.arguments <= set(FIXED_PARAMS):
        names = tuple(route.rule.arguments)
        return Spec(lambda w, s: {n: FIXED_PARAMS[n] for n in names}, per_side=False)
    return spec


# Routes whose POST must not be walked by a logged-in client (it would end the walk's session).
POST_ONLY_ANONYMOUS = {"auth.logout"}


# ---------------------------------------------------------------- walking
def _exempt(endpoint: str) -> bool:
    return endpoint in EXEMPT_ENDPOINTS or endpoint.startswith(EXEMPT_PREFIXES)


@dataclass
class Route:
    rule: Any
    endpoint: str
    method: str
    action: str  # the declared action: PUBLIC, "token" or a RULES key

    @property
    def api(self) -> bool:
        return self.rule.rule.startswith("/api/")


def _walk(app) -> list[Route]:
    routes = []
    for r in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if _exempt(r.endpoint):
            continue
        actions = _actions(app.view_functions[r.endpoint])
        for method in ("GET", "POST"):
            if method in r.methods:
                routes.append(Route(r, r.endpoint, method, actions.get(method, actions.get("*"))))
    return routes


@pytest.fixture(scope="module")
def world(app):
    with app.app_context():
        _clear_tables()
        w = _build_world()
        w.app = app
        w.clients = {}
        w.secrets = {}
        side = w.side["A"]
        for actor in ACTORS:
            client = app.test_client()
            if actor is not None:
                user = _actor_user(w, actor)
                resp = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
                assert resp.status_code == 302 and "/auth/login" not in resp.headers["Location"], actor
                w.secrets[actor] = create_token(user, "matrix", actor="test")[1]
                db.session.commit()
            w.clients[actor] = client
        assert side.p_admin.organisation_id == side.provider.id
        yield w
        _clear_tables()


def _actor_user(w, actor: str) -> User:
    return getattr(w, actor) if actor in ("reviewer", "d_admin") else getattr(w.side["A"], actor)


def _is_login_redirect(resp) -> bool:
    return resp.status_code in (301, 302, 303) and "/auth/login" in resp.headers.get("Location", "")


def _expected(w, route: Route, spec: Spec | None, side: SimpleNamespace, actor: str | None) -> bool:
    """Whether ``actor`` may do ``route`` on ``side``'s object, from RULES and the spec."""
    user = _actor_user(w, actor) if actor else None
    check = (spec.get if route.method == "GET" else spec.post) if spec else None
    if route.action == PUBLIC:  # public routes may still hide objects (drafts) from the public
        return check is None or check(w, side, user)
    if actor is None:
        return False
    elif route.action == "token":
        role_ok = True
    else:
        role_ok = _actor_user(w, actor).role in RULES[route.action].roles
    if not role_ok:
        return False
    return check is None or check(w, side, user)


def _request(w, route: Route, spec: Spec | None, side: SimpleNamespace, actor: str | None):
    with w.app.test_request_context():
        from flask import url_for

        values = spec.params(w, side) if spec else {}
        url = url_for(route.endpoint, **values)
    if route.api:
        client = w.clients[None]
        headers = {"Authorization": f"Bearer {w.secrets[actor]}"} if actor else {}
        return url, client.open(url, method=route.method, headers=headers)
    data = spec.data(w, side) if (spec and route.method == "POST") else {}
    return url, w.clients[actor].open(url, method=route.method, data=data)


def _cases(w, routes: list[Route], want_allowed: bool | None, method: str):
    for route in routes:
        if route.method != method:
            continue
        spec = _spec_for(route)
        sides = SIDES if (spec is not None and spec.per_side) else ("A",)
        for side_name in sides:
            for actor in ACTORS:
                if route.endpoint in POST_ONLY_ANONYMOUS and method == "POST" and actor is not None:
                    continue
                ok = _expected(w, route, spec, w.side[side_name], actor)
                if want_allowed is None or ok == want_allowed:
                    yield route, spec, side_name, actor, ok


def _judge(route: Route, resp, ok: bool, actor: str | None) -> bool:
    status = resp.status_code
    if status >= 500:
        return False
    if not ok:
        if actor is None and route.action != PUBLIC:
            return (status == 401 and resp.is_json) if route.api else _is_login_redirect(resp)
        return status in (403, 404)
    if _is_login_redirect(resp) or status in (401, 403):
        return False
    if route.method == "GET":
        return status == 200 or status in (301, 302, 303)
    return status != 404


def _run(w, cases) -> tuple[int, list[str]]:
    failures, n = [], 0
    for route, spec, side_name, actor, ok in cases:
        if ok and route.method == "POST" and spec is not None and spec.renew is not None:
            spec.renew(w, w.side[side_name])  # in the world's app context (the module fixture's)
        url, resp = _request(w, route, spec, w.side[side_name], actor)
        n += 1
        if not _judge(route, resp, ok, actor):
            failures.append(f"{route.method} {url} [{route.action}] side {side_name} as {actor or 'anonymous'}: "
                            f"expected {'allowed' if ok else 'refused'}, got {resp.status_code} "
                            f"{resp.headers.get('Location', '')}")
    return n, failures


def _audit_count() -> int:
    return db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()


# ---------------------------------------------------------------- the tests
def test_every_route_has_an_object_spec(app):
    """A route with path parameters cannot be walked without knowing whose object fills them."""
    missing = sorted({r.endpoint for r in _walk(app) if r.rule.arguments and _spec_for(r) is None})
    assert not missing, "add these endpoints to SPECS in " + __name__ + ": " + ", ".join(missing)
    stale = sorted(set(SPECS) - {r.endpoint for r in _walk(app)})
    assert not stale, "SPECS names endpoints that no longer exist: " + ", ".join(stale)


def test_every_get_answers_as_rules_declare(world):
    n, failures = _run(world, _cases(world, _walk(world.app), None, "GET"))
    assert n > 300
    assert not failures, f"{len(failures)} of {n} GETs wrong:\n" + "\n".join(failures)


def test_refused_posts_are_refused_and_change_nothing(world):
    with world.app.app_context():
        before = _audit_count()
    n, failures = _run(world, _cases(world, _walk(world.app), False, "POST"))
    assert n > 300
    assert not failures, f"{len(failures)} of {n} refused POSTs wrong:\n" + "\n".join(failures)
    with world.app.app_context():
        assert _audit_count() == before, "a refused POST wrote to the audit log"


def test_every_form_post_needs_a_csrf_token(world):
    """With CSRF on (as in production), every state-changing page route refuses a POST without the
    token, for the anonymous visitor and for the most powerful users, before any view runs."""
    app = world.app
    posts = [r for r in _walk(app) if r.method == "POST" and not r.api]
    assert len(posts) > 50
    with app.app_context():
        before = _audit_count()
    failures = []
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        for route in posts:
            spec = _spec_for(route)
            for actor in (None, "p_admin", "s_admin", "d_admin"):
                if route.endpoint in POST_ONLY_ANONYMOUS and actor is not None:
                    continue
                url, resp = _request(world, route, spec, world.side["A"], actor)
                if resp.status_code != 400:
                    failures.append(f"POST {url} as {actor or 'anonymous'} without a CSRF token: {resp.status_code}")
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert not failures, "\n".join(failures)
    with app.app_context():
        assert _audit_count() == before


def test_allowed_posts_pass_the_permission_gate(world):
    n, failures = _run(world, _cases(world, _walk(world.app), True, "POST"))
    assert n > 50
    assert not failures, f"{len(failures)} of {n} allowed POSTs wrong:\n" + "\n".join(failures)


def test_a_new_object_route_without_a_spec_would_be_caught():
    from werkzeug.routing import Map, Rule

    m = Map([Rule("/things/<int:thing_id>", endpoint="new.thing"), Rule("/things/export.<fmt>", endpoint="new.export")])
    rules = {r.endpoint: r for r in m.iter_rules()}
    assert _spec_for(Route(rules["new.thing"], "new.thing", "GET", PUBLIC)) is None
    assert _spec_for(Route(rules["new.export"], "new.export", "GET", PUBLIC)).params(None, None) == {"fmt": "csv"}
