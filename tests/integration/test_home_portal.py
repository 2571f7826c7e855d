"""Issue 13: the public home page as a portal: open listings by kind and track with correct counts,
newest and most requested by kind, the policy in brief from the data file, how to register; the
aggregates come from a small cache on the second request."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from sqlalchemy import event

from market.deals import bids
from market.deals.bids import BidInput
from market.extensions import db
from market.public import portal
from models.users import Role
from tests.integration.deals.helpers import make_listing

UTC = dt.UTC


def _count(html: str, kind: str) -> int:
    m = re.search(rf'data-kind="{kind}">\s*<div class="card-body[^"]*"><div class="fs-4 fw-semibold" data-count="(\d+)"', html)
    assert m, kind
    return int(m.group(1))


def test_anonymous_visitor_sees_open_listings_by_kind(client, make_org, make_user):
    firm = make_org(kind="leading_firm")
    uni = make_org(kind="university")
    s1 = make_listing(firm, title="智慧病房场景", track="digital_healthcare", published_at=dt.datetime(2026, 1, 1, tzinfo=UTC))
    s2 = make_listing(firm, title="卫星终端测试场景", track="satellite_internet", published_at=dt.datetime(2026, 2, 1, tzinfo=UTC))
    make_listing(firm, title="草稿场景", status="draft")
    make_listing(firm, title="已关闭场景", status="closed")
    make_listing(uni, kind="instrument", title="扫描电镜", rate_cny_per_hour=Decimal("300"), track="smart_materials")
    # requests: two bids on the older scenario make it the most requested
    for _ in range(2):
        bids.submit_bid(make_user(role=Role.SME_MEMBER, org=make_org(kind="sme")), s1.id,
                        BidInput(approach="方案", price_cny="1000", timeline="一个月"))
    db.session.commit()
    html = client.get("/").get_data(as_text=True)
    assert _count(html, "scenario") == 2 and _count(html, "instrument") == 1 and _count(html, "database") == 0
    assert 'id="open-total">3<' in html
    assert 'data-track="digital_healthcare">数字医疗 1<' in html and 'data-track="smart_materials">新型智能材料 1<' in html
    kind_card = html.split('id="kind-scenario"', 1)[1].split('id="kind-instrument"', 1)[0]
    newest, most = kind_card.split('class="most-requested"', 1)
    assert newest.index(s2.title) < newest.index(s1.title)  # newest first
    assert "草稿场景" not in html and "已关闭场景" not in html
    assert s1.title in most and "2 次申请" in most and s2.title not in most
    # the policy in brief, with rates and caps from the data file, linking to the rules
    assert "按年度租赁支出的 50% 补贴，最高 20 万元" in html and "按实际交易额的 5% 补贴，最高 100 万元" in html
    assert 'data-article="9"' in html and 'data-article="13"' in html and 'href="/policy"' in html
    assert 'id="home-register"' in html and 'id="home-search"' in html and 'id="upcoming-events"' in html
    assert client.get("/policy").status_code == 200
    assert client.get("/?lang=en").status_code == 200


def test_second_request_uses_the_cache(client, app, make_org):
    firm = make_org(kind="leading_firm")
    make_listing(firm, title="场景甲")
    db.session.commit()
    portal.clear_cache()
    app.config["HOME_CACHE_TTL"] = 60
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        client.get("/")
        first = sum("FROM listing" in s for s in statements)
        statements.clear()
        make_listing(firm, title="场景乙")  # within the TTL the page may be a minute old
        db.session.commit()
        statements.clear()
        html = client.get("/").get_data(as_text=True)
        second = sum("FROM listing" in s for s in statements)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
        app.config["HOME_CACHE_TTL"] = 0
        portal.clear_cache()
    assert first >= 10 and second == 0
    assert _count(html, "scenario") == 1  # cached
    assert _count(client.get("/").get_data(as_text=True), "scenario") == 2  # TTL 0: fresh again
