"""The CSP (script-src 'self', style-src 'self') in a real browser: pages work, nothing is blocked, and the
close confirmation moved out of an inline onsubmit still asks (issue 8, item 10)."""

import pytest
from playwright.sync_api import expect

from market.extensions import db
from models.listings import Listing
from models.users import Role
from tests.browser.conftest import open_menu, ui_login
from tests.conftest import PASSWORD
from tests.integration.deals.helpers import make_listing

pytestmark = pytest.mark.browser


def test_close_asks_first_and_no_csp_violation(page, site, make_org, make_user):
    org = make_org(kind="leading_firm")
    owner = make_user(role=Role.ORG_ADMIN, org=org)
    listing = make_listing(org, kind="scenario", description="第一行\n第二行")
    violations = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)

    ui_login(page, site, owner.email, PASSWORD)
    for path in ("/", "/auth/account", "/auth/tokens", f"/listings/{listing.ref}"):
        page.goto(site + path)
        page.wait_for_load_state()
    # bootstrap's own script works under the CSP: the user menu opens
    open_menu(page, "#user-menu", "#logout")

    page.goto(f"{site}/listings/{listing.ref}")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("#close-listing")
    page.wait_for_timeout(300)
    assert asked and "确定关闭此条目" in asked[0]
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).status == "published"  # cancelled: nothing sent

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#close-listing")
    page.wait_for_load_state()
    expect(page.locator("#close-listing")).to_have_count(0)
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).status == "closed"
    assert violations == []
