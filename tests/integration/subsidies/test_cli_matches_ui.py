"""`flask --app market subsidies compute --year Y --format json` says what the calculation sheet page
shows: for every beneficiary and rule the same base, amount, capped flag, entries and exclusions."""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal

from sqlalchemy import select

from market.demo import DEMO_PASSWORD, load_demo
from market.extensions import db
from models.organisations import Organisation
from models.users import User


def _section(page: str, rule: str) -> str:
    start = page.index(f'id="rule-{rule}"')
    return page[start:page.index("</section>", start)]


def _field(section: str, name: str) -> str:
    return html.unescape(re.search(rf'data-field="{name}">([^<]*)<', section).group(1)).strip()


def _money(text: str) -> str:
    return f"{Decimal(text.replace('¥', '').replace(',', '')):.2f}"


def test_cli_json_equals_the_sheet_pages(app, client, login):
    load_demo()
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["subsidies", "compute", "--year", "2026", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) >= 5
    ids = dict(db.session.execute(select(Organisation.ref, Organisation.id)).all())
    login(db.session.execute(select(User).where(User.email == "reviewer@ccxq.gov.cn")).scalar_one(), DEMO_PASSWORD)
    pages: dict[str, str] = {}
    checked = 0
    for row in rows:
        ref = row["beneficiary"]
        if ref not in pages:
            pages[ref] = client.get(f"/subsidies/{ids[ref]}/2026").get_data(as_text=True)
        section = _section(pages[ref], row["rule"])
        assert _money(_field(section, "amount")) == row["amount_cny"], (ref, row["rule"])
        assert _money(_field(section, "base")) == row["base_cny"], (ref, row["rule"])
        assert _field(section, "parameters") == row["parameters"]
        assert ("是" in _field(section, "capped")) == row["capped"]
        shown = set(re.findall(r'<tr data-ref="([^"]+)"><td>', section.split('data-table="exclusions"')[0]))
        assert shown == set(row["entries"]), (ref, row["rule"])
        excluded = re.findall(r'<tr data-ref="([^"]+)" data-reason="([^"]+)">', section)
        assert sorted(excluded) == sorted((e["entry"], e["reason"]) for e in row["excluded"]), (ref, row["rule"])
        checked += 1
    assert checked == len(rows)
    by_key = {(r["beneficiary"], r["rule"]): r for r in rows}
    assert by_key[("S1", "art7_renter")]["amount_cny"] == "200000.00"  # POLICY.md's worked example
    assert by_key[("S2", "art8_supplier")]["amount_cny"] == "120000.00"
