"""Listing lifecycle: separate roles, owner kinds, verification, revisions, audit, outbox, notices."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import select

from market.errors import Conflict, NotFound, PermissionDenied, ValidationError
from market.extensions import db
from market.listings import fields, services
from models.audit import AuditEntry
from models.listings import ListingStatus, RevisionStatus
from models.notifications import Notification
from models.users import Role
from tests.conftest import queued
from tests.listings_support import INSTRUMENT, SCENARIO, people, published_instrument

PDF = b"%PDF-1.4\n% test\n"


def _actions(listing):
    rows = db.session.execute(
        select(AuditEntry.action).where(AuditEntry.object_type == "listing", AuditEntry.object_id == listing.ref).order_by(AuditEntry.id)
    )
    return list(rows.scalars())


def _outbox(listing):
    return [p["op"] for p in queued("search.index") if p["listing_id"] == listing.id]


def test_full_lifecycle_is_audited_indexed_and_notified(make_org, make_user):
    p = people(make_org, make_user)
    listing = services.create(p["staff"], "instrument", dict(INSTRUMENT))
    assert listing.status == ListingStatus.DRAFT and listing.ref == "H0001"
    assert listing.tags == ["扫描电镜", "SEM"] and str(listing.rate_cny_per_hour) == "380.00"
    assert listing.details["operation"] == "self"
    assert _outbox(listing) == []  # a draft is not public: nothing for the index

    services.submit(p["staff"], listing)
    assert listing.status == ListingStatus.SUBMITTED
    assert services.review_queue() == [listing]
    # the reviewer is told there is work
    assert db.session.execute(select(Notification).where(Notification.user_id == p["reviewer"].id)).scalar_one().kind == "listing.submitted"

    services.review(p["reviewer"], listing, "publish", "资料齐全")
    assert listing.status == ListingStatus.PUBLISHED and listing.published_at is not None
    assert _outbox(listing) == ["upsert"]
    notes = db.session.execute(select(Notification).where(Notification.user_id == p["admin"].id)).scalars().all()
    assert [n.kind for n in notes] == ["listing.published"] and "资料齐全" in notes[0].body

    services.close(p["staff"], listing)
    assert listing.status == ListingStatus.CLOSED and _outbox(listing) == ["upsert", "delete"]
    services.archive(p["admin"], listing)
    assert listing.status == ListingStatus.ARCHIVED
    assert _actions(listing) == ["listing.create", "listing.submit", "listing.publish", "listing.close", "listing.archive"]


def test_return_needs_a_comment_and_notifies_the_owner(make_org, make_user):
    p = people(make_org, make_user)
    listing = services.create(p["staff"], "instrument", dict(INSTRUMENT))
    services.submit(p["staff"], listing)
    with pytest.raises(ValidationError) as err:
        services.review(p["reviewer"], listing, "return", "  ")
    assert err.value.field == "comment"
    services.review(p["reviewer"], listing, "return", "请补充收费标准依据")
    assert listing.status == ListingStatus.RETURNED and listing.review_comment == "请补充收费标准依据"
    note = db.session.execute(select(Notification).where(Notification.user_id == p["admin"].id)).scalar_one()
    assert note.kind == "listing.returned" and "收费标准" in note.body
    # the owner fixes it and submits again
    services.edit(p["staff"], listing, {**INSTRUMENT, "booking_rules": "提前三天预约"})
    services.submit(p["staff"], listing)
    services.review(p["reviewer"], listing, "publish")
    assert listing.status == ListingStatus.PUBLISHED and listing.details["booking_rules"] == "提前三天预约"


def test_roles_are_separate(make_org, make_user):
    p = people(make_org, make_user)
    listing = services.create(p["staff"], "instrument", dict(INSTRUMENT))
    # a reviewer does not edit or submit; the owner's staff do not publish their own listing
    with pytest.raises(PermissionDenied):
        services.edit(p["reviewer"], listing, dict(INSTRUMENT))
    with pytest.raises(PermissionDenied):
        services.submit(p["reviewer"], listing)
    services.submit(p["staff"], listing)
    with pytest.raises(PermissionDenied):
        services.review(p["admin"], listing, "publish")
    # staff of another organisation cannot touch it
    other = make_user(role=Role.ORG_ADMIN, org=make_org(kind="university"))
    with pytest.raises(PermissionDenied):
        services.withdraw(other, listing)
    # district admin may publish
    services.review(make_user(role=Role.DISTRICT_ADMIN), listing, "publish")
    assert listing.is_public


@pytest.mark.parametrize(
    "org_kind, kind, allowed",
    [
        ("sme", "scenario", False),
        ("sme", "instrument", False),
        ("government", "instrument", False),
        ("leading_firm", "public_data", False),
        ("university", "public_data", False),
        ("government", "public_data", True),
        ("government", "scenario", True),
        ("institute", "pilot_base", True),
        ("leading_firm", "database", True),
        ("other", "facility", True),
    ],
)
def test_who_may_own_each_kind(make_org, make_user, org_kind, kind, allowed):
    org = make_org(kind=org_kind)
    user = make_user(role=Role.ORG_ADMIN, org=org)
    raw = {"title": "条目", "description": "说明"}
    if allowed:
        assert services.create(user, kind, raw).owner_id == org.id
    else:
        with pytest.raises(ValidationError) as err:
            services.create(user, kind, raw)
        assert "不能发布" in err.value.message


def test_unverified_org_prepares_drafts_but_cannot_submit_or_be_published(make_org, make_user):
    p = people(make_org, make_user, verified=False)
    listing = services.create(p["staff"], "instrument", dict(INSTRUMENT))
    with pytest.raises(PermissionDenied) as err:
        services.submit(p["staff"], listing)
    assert "尚未通过机构认证" in err.value.message
    assert listing.status == ListingStatus.DRAFT


def test_bad_input_names_every_field_and_saves_nothing(make_org, make_user):
    p = people(make_org, make_user, kind="leading_firm")
    bad = {**SCENARIO, "title": "", "budget_cny": "1e5", "track": "space", "scenario_mode": "x"}
    with pytest.raises(fields.ListingInvalid) as err:
        services.create(p["staff"], "scenario", bad)
    assert {e.field for e in err.value.errors} == {"title", "budget_cny", "track", "scenario_mode"}
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    with pytest.raises(ValidationError) as err2:
        services.create(p["staff"], "scenario", {**SCENARIO, "deadline": past})
    assert err2.value.field == "deadline"
    db.session.rollback()
    assert db.session.execute(select(AuditEntry)).first() is None


def test_edit_of_published_listing_waits_for_review_and_keeps_public_version(make_org, make_user):
    p = people(make_org, make_user)
    listing = published_instrument(p)
    revision = services.edit(p["staff"], listing, {**INSTRUMENT, "title": "场发射扫描电镜 SEM", "rate_cny_per_hour": "420"})
    assert revision is not None and revision.status == RevisionStatus.PENDING
    assert listing.title == "扫描电子显微镜（SEM）" and str(listing.rate_cny_per_hour) == "380.00"  # still live
    assert listing.status == ListingStatus.PUBLISHED
    assert services.review_queue() == [listing]
    # a further edit replaces the pending revision rather than stacking another one
    services.edit(p["staff"], listing, {**INSTRUMENT, "title": "场发射扫描电镜（SEM）", "rate_cny_per_hour": "420"})
    assert len(listing.revisions) == 1
    # returned: still the old version, the owner sees the comment
    services.review(p["reviewer"], listing, "return", "价格需说明依据")
    assert listing.pending_revision.status == RevisionStatus.RETURNED and listing.title == "扫描电子显微镜（SEM）"
    services.edit(p["staff"], listing, {**INSTRUMENT, "title": "场发射扫描电镜（SEM）", "rate_cny_per_hour": "400"})
    services.review(p["reviewer"], listing, "publish")
    assert listing.title == "场发射扫描电镜（SEM）" and str(listing.rate_cny_per_hour) == "400.00"
    assert listing.pending_revision is None
    assert _outbox(listing) == ["upsert", "upsert"]
    assert _actions(listing)[-1] == "listing.revision_approve"


def test_unchanged_edit_of_published_listing_is_refused(make_org, make_user):
    p = people(make_org, make_user)
    listing = published_instrument(p)
    with pytest.raises(ValidationError):
        services.edit(p["staff"], listing, dict(INSTRUMENT))


def test_submitted_listing_is_not_edited_until_withdrawn(make_org, make_user):
    p = people(make_org, make_user)
    listing = services.create(p["staff"], "instrument", dict(INSTRUMENT))
    services.submit(p["staff"], listing)
    with pytest.raises(Conflict):
        services.edit(p["staff"], listing, {**INSTRUMENT, "title": "新标题"})
    services.withdraw(p["staff"], listing)
    assert listing.status == ListingStatus.DRAFT and services.review_queue() == []


def test_visibility_of_drafts(make_org, make_user):
    p = people(make_org, make_user)
    listing = services.create(p["staff"], "instrument", dict(INSTRUMENT))
    from flask_login import AnonymousUserMixin

    assert services.visible_to(p["admin"], listing)
    assert services.visible_to(p["reviewer"], listing)
    assert not services.visible_to(p["sme"], listing)
    assert not services.visible_to(AnonymousUserMixin(), listing)
    with pytest.raises(NotFound):
        services.get_visible(p["sme"], listing.ref)
    services.submit(p["staff"], listing)
    services.review(p["reviewer"], listing, "publish")
    assert services.visible_to(AnonymousUserMixin(), listing)


def test_view_count_skips_owner_and_district_staff(make_org, make_user):
    p = people(make_org, make_user)
    listing = published_instrument(p)
    from flask_login import AnonymousUserMixin

    assert not services.record_view(p["staff"], listing)
    assert not services.record_view(p["reviewer"], listing)
    assert services.record_view(p["sme"], listing)
    edited = listing.updated_at = dt.datetime(2026, 11, 2, 6, 55, tzinfo=dt.UTC)
    db.session.commit()
    assert services.record_view(AnonymousUserMixin(), listing)
    db.session.commit()
    db.session.refresh(listing)
    assert listing.view_count == 2
    # a view is not an edit: the owner's list, ordered by the time of the last change, does not move
    got = listing.updated_at
    assert (got if got.tzinfo else got.replace(tzinfo=dt.UTC)) == edited


def test_attachments_on_a_published_listing_wait_for_review(make_org, make_user, app):
    p = people(make_org, make_user)
    listing = published_instrument(p)
    att = services.add_attachment(p["staff"], listing, io.BytesIO(PDF), "参数表.pdf")
    assert not att.published and listing.pending_revision is not None
    from flask_login import AnonymousUserMixin

    assert not services.attachment_visible(AnonymousUserMixin(), listing, att)
    services.review(p["reviewer"], listing, "publish")
    assert att.published and services.attachment_visible(AnonymousUserMixin(), listing, att)
    # removal of a live file also waits for review
    services.remove_attachment(p["staff"], listing, att.id)
    assert att in listing.attachments and att.remove_requested
    services.review(p["reviewer"], listing, "publish")
    assert listing.attachments == []
    with pytest.raises(ValidationError):
        services.add_attachment(p["staff"], listing, io.BytesIO(b"<script>alert(1)</script>"), "x.pdf")
