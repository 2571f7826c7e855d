"""Security headers on every response and a CSP the pages keep to: no inline script, handler or style
(issue 8, item 10)."""

from __future__ import annotations

import re

import pytest

from market import create_app
from models.users import Role
from tests.conftest import PASSWORD
from tests.integration.deals.helpers import make_listing

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<style\b|<[^>]+\sstyle\s*=", re.I)
JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.I)


def _assert_headers(resp, production=False):
    h = resp.headers
    assert h["X-Frame-Options"] == "DENY"
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] in ("strict-origin-when-cross-origin", "same-origin")
    csp = h["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    if production:
        assert h["Strict-Transport-Security"].startswith("max-age=31536000")
    else:
        assert "Strict-Transport-Security" not in h


def test_headers_on_pages_errors_api_and_static_files(client):
    for path in ("/", "/auth/login", "/no-such-page", "/api/v1/me", "/static/market.css", "/static/market.js"):
        _assert_headers(client.get(path))


def test_hsts_in_production(tmp_path):
    prod = create_app({"MARKET_ENV": "production", "TESTING": False, "SECRET_KEY": "k" * 40,
                       "SITE_URL": "https://market.example.cn", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}"})
    _assert_headers(prod.test_client().get("/auth/login", headers={"Host": "market.example.cn"}), production=True)


def _page_problems(path: str, html: str) -> list[str]:
    problems = []
    for name, pattern in (("inline script", INLINE_SCRIPT), ("inline handler", INLINE_HANDLER),
                          ("inline style", INLINE_STYLE), ("javascript: URL", JS_URL)):
        for match in pattern.finditer(html):
            problems.append(f"{path}: {name}: {html[match.start():match.start() + 120]!r}")
    return problems


@pytest.fixture
def admin_client(client, make_user):
    admin = make_user(role=Role.DISTRICT_ADMIN)
    client.post("/auth/login", data={"email": admin.email, "password": PASSWORD})
    return client


def test_pages_have_no_inline_script_handler_or_style(app, admin_client, make_org, make_user):
    owner = make_org(kind="leading_firm")
    make_user(role=Role.ORG_ADMIN, org=owner)
    listing = make_listing(owner, kind="scenario", description="多行\n说明")
    paths = sorted(
        r.rule for r in app.url_map.iter_rules()
        if "GET" in r.methods and not r.arguments and not r.rule.startswith(("/api/", "/static", "/bootstrap"))
    )
    paths += [f"/listings/{listing.ref}", f"/orgs/{owner.id}"]
    problems, seen = [], 0
    for path in paths:
        resp = admin_client.get(path)
        if resp.status_code != 200 or not resp.mimetype == "text/html":
            continue
        seen += 1
        problems += _page_problems(path, resp.get_data(as_text=True))
    assert seen > 15
    assert not problems, "\n".join(problems)


def test_templates_have_no_inline_script_or_handler():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    problems = []
    for template in sorted(root.rglob("*.html")):
        problems += _page_problems(str(template.relative_to(root)), template.read_text(encoding="utf-8"))
    assert not problems, "\n".join(problems)


def test_close_confirmation_is_asked_by_the_static_script(admin_client):
    js = admin_client.get("/static/market.js").get_data(as_text=True)
    assert "data-confirm" in js and "confirm(" in js
