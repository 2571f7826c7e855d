"""Issue 13 friction: an awarded scenario is closed to new bids (existing bids keep their states)."""

import pytest

from market.deals import bids
from market.deals.bids import BidInput
from market.errors import Conflict
from market.extensions import db
from models.deals import Bid
from tests.integration.deals.helpers import make_listing


def _input():
    return BidInput(approach="采用深度学习方案", price_cny="120000.00", timeline="三个月")


def test_awarded_scenario_refuses_new_bids_even_from_the_winner(world):
    scenario = make_listing(world.owner_org)
    won = bids.submit_bid(world.sme, scenario.id, _input())
    other = bids.submit_bid(world.other_sme, scenario.id, _input())
    bids.award_bid(world.owner, won.id)
    db.session.commit()
    with pytest.raises(Conflict, match="已确定中标方"):
        bids.submit_bid(world.sme, scenario.id, _input())  # the winner
    bids.withdraw_bid(world.other_sme, other.id)
    db.session.commit()
    with pytest.raises(Conflict, match="已确定中标方"):
        bids.submit_bid(world.other_sme, scenario.id, _input())
    assert won.status == "awarded" and db.session.query(Bid).count() == 2


def test_awarded_scenario_page_hides_the_bid_button(world, client, login):
    scenario = make_listing(world.owner_org)
    login(world.sme)
    page = client.get(f"/listings/{scenario.ref}").get_data(as_text=True)
    assert "我要揭榜" in page and 'id="scenario-awarded"' not in page
    bid = bids.submit_bid(world.sme, scenario.id, _input())
    bids.award_bid(world.owner, bid.id)
    db.session.commit()
    page = client.get(f"/listings/{scenario.ref}").get_data(as_text=True)
    assert "我要揭榜" not in page and "已确定中标方" in page
    resp = client.get(f"/deals/scenarios/{scenario.ref}/bid")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/listings/{scenario.ref}")
    resp = client.post(f"/deals/scenarios/{scenario.ref}/bid", data={"approach": "x" * 30, "price_cny": "1", "timeline": "1"})
    assert resp.status_code == 302 and db.session.query(Bid).count() == 1
