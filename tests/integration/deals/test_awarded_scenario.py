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


def test_after_an_award_the_other_open_bids_cannot_change_but_can_be_withdrawn(world, client, login):
    """A losing bidder lowered its price after the owner had chosen: the bid went to its second revision, open, and
    the page offered 修改方案 as if nothing had been decided."""
    scenario = make_listing(world.owner_org)
    won = bids.submit_bid(world.sme, scenario.id, _input())
    other = bids.submit_bid(world.other_sme, scenario.id, _input())
    bids.award_bid(world.owner, won.id)
    db.session.commit()
    cheaper = BidInput(approach="采用深度学习方案", price_cny="100000.00", timeline="三个月")
    with pytest.raises(Conflict, match="方案不能再修改"):
        bids.revise_bid(world.other_sme, other.id, cheaper)
    db.session.rollback()
    db.session.refresh(other)
    assert other.revision == 1 and str(other.price_cny) == "120000.00" and other.status == "submitted"
    login(world.other_sme)
    page = client.get(f"/deals/bids/{other.id}").get_data(as_text=True)
    assert 'id="scenario-awarded-note"' in page and 'id="edit-bid"' not in page and 'id="withdraw-bid"' in page
    resp = client.get(f"/deals/bids/{other.id}/edit")  # the form is not offered only to be refused on saving
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/deals/bids/{other.id}")
    resp = client.post(f"/deals/bids/{other.id}/edit", data={"approach": "x" * 30, "price_cny": "1", "timeline": "1"})
    assert resp.status_code == 302
    db.session.refresh(other)
    assert other.revision == 1
    # the owner may still award it (several winners, art. 8), and the bidder may leave
    bids.withdraw_bid(world.other_sme, other.id)
    db.session.commit()
    assert other.status == "withdrawn"
    page = client.get(f"/deals/bids/{other.id}/edit", follow_redirects=True).get_data(as_text=True)
    assert "该方案的状态为“已撤回”，不能再修改或撤回。" in page
