from sqlalchemy import func, select

from market.demo import load_demo
from market.extensions import db
from models.listings import Listing, ListingKind, ListingStatus, Track
from models.outbox import OutboxMessage


def test_demo_listings_cover_every_kind_and_track_and_load_once(app_ctx):
    load_demo()
    published = list(db.session.execute(select(Listing).where(Listing.status == ListingStatus.PUBLISHED)).scalars())
    assert len(published) >= 25
    assert {lst.kind for lst in published} == set(ListingKind)
    assert {lst.track for lst in published} >= set(Track) - {Track.OTHER}
    statuses = db.session.execute(select(Listing.status, func.count()).group_by(Listing.status)).all()
    assert dict(statuses)[ListingStatus.DRAFT] == 1 and dict(statuses)[ListingStatus.SUBMITTED] == 1
    owners = {lst.ref: lst.owner.ref for lst in published}
    assert owners["G01"] == "GOV2" and owners["H01"] == "U1" and owners["S0001"] == "L1"
    outbox = db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
    total = db.session.execute(select(func.count()).select_from(Listing)).scalar_one()
    load_demo()
    assert db.session.execute(select(func.count()).select_from(Listing)).scalar_one() == total
    assert db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one() == outbox


def test_demo_organisations_say_when_they_were_verified(app_ctx):
    """The org page showed 已认证 with 认证时间 "—" and the dashboard's monthly chart 0 verified for the demo."""
    from models.organisations import Organisation

    load_demo()
    orgs = list(db.session.execute(select(Organisation)).scalars())
    verified = [o for o in orgs if o.verification_status == "verified"]
    assert verified and all(o.verified_at is not None for o in verified)
    assert all(o.verified_at is None for o in orgs if o.verification_status != "verified")
    first = {o.id: o.verified_at for o in verified}
    load_demo()  # loading again keeps the day they were verified
    assert {o.id: o.verified_at for o in verified} == first
