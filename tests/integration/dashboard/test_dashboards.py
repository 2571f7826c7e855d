"""Each role lands on its own dashboard after login; the district's queues, charts and lists."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

from sqlalchemy import select

from market.dashboard import district, kpis, queues, roles
from market.domain.localtime import local_year
from market.extensions import db
from market.ledger import services as ledger
from models.deals import Bid, Booking
from models.ledger import LedgerEntry
from tests.conftest import PASSWORD


def _login(client, user, next_=None):
    url = "/auth/login" + (f"?next={next_}" if next_ else "")
    return client.post(url, data={"email": user.email, "password": PASSWORD})


def test_login_lands_on_the_dashboard_unless_next_is_given(dash_world, client):
    resp = _login(client, dash_world.users["reviewer"])
    assert resp.headers["Location"].endswith("/dashboard/")
    client.post("/auth/logout")
    resp = _login(client, dash_world.users["reviewer"], "/ledger/review")
    assert resp.headers["Location"].endswith("/ledger/review")


def test_district_dashboard_queues_and_charts(dash_world, login, make_org):
    make_org(kind="sme", verified=False, name="待核验企业")
    qs = {q.key: q for q in queues.district_queues()}
    assert qs["verifications"].count == 1 and qs["verifications"].oldest is not None
    assert qs["disputes"].count == 1
    unconfirmed = db.session.execute(select(LedgerEntry)).scalars().all()
    assert qs["unconfirmed"].count == sum(1 for e in unconfirmed if not e.both_confirmed)
    assert "subsidy_claims" in queues.QUEUE_HOOKS and "subsidy_objections" in queues.QUEUE_HOOKS
    client = login(dash_world.users["admin"])
    html = client.get("/dashboard/").get_data(as_text=True)
    assert "待核验机构" in html and 'data-queue="disputes"' in html
    for key in kpis.KPIS:
        assert f'/dashboard/charts/{key}.svg' in html
        svg = client.get(f"/dashboard/charts/{key}.svg")
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
        body = svg.get_data(as_text=True)
        assert "<svg" in body and "<script" not in body and not body.startswith("<?xml")
        assert "script-src" not in svg.headers["Content-Security-Policy"]
        data = client.get(f"/dashboard/charts/{key}.csv")
        assert data.status_code == 200 and data.mimetype.startswith("text/csv")
        assert len(data.get_data(as_text=True).splitlines()) >= 2
    assert client.get("/dashboard/charts/nope.svg").status_code == 404


def test_ledger_years_chart_data_equals_a_python_recomputation(dash_world, login):
    by_year: dict[int, list[Decimal]] = {}
    for e in db.session.execute(select(LedgerEntry)).scalars():
        t = by_year.setdefault(local_year(e.paid_at), [Decimal("0"), Decimal("0")])
        t[0] += e.amount_cny
        t[1] += e.amount_cny if ledger.is_counted(e) else 0
    s = kpis.ledger_years()
    assert s.labels == [str(y) for y in sorted(by_year)]
    assert [list(v) for v in zip(*s.series.values(), strict=True)] == [by_year[y] for y in sorted(by_year)]
    client = login(dash_world.users["reviewer"])
    rows = list(csv.reader(io.StringIO(client.get("/dashboard/charts/ledger_years.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert [r[0] for r in rows[1:]] == s.labels


def test_confirmed_amounts_by_month(dash_world):
    now = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
    s = kpis.confirmed_amounts(now=now)
    want: dict[str, Decimal] = {}
    for e in db.session.execute(select(LedgerEntry)).scalars():
        if ledger.is_counted(e):
            from market.domain.localtime import to_local

            m = to_local(e.paid_at).strftime("%Y-%m")
            want[m] = want.get(m, Decimal("0")) + e.amount_cny
    got = dict(zip(s.labels, next(iter(s.series.values())), strict=True))
    assert {k: v for k, v in got.items() if v} == {k: v for k, v in want.items() if k in got}


def test_provider_dashboard(dash_world, login):
    w = dash_world
    d = roles.provider_dashboard(w.firm, now=dt.datetime(2026, 11, 26, tzinfo=dt.UTC))
    counts = {c.key: c.count for c in d["counts"]}
    assert counts["confirmations"] == 1  # the new-year payment waits for the firm
    assert d["revenue"] == Decimal("0.00")  # its only confirmed payment is disputed
    u = roles.provider_dashboard(w.uni, now=dt.datetime(2026, 11, 26, tzinfo=dt.UTC))
    assert u["revenue"] == Decimal("130000.00")  # 120,000 - 20,000 refund + 30,000 (invoice added later)
    client = login(w.users["firm"])
    html = client.get("/dashboard/").get_data(as_text=True)
    assert 'id="revenue"' in html and "待确认的付款" in html and w.listings["scenario"].title in html


def test_sme_dashboard_next_steps_and_recommendations(dash_world, login):
    from tests.integration.deals.helpers import make_listing

    w = dash_world
    bid = Bid(listing_id=w.listings["scenario"].id, bidder_id=w.sme_a.id, approach="方案", price_cny=Decimal("100000"),
              timeline="三个月")
    db.session.add(bid)
    fresh = make_listing(w.firm, "scenario", track="smart_materials", published_at=dt.datetime.now(dt.UTC))
    other = make_listing(w.firm, "scenario", track="smart_transport", published_at=dt.datetime.now(dt.UTC))
    db.session.commit()
    d = roles.sme_dashboard(w.sme_a, w.users["a"])
    assert [i.step for i in d["bids"]] == ["等待场景方评审"]
    recommended = [r.listing.id for r in d["recommended"]]
    assert fresh.id in recommended and other.id not in recommended
    assert w.listings["scenario"].id not in recommended  # already bid on
    client = login(w.users["a"])
    html = client.get("/dashboard/").get_data(as_text=True)
    assert fresh.title in html and "等待场景方评审" in html


def test_district_lists_filter_by_status(dash_world, login):
    w = dash_world
    for status in ("submitted", "declined"):
        db.session.add(Bid(listing_id=w.listings["scenario"].id, bidder_id=w.sme_a.id, approach="x",
                           price_cny=Decimal("1"), timeline="x", status=status))
    db.session.commit()
    spec = district.LISTS["bids"]
    assert [b.status for b in district.page_of(spec, district.ListFilters(status="declined")).items] == ["declined"]
    assert district.status_counts(spec, district.ListFilters()) == {"submitted": 1, "declined": 1}
    client = login(w.users["reviewer"])
    for section in ("bids", "bookings", "applications", "contracts"):
        assert client.get(f"/dashboard/district/{section}").status_code == 200
        assert client.get(f"/dashboard/district/{section}/export.csv").status_code == 200
    html = client.get("/dashboard/district/bids?status=declined").get_data(as_text=True)
    assert html.count('<tr data-id="B') == 1
    rows = list(csv.reader(io.StringIO(client.get("/dashboard/district/contracts/export.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 1 + 3
    # /deals/ and /deals/utilisation send district staff to the district views (no more 403)
    assert client.get("/deals/").headers["Location"].endswith("/dashboard/district/bids")
    assert "/dashboard/district/utilisation" in client.get("/deals/utilisation").headers["Location"]


def test_utilisation_per_resource_and_provider(dash_world, login):
    w = dash_world
    inst = w.listings["instrument"]
    bj = dt.timezone(dt.timedelta(hours=8))
    for day, status in ((2, "completed"), (3, "no_show"), (4, "approved"), (5, "rejected")):
        start = dt.datetime(2026, 3, day, 9, tzinfo=bj)
        db.session.add(Booking(listing_id=inst.id, renter_id=w.sme_a.id, start_at=start, end_at=start + dt.timedelta(hours=3),
                               purpose="测", sample_description="样", status=status, rate_cny_per_hour=Decimal("800"),
                               actual_hours=Decimal("2.5") if status == "completed" else None))
    db.session.commit()
    rows, more = district.utilisation_by_resource(2026)
    r = next(x for x in rows if x.key == inst.id)
    assert (r.bookings, r.booked_hours, r.used_hours, r.completed, r.no_shows) == (3, Decimal("9.00"), Decimal("2.50"), 1, 1)
    # default opening hours: Mon-Fri 09:00-18:00 -> 261 weekdays in 2026 x 9 hours
    assert r.available_hours == Decimal(261 * 9)
    prov, _ = district.utilisation_by_provider(2026)
    assert next(x for x in prov if x.key == w.uni.id).booked_hours == Decimal("9.00")
    client = login(w.users["admin"])
    assert client.get("/dashboard/district/utilisation?year=2026").status_code == 200
    assert client.get("/dashboard/district/utilisation?year=2026&by=provider").status_code == 200
    rows = list(csv.reader(io.StringIO(client.get("/dashboard/district/utilisation/export.csv?year=2026").get_data(as_text=True).lstrip("\ufeff"))))
    assert any(r[0] == inst.ref and r[5] == "9.00" for r in rows[1:])




def test_dashboard_and_charts_in_the_readers_language(dash_world, login, app):
    client = login(dash_world.users["reviewer"])
    html = client.get("/dashboard/?lang=en").get_data(as_text=True)
    assert "Work waiting" in html and "Organisations to verify" in html and "待办事项" not in html
    # Each chart's address names the page's language: a chart the browser cached in Chinese (max-age 60) is not
    # shown after the reader switches to English.
    assert '/dashboard/charts/ledger_years.svg?lang=en"' in html
    assert '/dashboard/charts/ledger_years.svg?lang=zh_Hans_CN"' in client.get("/dashboard/?lang=zh_Hans_CN").get_data(as_text=True)
    svg = client.get("/dashboard/charts/ledger_years.svg?lang=en").get_data(as_text=True)
    assert "Ledger totals per year" in svg and "台账" not in svg
    sme = app.test_client()
    assert _login(sme, dash_world.users["a"]).status_code == 302
    assert "Recommended for you" in sme.get("/dashboard/?lang=en").get_data(as_text=True)


def test_available_hours_follow_the_resources_opening_hours_and_blocks(dash_world):
    from models.deals import BlockedPeriod, ResourceAvailability

    w = dash_world
    inst = w.listings["instrument"]
    bj = dt.timezone(dt.timedelta(hours=8))
    avail = ResourceAvailability(listing_id=inst.id, opening_hours={"0": ["09:00-12:00"]})
    avail.blocks.append(BlockedPeriod(start_at=dt.datetime(2026, 3, 2, 0, tzinfo=bj), end_at=dt.datetime(2026, 3, 3, 0, tzinfo=bj),
                                      reason="检修"))
    db.session.add(avail)
    db.session.commit()
    rows, _more = district.utilisation_by_resource(2026)
    assert next(r for r in rows if r.key == inst.id).available_hours == Decimal(52 * 3 - 3)  # 52 Mondays, one blocked
    prov, _more = district.utilisation_by_provider(2026)
    assert next(r for r in prov if r.key == w.uni.id).available_hours == Decimal(52 * 3 - 3)


def test_contracts_waiting_for_our_confirmation_are_on_both_dashboards(dash_world, login):
    """A lab's dashboard said nothing waited on it while /deals/ listed three contracts to confirm; two of them, two
    rentals of one room, read the same. Each side sees the drafts it has not confirmed, with the other party's name."""
    from models.deals import Contract

    w = dash_world
    first, second, confirmed_by_uni = (
        Contract(kind="rental", payer_id=sme.id, payee_id=w.uni.id, title="租用合同：电波暗室", amount_cny=Decimal(amount),
                 status="draft", listing_id=w.listings["instrument"].id, payee_confirmed_at=at)
        for sme, amount, at in ((w.sme_a, "1400.00", None), (w.sme_b, "2800.00", None),
                                (w.sme_b, "700.00", dt.datetime(2026, 11, 1, tzinfo=dt.UTC))))
    db.session.add_all([first, second, confirmed_by_uni])
    db.session.commit()
    d = roles.provider_dashboard(w.uni, now=dt.datetime(2026, 11, 26, tzinfo=dt.UTC))
    waiting = {c.key: c for c in d["counts"]}["contracts"]
    assert waiting.count == 2
    assert [i.label for i in waiting.items] == ["租用合同：电波暗室 · 中小企业甲", "租用合同：电波暗室 · 中小企业乙"]
    assert [i.link for i in waiting.items] == [f"/deals/contracts/{first.id}", f"/deals/contracts/{second.id}"]
    # the payer's side: sme_b has confirmed none of its two
    sme_b = roles.sme_dashboard(w.sme_b, w.users["b"])
    assert {i.link for i in sme_b["contracts"]} == {f"/deals/contracts/{second.id}", f"/deals/contracts/{confirmed_by_uni.id}"}
    assert {i.step for i in sme_b["contracts"]} == {"¥2,800.00", "¥700.00"}
    html = login(w.users["uni"]).get("/dashboard/").get_data(as_text=True)
    assert "待确认的合同" in html and "租用合同：电波暗室 · 中小企业乙" in html
    deals = login(w.users["uni"]).get("/deals/").get_data(as_text=True)
    assert "确认合同：租用合同：电波暗室 · 中小企业甲" in deals



def test_a_new_providers_dashboard_leads_to_publishing(client, login, make_org, make_user):
    """还没有发布资源 with nowhere to go: the empty list links to publishing the first resource."""
    from models.users import Role

    login(make_user(role=Role.ORG_ADMIN, org=make_org(kind="university")))
    html = client.get("/dashboard/").get_data(as_text=True)
    assert '<a href="/listings/new" id="publish-first">' in html
