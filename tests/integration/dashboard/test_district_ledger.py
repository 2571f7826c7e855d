"""The district ledger in SQL agrees with the Python rules (ledger.services.completeness), its totals
with a Python recomputation, and the district admin's page lists exactly the entries of its export."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from decimal import Decimal

import pytest
from sqlalchemy import select

from market.dashboard import ledger_sql
from market.dashboard.ledger_sql import LedgerFilters
from market.domain.localtime import local_year
from market.extensions import db
from market.ledger import services as ledger
from models.ledger import LedgerEntry


def _all() -> list[LedgerEntry]:
    return list(db.session.execute(select(LedgerEntry).order_by(LedgerEntry.seq)).scalars())


def _codes(e: LedgerEntry) -> tuple[str, ...]:
    return tuple(f.reason.value for f in ledger.completeness(e))


def test_sql_reason_codes_equal_the_python_rules(dash_world):
    entries = _all()
    sql = ledger_sql.reason_codes([e.id for e in entries])
    expected = {e.id: _codes(e) for e in entries}
    assert sql == expected
    w = dash_world.entries  # the world covers every code, and evidence added later counts
    assert _codes(w["complete"]) == () and _codes(w["invoice_later"]) == () and _codes(w["resolved"]) == ()
    assert _codes(w["no_invoice"]) == ("missing_evidence",)
    assert _codes(w["new_year"]) == ("payee_not_confirmed",)
    assert _codes(w["disputed"]) == ("disputed",)
    assert _codes(w["refund_ok"]) == () and _codes(w["refund_bad"]) == ("reversed_entry_incomplete",)


def _py_filter(e: LedgerEntry, f: LedgerFilters) -> bool:
    codes = _codes(e)
    if f.year is not None and local_year(e.paid_at) != f.year:
        return False
    if f.kind and e.kind != f.kind:
        return False
    if f.track and (e.listing is None or e.listing.track != f.track):
        return False
    if f.org_id is not None and f.org_id not in (e.payer_id, e.payee_id):
        return False
    if f.disputed is not None and e.in_dispute != f.disputed:
        return False
    if f.status == "complete" and codes:
        return False
    if f.status == "incomplete" and not codes:
        return False
    if f.status not in (None, "complete", "incomplete") and f.status not in codes:
        return False
    return True


def _filters(w) -> list[LedgerFilters]:
    return [
        LedgerFilters(), LedgerFilters(year=2026), LedgerFilters(year=2025), LedgerFilters(kind="rental"),
        LedgerFilters(track="digital_healthcare"), LedgerFilters(track="smart_materials", year=2026),
        LedgerFilters(org_id=w.sme_b.id), LedgerFilters(org_id=w.uni.id, status="complete"),
        LedgerFilters(status="incomplete"), LedgerFilters(disputed=True), LedgerFilters(disputed=False, kind="rental"),
        *(LedgerFilters(status=c) for c in ("payer_not_confirmed", "payee_not_confirmed", "disputed",
                                              "missing_evidence", "reversed_entry_incomplete")),
    ]


def test_filters_select_what_the_python_rules_select(dash_world):
    entries = _all()
    for f in _filters(dash_world):
        got = [e.ref for e in ledger_sql.all_entries(f)]
        want = [e.ref for e in sorted(entries, key=lambda e: -e.seq) if _py_filter(e, f)]
        assert got == want, f


def test_the_new_year_payment_belongs_to_the_beijing_year(dash_world):
    refs_2025 = {e.ref for e in ledger_sql.all_entries(LedgerFilters(year=2025))}
    assert dash_world.entries["new_year"].ref not in refs_2025
    assert dash_world.entries["new_year"].ref in {e.ref for e in ledger_sql.all_entries(LedgerFilters(year=2026))}


def _key(e: LedgerEntry, dimension: str):
    if dimension == "year":
        return local_year(e.paid_at)
    if dimension == "track":
        return e.listing.track if e.listing else ""
    return {"kind": e.kind, "payer": e.payer_id, "payee": e.payee_id}[dimension]


@pytest.mark.parametrize("dimension", ["year", "kind", "track", "payer", "payee"])
def test_totals_equal_a_python_recomputation(dash_world, dimension):
    entries = _all()
    for f in _filters(dash_world):
        acc: dict = defaultdict(lambda: [0, Decimal("0"), Decimal("0")])
        for e in entries:
            if not _py_filter(e, f):
                continue
            key = _key(e, dimension)
            acc[key][0] += 1
            acc[key][1] += e.amount_cny
            acc[key][2] += e.amount_cny if not _codes(e) else 0
        got = {t.key: [t.entries, t.amount, t.counted] for t in ledger_sql.totals_by(dimension, f)}
        assert got == {k: v for k, v in acc.items()}, (dimension, f)


def test_pages_cover_the_export_in_order(dash_world):
    f = LedgerFilters(sort="amount", desc=False)
    refs, page = [], 1
    while True:
        p = ledger_sql.page_of_entries(f, page, per_page=3)
        refs += [e.ref for e in p.items]
        if not p.has_next:
            break
        page += 1
    assert refs == [e.ref for e in ledger_sql.all_entries(f)]
    amounts = [e.amount_cny for e in ledger_sql.all_entries(f)]
    assert amounts == sorted(amounts)


def _page_refs(client, query: str) -> list[str]:
    import re

    refs, page = [], 1
    while True:
        html = client.get(f"/dashboard/district/ledger?{query}&page={page}").get_data(as_text=True)
        body = html.split('id="entries-table"', 1)[1]
        refs += re.findall(r'<tr data-ref="([^"]+)"', body)
        if 'id="page-next"' not in html or 'page-item disabled"><a class="page-link" id="page-next"' in html:
            return refs
        page += 1


def _csv_refs(client, query: str) -> list[str]:
    resp = client.get(f"/dashboard/district/ledger/export.csv?{query}")
    assert resp.status_code == 200
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    return [r[0] for r in rows[1:]]


@pytest.mark.parametrize("query", ["", "year=2026", "status=incomplete", "kind=rental&sort=amount&dir=asc",
                                   "disputed=1", "track=digital_healthcare"])
def test_the_district_admins_ledger_page_lists_the_entries_of_its_export(dash_world, login, query):
    client = login(dash_world.users["admin"])
    assert client.get("/ledger/").headers["Location"].endswith("/dashboard/district/ledger")
    page = _page_refs(client, query)
    assert page == _csv_refs(client, query)
    if not query:
        assert len(page) == len(_all()) == 8
        # and the ledger's own export holds the same entries
        resp = client.get("/ledger/export.csv")
        rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
        assert sorted(r[0] for r in rows[1:]) == sorted(page)


def test_the_page_shows_totals_and_reasons_in_words(dash_world, login):
    client = login(dash_world.users["reviewer"])
    html = client.get("/dashboard/district/ledger?year=2026").get_data(as_text=True)
    assert "缺少凭证" in html and "有未解决的异议" in html and "收款方未确认" in html
    assert 'id="totals-kind"' in html and 'id="totals-track"' in html and 'id="totals-payee"' in html
    # bad parameters are ignored, not errors
    assert client.get("/dashboard/district/ledger?year=99999&kind=x&status=y&sort=z&org=abc&page=-1").status_code == 200


def test_members_may_not_see_the_district_ledger(dash_world, login):
    client = login(dash_world.users["a"])
    assert client.get("/dashboard/district/ledger").status_code == 403
    assert client.get("/dashboard/district/ledger/export.csv").status_code == 403


def test_facts_kept_in_step_equal_a_rebuild(dash_world):
    from market.dashboard import facts
    from models.dashboard import LedgerFact

    def snapshot():
        return sorted(tuple(getattr(f, c) for c in facts.COLUMNS)
                      for f in db.session.execute(select(LedgerFact)).scalars())

    db.session.expire_all()
    before = snapshot()
    assert len(before) == len(_all())
    facts.rebuild(db.session.connection())
    db.session.expire_all()
    assert snapshot() == before


def test_a_listing_moved_to_another_track_moves_its_entries(dash_world):
    listing = dash_world.listings["instrument"]
    before = {t.key: t.entries for t in ledger_sql.totals_by("track", LedgerFilters())}
    listing.track = "smart_transport"
    db.session.commit()
    after = {t.key: t.entries for t in ledger_sql.totals_by("track", LedgerFilters())}
    assert after.get("smart_transport") == before["digital_healthcare"] and "digital_healthcare" not in after
    assert {e.ref for e in ledger_sql.all_entries(LedgerFilters(track="smart_transport"))} == {
        e.ref for e in _all() if e.listing_id == listing.id}


def test_cached_totals_follow_every_ledger_change(dash_world):
    from tests.integration.dashboard.conftest import NOW

    def counted_2026():
        return {t.key: t.counted for t in ledger_sql.totals_by("year", LedgerFilters())}[2026]

    before = counted_2026()
    assert counted_2026() == before  # served from the cache
    ledger.confirm(dash_world.users["firm"], dash_world.entries["new_year"], now=NOW)
    db.session.commit()
    assert counted_2026() == before + Decimal("200000.00")


def test_year_totals_table_equals_the_sums_of_the_facts(dash_world):
    from sqlalchemy import func, literal_column

    from market.dashboard import facts
    from models.dashboard import LedgerFact, LedgerYearTotal

    def from_table():
        rows = db.session.execute(select(LedgerYearTotal.year, LedgerYearTotal.kind, LedgerYearTotal.counted,
                                         LedgerYearTotal.entries, LedgerYearTotal.amount_cny)
                                  .where(LedgerYearTotal.entries != 0)).all()
        return sorted((y, k, bool(c), n, Decimal(a)) for y, k, c, n, a in rows)

    def from_facts():
        counts = LedgerFact.reasons == literal_column("0")
        rows = db.session.execute(select(LedgerFact.year, LedgerFact.kind, counts, func.count(),
                                         func.sum(LedgerFact.amount_cny))
                                  .group_by(LedgerFact.year, LedgerFact.kind, counts)).all()
        return sorted((y, k, bool(c), n, Decimal(a)) for y, k, c, n, a in rows)

    kept = from_table()
    assert kept == from_facts() and kept
    facts.rebuild(db.session.connection())
    assert from_table() == kept
