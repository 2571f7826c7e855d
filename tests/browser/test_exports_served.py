"""Every export route, served as in production, in every format, for district staff and a provider.

The live server gives each request its own app context, so the view's database session is rolled back and
closed when the view returns — unlike the integration tests' client, which shares one app context with the
test. Exports once streamed their rows after that point and three of them (organisations, a provider's
utilisation, a calculation sheet with a reward decision) failed only there."""

from __future__ import annotations

from decimal import Decimal

import pytest

from market.dashboard import kpis
from market.domain.localtime import today
from market.extensions import db
from market.ledger.importer import import_rows
from market.subsidies import rewards
from models.users import Role
from tests.browser.conftest import ui_login
from tests.conftest import PASSWORD
from tests.integration.deals.helpers import make_listing
from tests.integration.subsidies.test_subsidy_engine import row

pytestmark = pytest.mark.browser

FORMATS = ("csv", "xlsx", "pdf")


def _export_urls(app, org_id: int, year: int) -> list[str]:
    values = {"org_id": org_id, "year": year, "award_id": 1, "event_id": 1, "chart": next(iter(kpis.KPIS))}
    urls = []
    for rule in app.url_map.iter_rules():
        if "fmt" not in rule.arguments:
            continue
        path = rule.rule
        for name in rule.arguments - {"fmt"}:
            path = path.replace(f"<int:{name}>", str(values[name])).replace(f"<{name}>", str(values[name]))
        urls += [path.replace("<fmt>", fmt) for fmt in FORMATS]
    return urls


def test_every_export_downloads_when_served(app, browser, site, make_org, make_user):
    year = today().year
    sme = make_org(kind="sme", ref="A", size="small", name="长春慧医科技有限公司")
    uni = make_org(kind="university", ref="U", size=None, name="吉林示范大学")
    make_listing(uni, kind="instrument", title="场发射扫描电镜", rate_cny_per_hour=Decimal("500"))
    import_rows("test", [(1, row("R1", "rental", "A", "U", "100000.00", f"{year}-01-10T10:00:00+08:00"))])
    admin = make_user(role=Role.DISTRICT_ADMIN)
    provider = make_user(role=Role.ORG_ADMIN, org=uni)
    db.session.commit()
    rewards.decide_data(admin, sme, "交通数据增值开发", "120000.00", "绩效评价良好")
    db.session.commit()
    urls = _export_urls(app, sme.id, year)
    assert len(urls) >= 16 * len(FORMATS)

    for user in (admin, provider):
        page = browser.new_page()
        ui_login(page, site, user.email, PASSWORD)
        downloaded = 0
        for url in urls:
            resp = page.request.get(f"{site}{url}", timeout=60_000)
            assert resp.status in (200, 403, 404), (user.role, url, resp.status, resp.text()[:300])
            if resp.status == 200:
                body = resp.body()
                assert len(body) == int(resp.headers["content-length"]) and body, (user.role, url)
                assert body.startswith({"csv": b"\xef\xbb\xbf", "xlsx": b"PK", "pdf": b"%PDF"}[url.rsplit(".", 1)[1]]), url
                downloaded += 1
        assert downloaded >= (35 if user is admin else 9), (user.role, downloaded)
        page.close()
