"""A published listing's page leads to its deal: bid, book or apply; owners see their management links."""

from market.extensions import db
from models.listings import Listing
from models.users import Role


def _listing(owner, kind, ref, **fields):
    listing = Listing(ref=ref, kind=kind, owner=owner, title=f"测试{ref}", description="说明", status="published", **fields)
    db.session.add(listing)
    db.session.commit()
    return listing


def test_sme_sees_bid_book_and_apply(client, make_org, make_user, login):
    firm, univ, gov = make_org(kind="leading_firm"), make_org(kind="university"), make_org(kind="government")
    _listing(firm, "scenario", "SX1")
    _listing(univ, "instrument", "HX1")
    _listing(gov, "public_data", "GX1", open_mode="conditional")
    _listing(gov, "public_data", "GX2", open_mode="unconditional")
    login(make_user(Role.SME_MEMBER))
    assert "/deals/scenarios/SX1/bid" in client.get("/listings/SX1").get_data(as_text=True)
    assert "/deals/resources/HX1/book" in client.get("/listings/HX1").get_data(as_text=True)
    assert "/deals/data/GX1/apply" in client.get("/listings/GX1").get_data(as_text=True)
    page = client.get("/listings/GX2").get_data(as_text=True)
    assert "无条件开放，无需申请" in page and "/deals/data/GX2/apply" not in page


def test_owner_sees_management_links(client, make_org, make_user, login):
    firm = make_org(kind="leading_firm")
    _listing(firm, "scenario", "SX2")
    login(make_user(Role.ORG_ADMIN, org=firm))
    page = client.get("/listings/SX2").get_data(as_text=True)
    assert "/deals/scenarios/SX2/bids" in page and "/deals/scenarios/SX2/bid\"" not in page


def test_anonymous_is_asked_to_log_in(client, make_org):
    _listing(make_org(kind="institute"), "instrument", "HX3")
    page = client.get("/listings/HX3").get_data(as_text=True)
    assert "登录后预约" in page
