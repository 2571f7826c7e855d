import datetime as dt
from decimal import Decimal

from market.deals import demo
from market.demo import DemoWorld
from market.extensions import db
from models.deals import Bid, Booking, Contract, DataApplication
from models.users import Role
from tests.integration.deals.helpers import make_listing


def test_demo_loads_once_and_skips_without_listings(world, make_org, make_user):
    empty = DemoWorld()
    demo.load(empty)
    assert empty.summary == ["deals: skipped (no demo listings loaded)"]

    gov = make_org(kind="government")
    uni = make_org(kind="university")
    s1, s2, s3 = world.sme_org, world.other_sme_org, make_org(kind="sme")
    users = {u.email: u for u in (world.owner, world.sme, world.other_sme, make_user(role=Role.ORG_ADMIN, org=s3))}
    listings = {
        "S0001": make_listing(world.owner_org, ref="S0001"),
        "S0002": make_listing(world.owner_org, ref="S0002"),
        "H01": make_listing(uni, kind="instrument", ref="H01"),
        "P01": make_listing(uni, kind="pilot_base", ref="P01"),
        "D01": make_listing(uni, kind="database", ref="D01"),
        "G01": make_listing(gov, kind="public_data", ref="G01"),
    }
    w = DemoWorld(orgs={"S1": s1, "S2": s2, "S3": s3}, users=users, listings=listings)
    for _ in range(2):
        demo.load(w)
        db.session.commit()
    assert db.session.query(Bid).count() == 4
    assert db.session.query(Booking).count() == 4
    assert db.session.query(DataApplication).count() == 3
    awarded = db.session.query(Bid).filter_by(status="awarded").one()
    assert awarded.contract.status == "active" and awarded.contract.amount_cny == Decimal("380000.00")
    assert sum(Decimal(r["amount_cny"]) for r in awarded.contract.payment_schedule) == awarded.contract.amount_cny
    done = db.session.query(Booking).filter_by(status="completed").one()
    assert done.end_at < dt.datetime.now(dt.UTC) and done.contract.amount_cny == Decimal("2800.00")
    assert db.session.query(Booking).filter_by(status="no_show").count() == 1
    assert db.session.query(Contract).count() == 5  # 1 scenario, 2 rental, 2 data access
