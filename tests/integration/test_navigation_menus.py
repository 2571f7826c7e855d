"""Issue 13: the navigation is grouped into menus (我的 / 审核 / 管理) so a district admin's bar fits one
line; raw words gone (role labels, 编号); a favicon."""

from __future__ import annotations

import re

from models.users import Role


def _menu(html: str, group: str) -> str:
    m = re.search(rf'id="nav-menu-{group}".*?<ul class="dropdown-menu"[^>]*>(.*?)</ul>', html, re.S)
    return m.group(1) if m else ""


def test_district_admin_navigation_in_menus(client, login, make_user):
    login(make_user(role=Role.DISTRICT_ADMIN))
    html = client.get("/").get_data(as_text=True)
    bar = html.split('id="nav-features"', 1)[1].split("</ul>\n    <ul", 1)[0]
    top_links = re.findall(r'class="nav-link"[^>]*id="(nav-[a-z-]+)"', bar)
    assert top_links == ["nav-dashboard", "nav-search", "nav-listings", "nav-ledger", "nav-events"]
    assert {"nav-org-review", "nav-listing-review", "nav-ledger-review"} <= set(re.findall(r'id="(nav-[a-z-]+)"', _menu(html, "review")))
    assert {"nav-org-admin", "nav-synonyms", "nav-audit"} <= set(re.findall(r'id="(nav-[a-z-]+)"', _menu(html, "manage")))
    assert 'id="nav-menu-mine"' not in html  # nothing of their own to list
    assert 'data-bs-toggle="dropdown" aria-expanded="false" id="nav-menu-review"' in html and "<button" in html
    assert '<link rel="icon" type="image/svg+xml" href="/static/favicon.svg">' in html
    assert client.get("/static/favicon.svg").status_code == 200


def test_member_navigation_has_a_mine_menu_and_no_review(client, login, make_user, make_org):
    login(make_user(role=Role.ORG_ADMIN, org=make_org(kind="leading_firm")))
    html = client.get("/").get_data(as_text=True)
    mine = set(re.findall(r'id="(nav-[a-z-]+)"', _menu(html, "mine")))
    assert {"nav-my-listings", "nav-deals", "nav-my-org"} <= mine
    assert 'id="nav-menu-review"' not in html and 'id="nav-menu-manage"' not in html
    # the organisation's own subsidy sheet and claims: the menu asked the rule without the organisation and hid them
    assert {"nav-subsidies", "nav-subsidy-claims"} <= mine


def test_an_sme_member_finds_its_subsidies_in_the_menu(client, login, make_user, make_org):
    login(make_user(role=Role.SME_MEMBER, org=make_org(kind="sme")))
    mine = set(re.findall(r'id="(nav-[a-z-]+)"', _menu(client.get("/").get_data(as_text=True), "mine")))
    assert {"nav-subsidies", "nav-subsidy-claims"} <= mine


def test_org_admin_detail_shows_role_labels_and_no_raw_words(client, login, make_user, make_org):
    org = make_org(kind="leading_firm")
    make_user(role=Role.ORG_ADMIN, org=org)
    login(make_user(role=Role.DISTRICT_ADMIN))
    page = client.get(f"/orgs/admin/{org.id}").get_data(as_text=True)
    assert "机构管理员" in page and "org_admin" not in page
    assert '<th class="text-nowrap" id="org-history-event">事件</th>' in page
    listing = client.get("/orgs/admin").get_data(as_text=True)
    assert "<th>ref</th>" not in listing and ">编号</th>" in listing


def test_synonym_buttons_do_not_wrap(client, login, make_user):
    from market.extensions import db
    from models.search import SearchSynonym

    db.session.add(SearchSynonym(terms=["SEM", "扫描电镜"]))
    db.session.commit()
    login(make_user(role=Role.DISTRICT_ADMIN))
    page = client.get("/search/admin/synonyms").get_data(as_text=True)
    assert page.count("text-nowrap flex-shrink-0") == 2
