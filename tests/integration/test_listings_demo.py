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
