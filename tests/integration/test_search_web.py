"""The search page, the API contract, saved-search and synonym pages."""

from __future__ import annotations

from market.extensions import db
from models.search import SavedSearch, SearchSynonym
from models.users import Role

pytest_plugins = ["tests.integration.conftest_search"]


def test_api_contract_shape(client, make_listing):
    a = make_listing("场发射扫描电镜", "形貌观察 <b>x</b>", tags=["电镜"])
    make_listing("公交线路数据", kind="public_data")
    resp = client.get("/api/v1/search", query_string={"q": "电镜"})
    assert resp.status_code == 200
    body = resp.get_json()
    assert set(body) == {"total", "items", "facets", "suggestion"}
    assert body["total"] == 1 and body["suggestion"] is None
    item = body["items"][0]
    assert set(item) == {"ref", "kind", "title", "owner", "score", "highlight"}
    assert item["ref"] == a.ref and item["kind"] == "instrument" and item["owner"] == a.owner.ref
    assert item["score"] > 0
    assert body["facets"]["kind"] == {"instrument": 1}
    assert set(body["facets"]) == {"kind", "track", "owner_kind", "price", "open_mode"}


def test_api_paging_filters_and_browse(client, make_listing):
    for i in range(5):
        make_listing(f"核磁共振波谱仪 {i}")
    make_listing("核磁共振数据", kind="public_data")
    body = client.get("/api/v1/search?q=核磁&kind=instrument&per_page=2&page=3").get_json()
    assert body["total"] == 5 and len(body["items"]) == 1
    body = client.get("/api/v1/search").get_json()  # empty query: every published listing, newest first
    assert body["total"] == 6 and body["items"][0]["title"] == "核磁共振数据"


def test_api_bad_parameters_are_422_json(client, search_index):
    for qs in ("per_page=0", "per_page=101", "page=0", "kind=spaceship", "track=moon", "page=abc", "q=" + "x" * 1001):
        resp = client.get(f"/api/v1/search?{qs}")
        assert resp.status_code == 422, qs
        assert resp.get_json()["error"]["message"], qs


def test_api_survives_hostile_queries(client, make_listing):
    make_listing("气相色谱质谱联用仪")
    for q in ['"', "*", "AND", "(", "OR )", "电镜" * 500, "\\", "title:x", "a~2", "<script>"]:
        resp = client.get("/api/v1/search", query_string={"q": q})
        assert resp.status_code == 200, q
    assert client.get("/api/v1/search", query_string={"q": "(质谱) AND *"}).get_json()["total"] == 1


def test_search_page_facets_pagination_and_empty_state(client, make_listing):
    for i in range(22):
        make_listing(f"扫描电镜 {i}", track="smart_materials")
    page = client.get("/search/?q=电镜").get_data(as_text=True)
    assert "找到 22 条" in page and 'id="next-page"' in page and "<mark>电镜</mark>" in page
    assert 'data-facet="track:smart_materials"' in page
    page2 = client.get("/search/?q=电镜&page=2").get_data(as_text=True)
    assert page2.count('class="mb-3 pb-3 border-bottom search-hit"') == 2
    empty = client.get("/search/?q=完全不存在的东西xyz").get_data(as_text=True)
    assert 'id="search-empty"' in empty
    bad = client.get("/search/?q=电镜&kind=spaceship&page=x&sort=weird")
    assert bad.status_code == 200 and "筛选条件无效" in bad.get_data(as_text=True)


def test_a_filter_matching_nothing_can_be_taken_off(client, make_listing):
    """The empty page said "remove the filters on the left" while the left column was empty: a filter matching nothing
    had no count, so no link. It is listed (0) with its remove link, and the empty state links to the same query
    without filters."""
    make_listing("场发射扫描电镜", track="smart_materials")
    page = client.get("/search/?q=电镜&kind=public_data&sort=newest").get_data(as_text=True)
    assert 'id="search-empty"' in page
    facets = page.split('id="facets"', 1)[1].split("</aside>", 1)[0]
    assert 'data-facet="kind:public_data"' in facets and "✓" in facets and "(0)" in facets
    drop = page.split('id="search-drop-filters"', 1)[0].rsplit("<a ", 1)[1]
    assert "kind=" not in drop and "q=%E7%94%B5%E9%95%9C" in drop and "sort=newest" in drop
    assert "找到 1 条" in client.get("/search/?q=电镜&sort=newest").get_data(as_text=True)
    unfiltered = client.get("/search/?q=完全不存在的东西xyz").get_data(as_text=True)
    assert 'id="search-drop-filters"' not in unfiltered  # no filter, no advice to remove one
    # ... and no empty facet column beside the advice: it takes the page's width
    assert 'id="facets"' not in unfiltered and '<div class="col-12">' in unfiltered


def test_search_page_suggestion_link(client, make_listing):
    make_listing("卫星遥感影像数据库", kind="database", rate_cny_per_hour=None)
    page = client.get("/search/?q=摇感").get_data(as_text=True)
    assert 'id="search-suggestion"' in page and "q=%E9%81%A5%E6%84%9F" in page


def test_home_box_is_on_home_page(client, search_index):
    page = client.get("/").get_data(as_text=True)
    assert 'id="home-search"' in page


def test_sme_saves_a_search_and_deletes_it(client, login, make_user, make_listing):
    user = make_user(role=Role.SME_MEMBER)
    login(user)
    page = client.get("/search/?q=电镜&kind=instrument").get_data(as_text=True)
    assert 'id="save-search"' in page
    resp = client.post("/search/saved", data={"name": "我的电镜", "q": "电镜", "kind": "instrument"})
    assert resp.status_code == 302
    saved = db.session.query(SavedSearch).one()
    assert (saved.query, saved.filters, saved.user_id) == ("电镜", {"kind": "instrument"}, user.id)
    assert "我的电镜" in client.get("/search/saved").get_data(as_text=True)
    resp = client.post("/search/saved", data={"q": "电镜", "kind": "spaceship"})
    assert db.session.query(SavedSearch).count() == 1
    assert client.post(f"/search/saved/{saved.id}/delete").status_code == 302
    assert db.session.query(SavedSearch).count() == 0


def test_provider_cannot_save_searches(client, login, make_user, search_index):
    login(make_user(role=Role.PROVIDER_MEMBER))
    assert client.get("/search/saved").status_code == 403
    assert client.post("/search/saved", data={"q": "电镜"}).status_code == 403


def test_admin_edits_synonyms_and_search_uses_them(client, login, make_user, make_listing):
    listing = make_listing("扫描电子显微镜")
    assert client.get("/api/v1/search?q=SEM").get_json()["total"] == 0
    admin = make_user(role=Role.DISTRICT_ADMIN)
    login(admin)
    resp = client.post("/search/admin/synonyms", data={"terms": "SEM，扫描电子显微镜、扫描电镜"})
    assert resp.status_code == 302
    row = db.session.query(SearchSynonym).one()
    assert row.terms == ["SEM", "扫描电子显微镜", "扫描电镜"]
    assert client.get("/api/v1/search?q=SEM").get_json()["items"][0]["ref"] == listing.ref
    client.post(f"/search/admin/synonyms/{row.id}", data={"terms": "only-one"})
    db.session.refresh(row)
    assert row.terms == ["SEM", "扫描电子显微镜", "扫描电镜"]  # refused: a group needs two words
    client.post(f"/search/admin/synonyms/{row.id}", data={"action": "delete"})
    assert db.session.query(SearchSynonym).count() == 0
    assert client.get("/api/v1/search?q=SEM").get_json()["total"] == 0


def test_synonym_page_is_admin_only(client, login, make_user, search_index):
    login(make_user(role=Role.DISTRICT_REVIEWER))
    assert client.get("/search/admin/synonyms").status_code == 403


def test_similar_partial_renders(app, make_listing):
    a = make_listing("场发射扫描电镜", tags=["扫描电镜"])
    b = make_listing("台式扫描电镜", tags=["扫描电镜"])
    with app.test_request_context():
        from flask import render_template_string

        html = render_template_string("{% include 'search/_similar.html' %}", listing=a)
    assert b.title in html and a.title not in html


def test_search_page_says_when_it_browses_the_kind_a_query_names(client, make_listing):
    """揭榜挂帅 names the open scenarios, and no scenario's text says it: the page says so and lists the latest ones,
    in the user's language."""
    from market.search import services

    services.seed_synonyms()
    task = make_listing("手术机器人关键部件联合研发", "龙头企业开放需求", kind="scenario")
    page = client.get("/search/?q=揭榜挂帅").get_data(as_text=True)
    assert 'id="search-kind-browse"' in page and "下面列出开放场景" in page and 'id="search-empty"' not in page
    assert task.title in page
    english = client.get("/search/?q=揭榜挂帅&lang=en").get_data(as_text=True)
    assert "so here is that kind: Open scenario." in english
