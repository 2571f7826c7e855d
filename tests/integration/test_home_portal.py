"""Issue 13: the public home page as a portal: open listings by kind and track with correct counts,
newest and most requested by kind, the policy in brief from the data file, how to register; the
aggregates come from a small cache on the second request."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from market.deals import bids
from market.deals.bids import BidInput
from market.extensions import db
from market.public import portal
from models.users import Role
from tests.conftest import recorded_statements
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
    # the count stands beside the cut title (it was cut with it), and counts in English: "2 requests", "1 request"
    assert '<li class="d-flex align-items-baseline gap-1"><a class="text-truncate"' in most and 'data-requests="2"' in most
    client.get("/lang/en")
    assert "2 requests" in client.get("/").get_data(as_text=True)
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
    try:
        with recorded_statements() as statements:
            client.get("/")
            first = sum("FROM listing" in s for s in statements)
            statements.clear()
            make_listing(firm, title="场景乙")  # within the TTL the page may be a minute old
            db.session.commit()
            statements.clear()
            html = client.get("/").get_data(as_text=True)
            second = sum("FROM listing" in s for s in statements)
    finally:
        app.config["HOME_CACHE_TTL"] = 0
        portal.clear_cache()
    assert first >= 10 and second == 0
    assert _count(html, "scenario") == 1  # cached
    assert _count(client.get("/").get_data(as_text=True), "scenario") == 2  # TTL 0: fresh again


def test_upcoming_events_on_the_anonymous_home_page(client):
    from market.domain.localtime import today
    from models.events import Event, EventStatus

    day = today()

    def ev(title, status, days):
        db.session.add(Event(title=title, track="satellite_internet", venue="长春新区", status=status,
                             event_date=day + dt.timedelta(days=days)))

    ev("卫星互联网专题对接会", EventStatus.REGISTRATION, 20)
    ev("数字医疗专题对接会", EventStatus.CALL_FOR_SCENARIOS, 10)
    ev("未公布的计划活动", EventStatus.PLANNED, 5)  # a draft plan entry: not announced
    ev("已举办的对接会", EventStatus.HELD, 3)
    ev("去年的对接会", EventStatus.AGENDA_PUBLISHED, -30)  # past
    db.session.commit()
    portal.clear_cache()
    html = client.get("/").get_data(as_text=True)
    section = html.split('id="upcoming-events"', 1)[1].split('id="how-to-register"', 1)[0]
    assert section.index("数字医疗专题对接会") < section.index("卫星互联网专题对接会")  # soonest first
    assert "未公布的计划活动" not in section and "已举办的对接会" not in section and "去年的对接会" not in section
    assert "卫星互联网" in section and (day + dt.timedelta(days=10)).isoformat() in section
    assert re.search(r'href="/events/\d+"', section)


def test_policy_brief_numbers_are_the_subsidy_parameters(app_ctx):
    from flask_babel import force_locale

    from market.domain.localtime import today
    from market.subsidies import parameters

    params = parameters.default()
    with force_locale("zh_Hans_CN"):
        brief = {r["id"]: r["text"] for art in portal.policy_brief() for r in art["rules"]}
    for rule_id in ("art7_provider", "art7_renter", "art8_supplier", "art8_opener", "art9_demo"):
        version = params.rule(rule_id).version_on(today())
        if version.rate is not None:
            assert f"{version.rate * 100:.0f}%" in brief[rule_id], rule_id
        assert f"{version.cap_cny / 10000:,.0f} 万元" in brief[rule_id], rule_id
    assert portal.policy_figures()["art7_renter"] == {"rate": Decimal("0.50"), "cap": Decimal("200000.00")}


def test_policy_brief_follows_a_revision_from_its_first_day(app_ctx, monkeypatch):
    """A new version of a rule (a revision adds one) is what the brief shows once it is in force."""
    import dataclasses

    from flask_babel import force_locale

    from market.subsidies import parameters

    params = parameters.default()
    rule = params.rule("art7_renter")
    first = rule.versions[0]
    old = dataclasses.replace(first, effective_to=dt.date(2026, 7, 1))
    new = dataclasses.replace(first, effective_from=dt.date(2026, 7, 1), effective_to=None,
                              rate=Decimal("0.40"), cap_cny=Decimal("300000.00"))
    revised = dataclasses.replace(params, rules={**params.rules, "art7_renter": dataclasses.replace(rule, versions=(old, new))})
    monkeypatch.setattr(parameters, "default", lambda: revised)
    with force_locale("zh_Hans_CN"):
        def text(day):
            return {r["id"]: r["text"] for art in portal.policy_brief(day) for r in art["rules"]}["art7_renter"]

        assert "50% 补贴，最高 20 万元" in text(dt.date(2026, 6, 30))
        assert "40% 补贴，最高 30 万元" in text(dt.date(2026, 7, 1))
