"""In the browser: an organisation registers, a reviewer approves it, the organisation sees it verified."""

import re
import time

import pytest
from playwright.sync_api import expect

from market import outbox as queue
from market.extensions import db
from market.notifications.mail import outbox
from market.orgs.uscc import make_valid_uscc
from models.outbox import OutboxMessage
from models.users import Role
from tests.browser.conftest import ui_login, ui_logout
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def confirmation_path(email: str) -> str:
    """The confirmation link mailed to ``email`` (memory backend, drained by the live server after the
    response, so wait a moment), as a path on the live server (the mail's host is SITE_URL)."""
    for attempt in range(400):  # up to 20 s: a loaded CI machine (PostgreSQL) once took longer than 5 s
        bodies = [m.get_content() for m in outbox if m["To"] == email]
        found = [re.search(r"https?://[^/\s]+(/auth/confirm/\S+)", body) for body in bodies]
        if found and found[-1]:
            return found[-1].group(1)
        if attempt == 60:  # 3 s and still pending (seen once under load: no drain took the rows):
            db.session.rollback()  # what the scheduler's drain would do next, from this thread
            queue.drain()
        time.sleep(0.05)
    rows = [(r.id, r.topic, r.status, r.attempts, r.available_at, r.last_error) for r in db.session.query(OutboxMessage)]
    raise AssertionError(f"no confirmation mail to {email}; outbox rows: {rows}; handlers: {queue.topics()}")


def test_register_approve_and_see_verified(page, site, make_user):
    reviewer = make_user(role=Role.DISTRICT_REVIEWER)
    org_name = "长春浏览器测试科技有限公司"

    # 1. the organisation registers from the navigation link
    page.goto(site)
    page.click("#register-link")
    page.fill("input[name=name]", org_name)
    page.fill("input[name=uscc]", make_valid_uscc(8080))
    page.select_option("select[name=kind]", "sme")
    page.check("input[name=in_district]")
    page.select_option("select[name=industry]", "software_it")
    page.fill("input[name=employees]", "50")
    page.fill("input[name=revenue_cny]", "20000000")
    page.set_input_files("input[name=licence]", files=[{"name": "执照.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.fill("input[name=admin_name]", "钱经理")
    page.fill("input[name=admin_email]", "qian@example.cn")
    page.fill("input[name=password]", "Strong2026pw")
    page.fill("input[name=password2]", "Strong2026pw")
    page.click("#register-form [type=submit]")
    # not logged in yet: the same answer as for a taken e-mail, and a link by mail
    expect(page.locator("#register-sent")).to_contain_text("我们已向 qian@example.cn 发送了一封邮件")
    page.goto(site + confirmation_path("qian@example.cn"))  # confirms, then asks for the password
    expect(page.locator("input[name=email]")).to_have_value("qian@example.cn")
    page.fill("input[name=password]", "Strong2026pw")
    page.click("form [type=submit]")
    expect(page.locator("#org-name")).to_have_text(org_name)
    expect(page.locator("[data-status=pending]")).to_be_visible()
    ui_logout(page)

    # 2. a reviewer finds it in the queue and approves it
    ui_login(page, site, reviewer.email, PASSWORD)
    page.click("#nav-menu-review")
    page.click("#nav-org-review")
    row = page.locator("#review-queue tr", has_text=org_name)
    expect(row).to_be_visible()
    row.get_by_role("link", name="审核").click()
    expect(page.locator("#org-classification")).to_contain_text("小型")
    page.click("#approve-org")
    expect(page.locator("[data-status=verified]")).to_be_visible()
    expect(page.locator("#org-history tr[data-action=verified]")).to_be_visible()
    page.click("#nav-menu-review")
    page.click("#nav-org-review")
    expect(page.locator("#review-queue-empty")).to_be_visible()
    ui_logout(page)

    # 3. the organisation sees it is verified
    ui_login(page, site, "qian@example.cn", "Strong2026pw")
    page.click("#nav-menu-mine")
    page.click("#nav-my-org")
    expect(page.locator("#org-name")).to_have_text(org_name)
    expect(page.locator("[data-status=verified]")).to_be_visible()
