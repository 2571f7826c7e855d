"""Listing pages: forms per kind, detail visibility and view counts, review queue, import upload, XSS."""

from __future__ import annotations

import io
import json

from sqlalchemy import select

from market.extensions import db
from market.listings import services
from models.listings import Listing, ListingStatus
from models.users import Role
from tests.listings_support import INSTRUMENT, people, published_instrument

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>[点我](javascript:alert(1))'


def test_provider_creates_each_kind_through_the_form(client, login, make_org, make_user):
    university = make_user(role=Role.PROVIDER_MEMBER, org=make_org(kind="university"))
    login(university)
    resp = client.post("/listings/new/instrument", data={**INSTRUMENT, "tags": "扫描电镜, SEM，电镜"})
    assert resp.status_code == 302
    listing = db.session.execute(select(Listing)).scalar_one()
    assert listing.tags == ["扫描电镜", "SEM", "电镜"] and listing.kind == "instrument"
    # the draft leads to its opening hours (they were linked only once published, and were easy to miss)
    draft = client.get(f"/listings/{listing.ref}").get_data(as_text=True)
    assert f'href="/deals/resources/{listing.ref}/availability" id="resource-availability"' in draft
    assert client.get(f"/deals/resources/{listing.ref}/availability").status_code == 200
    # a university cannot open public data: the kind page refuses politely
    resp = client.get("/listings/new/public_data", follow_redirects=True)
    assert "不能发布" in resp.get_data(as_text=True)
    page = client.get("/listings/new").get_data(as_text=True)
    assert 'data-kind="pilot_base"' in page and 'data-kind="public_data"' not in page


def test_the_public_data_form_asks_its_required_domain_before_the_save_button(client, login, make_org, make_user):
    login(make_user(role=Role.ORG_ADMIN, org=make_org(kind="government")))
    page = client.get("/listings/new/public_data").get_data(as_text=True)
    assert page.index('name="data_domain"') < page.index('name="open_mode"') < page.index('id="submit"')
    assert 'id="data_domain" name="data_domain" required' in page
    resp = client.post("/listings/new/public_data", data={"title": "企业信用数据", "description": "说明", "track": "other",
                                                          "open_mode": "conditional", "data_domain": ""})
    assert resp.status_code == 200 and db.session.execute(select(Listing)).first() is None
    resp = client.post("/listings/new/public_data", data={"title": "企业信用数据", "description": "说明", "track": "other",
                                                          "open_mode": "conditional", "data_domain": "credit"})
    assert resp.status_code == 302 and db.session.execute(select(Listing)).scalar_one().data_domain == "credit"


def test_scenario_deadline_is_beijing_time(client, login, make_org, make_user):
    firm = make_user(role=Role.ORG_ADMIN, org=make_org(kind="leading_firm"))
    login(firm)
    resp = client.post("/listings/new/scenario", data={
        "title": "卫星通信终端测试", "description": "测试", "track": "satellite_internet",
        "scenario_mode": "crowdsourcing", "budget_cny": "650000", "deadline": "2099-03-01T10:00",
    })
    assert resp.status_code == 302
    listing = db.session.execute(select(Listing)).scalar_one()
    assert listing.deadline.isoformat() == "2099-03-01T02:00:00+00:00"
    assert "2099-03-01 10:00" in client.get(f"/listings/{listing.ref}").get_data(as_text=True)


def test_form_errors_are_shown_on_fields(client, login, make_org, make_user):
    firm = make_user(role=Role.ORG_ADMIN, org=make_org(kind="leading_firm"))
    login(firm)
    resp = client.post("/listings/new/scenario", data={
        "title": "场景", "description": "说明", "track": "other", "scenario_mode": "crowdsourcing", "budget_cny": "12.345",
    })
    assert resp.status_code == 200 and "最多两位小数" in resp.get_data(as_text=True)
    resp = client.post("/listings/new/scenario", data={
        "title": "场景", "description": "说明", "track": "other", "scenario_mode": "crowdsourcing", "deadline": "2001-01-01T10:00",
    })
    assert "截止时间必须晚于当前时间" in resp.get_data(as_text=True)
    assert db.session.execute(select(Listing)).first() is None


def test_draft_detail_is_hidden_from_public_and_other_orgs(client, login, make_org, make_user):
    p = people(make_org, make_user)
    listing = services.create(p["staff"], "instrument", dict(INSTRUMENT))
    db.session.commit()
    assert client.get(f"/listings/{listing.ref}").status_code == 404
    assert client.get(f"/api/v1/listings/{listing.ref}").status_code == 404
    login(p["sme"])
    assert client.get(f"/listings/{listing.ref}").status_code == 404
    client.post("/auth/logout")
    login(p["reviewer"])
    assert client.get(f"/listings/{listing.ref}").status_code == 200


def test_detail_counts_views_but_not_the_owners(client, login, make_org, make_user):
    p = people(make_org, make_user)
    listing = published_instrument(p)
    login(p["staff"])
    client.get(f"/listings/{listing.ref}")
    client.post("/auth/logout")
    login(p["sme"])
    client.get(f"/listings/{listing.ref}")
    client.get(f"/listings/{listing.ref}")  # a reload in the same session counts once
    db.session.refresh(listing)
    assert listing.view_count == 1


def test_html_in_listing_text_is_sanitised_everywhere(client, login, make_org, make_user, app):
    p = people(make_org, make_user)
    listing = published_instrument(p, {**INSTRUMENT, "title": "<b>SEM</b><script>t()</script>", "description": XSS,
                                                 "booking_rules": XSS, "tags": "<i>x</i>"})
    for url in (f"/listings/{listing.ref}", "/listings/", "/listings/?kind=instrument"):
        body = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in body and "<script>t()" not in body and "<img" not in body, url
        assert 'href="javascript' not in body and "<i>x</i>" not in body, url
        assert "&lt;b&gt;SEM&lt;/b&gt;" in body
    with app.test_request_context():
        from flask import render_template_string

        html = render_template_string("{% include 'listings/_org_listings.html' %}", org=p["org"])
    assert "<script" not in html and "<img" not in html and "&lt;b&gt;SEM" in html
    detail = client.get(f"/listings/{listing.ref}").get_data(as_text=True)
    assert "&lt;script&gt;alert" in detail  # the plain-text booking rules are escaped, not dropped
    api = client.get(f"/api/v1/listings/{listing.ref}").get_json()
    assert "<script" not in api["description_html"] and "onerror" not in api["description_html"]


def test_my_listings_and_review_queue_pages(client, login, make_org, make_user):
    p = people(make_org, make_user)
    listing = services.create(p["staff"], "instrument", dict(INSTRUMENT))
    login(p["staff"])
    page = client.get("/listings/mine").get_data(as_text=True)
    assert listing.ref in page and 'data-status="draft"' in page
    client.post(f"/listings/{listing.ref}/submit")
    assert client.get("/listings/review").status_code == 403
    client.post("/auth/logout")
    login(p["reviewer"])
    queue = client.get("/listings/review").get_data(as_text=True)
    assert f'data-ref="{listing.ref}"' in queue
    review = client.get(f"/listings/review/{listing.ref}").get_data(as_text=True)
    assert 'id="listing-opening-hours"' in review and 'id="listing-booking-rules"' in review  # what renters get
    resp = client.post(f"/listings/review/{listing.ref}", data={"comment": "", "send_back": "退回修改"})
    assert "退回时必须填写审核意见" in resp.get_data(as_text=True)
    resp = client.post(f"/listings/review/{listing.ref}", data={"comment": "好", "publish": "通过并发布"})
    assert resp.status_code == 302
    db.session.refresh(listing)
    assert listing.status == ListingStatus.PUBLISHED
    assert client.get("/listings/review").get_data(as_text=True).count("data-ref=") == 0


def test_revision_is_shown_to_the_reviewer_as_a_diff(client, login, make_org, make_user):
    p = people(make_org, make_user)
    listing = published_instrument(p)
    login(p["staff"])
    resp = client.post(f"/listings/{listing.ref}/edit", data={**INSTRUMENT, "rate_cny_per_hour": "450"}, follow_redirects=True)
    assert "修改已提交审核" in resp.get_data(as_text=True)
    client.post("/auth/logout")
    assert "¥380.00" in client.get(f"/listings/{listing.ref}").get_data(as_text=True)  # public still sees 380
    login(p["reviewer"])
    review = client.get(f"/listings/review/{listing.ref}").get_data(as_text=True)
    assert 'id="revision-changes"' in review and "¥450.00" in review and "¥380.00" in review


def test_attachment_upload_and_download(client, login, make_org, make_user):
    p = people(make_org, make_user)
    listing = services.create(p["staff"], "instrument", dict(INSTRUMENT))
    login(p["staff"])
    resp = client.post(f"/listings/{listing.ref}/attachments", data={"file": (io.BytesIO(b"%PDF-1.4 spec"), "规格.pdf")},
                       content_type="multipart/form-data", follow_redirects=True)
    assert "附件已上传" in resp.get_data(as_text=True)
    att = listing.attachments[0]
    assert client.get(f"/listings/{listing.ref}/attachments/{att.id}").data == b"%PDF-1.4 spec"
    client.post("/auth/logout")
    assert client.get(f"/listings/{listing.ref}/attachments/{att.id}").status_code == 404


def test_import_upload_page_for_district_staff(client, login, make_org, make_user):
    make_org(kind="university", ref="U1")
    row = {"ref": "H01", "kind": "instrument", "owner": "U1", "title": "冷冻电镜", "description": "300kV", "rate_cny_per_hour": "1800"}
    sme = make_user(role=Role.SME_MEMBER)
    login(sme)
    assert client.get("/listings/import").status_code == 403
    client.post("/auth/logout")
    login(make_user(role=Role.DISTRICT_REVIEWER))
    bad = json.dumps({**row, "owner": "NOPE"}, ensure_ascii=False).encode()
    resp = client.post("/listings/import", data={"file": (io.BytesIO(bad), "a.jsonl")}, content_type="multipart/form-data")
    assert "line 1: owner:" in resp.get_data(as_text=True)
    good = json.dumps(row, ensure_ascii=False).encode()
    resp = client.post("/listings/import", data={"file": (io.BytesIO(good), "a.jsonl"), "publish": "y"}, content_type="multipart/form-data")
    assert "新建 1 条" in resp.get_data(as_text=True)
    assert db.session.execute(select(Listing)).scalar_one().status == ListingStatus.PUBLISHED
    export = client.get("/listings/export.csv")
    assert export.status_code == 200 and "H01" in export.get_data(as_text=True)


def test_nav_entries_by_role(client, login, make_org, make_user):
    login(make_user(role=Role.PROVIDER_MEMBER, org=make_org(kind="institute")))
    page = client.get("/").get_data(as_text=True)
    assert 'id="nav-my-listings"' in page and 'id="nav-listing-review"' not in page
    client.post("/auth/logout")
    login(make_user(role=Role.SME_MEMBER))
    page = client.get("/").get_data(as_text=True)
    assert 'id="nav-listings"' in page and 'id="nav-my-listings"' not in page


def test_org_profile_block_lists_only_published(app, make_org, make_user):
    p = people(make_org, make_user)
    live = published_instrument(p)
    draft = services.create(p["staff"], "facility", {"title": "电磁兼容暗室（草稿）", "description": "整理中"})
    with app.test_request_context():
        from flask import render_template_string

        html = render_template_string("{% include 'listings/_org_listings.html' %}", org=p["org"])
    assert f'data-ref="{live.ref}"' in html and draft.title not in html
