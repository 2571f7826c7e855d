"""The subsidy service on a database: it loads what the pure rules need and gives their answer; a past
year recomputed after later organisation changes is unchanged; the CLI speaks CONTRACT.md's JSON; the
demo world's related-party payment is complete in the ledger and excluded by the engine."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from market.demo import load_demo
from market.domain.declared import DeclaredSubsidy
from market.extensions import db
from market.ledger import services as ledger
from market.ledger.importer import import_rows
from market.orgs import services as orgs
from market.subsidies import parameters, rules, services
from models.ledger import LedgerEntry
from models.organisations import Organisation
from models.users import Role

T0 = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
FULL = ["contract", "invoice", "payment_record"]


def at_clock(moment):
    ticks = itertools.repeat(moment)
    db.session.info["clock"] = lambda: next(ticks)


def row(ref, kind, payer, payee, amount, paid_at, confirmed=True, evidence=FULL, **extra):
    return {"ref": ref, "kind": kind, "payer": payer, "payee": payee, "amount_cny": amount, "paid_at": paid_at,
            "confirmed": confirmed, "evidence": evidence, **extra}


@pytest.fixture
def small_world(make_org):
    at_clock(T0)
    orgs_ = {
        "A": make_org(kind="sme", ref="A", size="small"),
        "B": make_org(kind="sme", ref="B", size="micro", in_district=False),
        "U": make_org(kind="university", ref="U", size=None),
        "L": make_org(kind="leading_firm", ref="L", size="large"),
        "Q": make_org(kind="sme", ref="Q", size="small", verified=False),
    }
    rows = [
        row("R1", "rental", "A", "U", "120000.00", "2026-03-10T10:00:00+08:00"),
        row("R2", "rental", "A", "U", "380000.00", "2026-05-20T15:30:00+08:00",
            declared_subsidies=[{"beneficiary": "A", "amount_cny": "25000.00", "source": "省级创新券"}]),
        row("R3", "rental", "B", "U", "80000.00", "2026-04-01T10:00:00+08:00"),
        row("R3-refund", "rental", "B", "U", "-20000.00", "2026-04-20T10:00:00+08:00", reverses="R3",
            evidence=["payment_record"]),
        row("R4", "rental", "Q", "U", "10000.00", "2026-02-01T10:00:00+08:00"),
        row("R5", "rental", "A", "U", "5000.00", "2026-08-01T10:00:00+08:00", confirmed=False),
        row("R6", "rental", "A", "U", "5000.00", "2026-08-02T10:00:00+08:00", evidence=["contract"]),
        row("C1", "scenario_contract", "L", "A", "2400000.00", "2026-06-30T09:00:00+08:00"),
        row("OLD", "rental", "A", "U", "1000.00", "2025-12-31T23:59:00+08:00"),
        row("NY", "rental", "A", "U", "2000.00", "2026-01-01T00:10:00+08:00"),
    ]
    import_rows("test", list(enumerate(rows, start=1)))
    return orgs_


def by_key(results, refs):
    return {(refs[r.beneficiary_id], r.rule): r for r in results}


def test_the_service_gives_the_pure_functions_answer(small_world):
    refs = services.org_refs()
    got = services.compute_year(2026)
    # the same inputs, built by hand from the database's plain facts
    entries = {e.ref: e for e in db.session.execute(select(LedgerEntry)).scalars()}
    ids = {ref: o.id for ref, o in small_world.items()}

    def payment(ref, problems=(), missing=(), declared=()):
        e = entries[ref]
        return rules.Payment(e.id, ref, e.kind, e.payer_id, e.payee_id, e.amount_cny, e.paid_at, None,
                             e.reverses_id, problems, declared, missing)

    decl = (DeclaredSubsidy(beneficiary_id=ids["A"], amount_cny=Decimal("25000.00"), source="省级创新券",
                            entry_id=entries["R2"].id),)
    payments = [payment("R1"), payment("R2", declared=decl), payment("R3"), payment("R3-refund"), payment("R4"),
                payment("R5", ("payer_not_confirmed", "payee_not_confirmed")),
                payment("R6", ("missing_evidence",), ("invoice", "payment_record")),
                payment("C1"), payment("OLD"), payment("NY")]
    expected = rules.compute(2026, payments, orgs.fact_timelines(), orgs.group_map(), parameters.default())
    assert sorted(got, key=lambda r: (r.beneficiary_id, r.rule)) == sorted(expected, key=lambda r: (r.beneficiary_id, r.rule))

    out = by_key(got, refs)
    assert out[("A", "art7_renter")].amount == Decimal("200000.00")  # 502,000 × 50% capped
    assert [ln.ref for ln in out[("A", "art7_renter")].lines] == ["NY", "R1", "R2"]
    assert [(e.ref, e.reason) for e in out[("A", "art7_renter")].exclusions] == [("R5", "not_confirmed"), ("R6", "missing_evidence")]
    assert out[("A", "art8_supplier")].amount == Decimal("120000.00")
    assert [(e.ref, e.reason) for e in out[("B", "art7_renter")].exclusions] == [("R3", "out_of_district"), ("R3-refund", "out_of_district")]
    assert [(e.ref, e.reason) for e in out[("Q", "art7_renter")].exclusions] == [("R4", "not_verified")]
    # U: 2,000 + 500,000 + 60,000 net from the out-of-district SME B + 10,000 from the unverified Q
    assert (out[("U", "art7_provider")].base, out[("U", "art7_provider")].amount) == (Decimal("572000.00"), Decimal("57200.00"))
    old = by_key(services.compute_year(2025), refs)
    assert [(e.ref, e.reason) for e in old[("A", "art7_renter")].exclusions] == [("OLD", "before_policy_start")]


def test_recomputing_a_past_year_after_organisation_changes_gives_the_same_result(small_world, make_user):
    before = [services.as_contract(r, services.org_refs()) for r in services.compute_year(2026)]
    admin = make_user(role=Role.DISTRICT_ADMIN)
    at_clock(dt.datetime(2027, 2, 1, tzinfo=dt.UTC))
    a, u = small_world["A"], small_world["U"]
    orgs.override_size(admin, a, "large", "2027 年并购后超过中小企业上限")
    group = orgs.create_group(admin, "新区集团", "group")
    orgs.add_to_group(admin, group, a)
    orgs.add_to_group(admin, group, u)
    a.in_district = False
    db.session.commit()
    after = [services.as_contract(r, services.org_refs()) for r in services.compute_year(2026)]
    assert after == before
    # ... while a 2027 payment is judged on the new facts
    import_rows("test", [(1, row("R27", "rental", "A", "U", "1000.00", "2027-02-02T10:00:00+08:00"))],
                now=dt.datetime(2027, 3, 1, tzinfo=dt.UTC))
    y27 = by_key(services.compute_year(2027), services.org_refs())
    assert [(e.ref, e.reason) for e in y27[("A", "art7_renter")].exclusions] == [("R27", "related_party")]


def test_cli_json_is_the_contract(app, small_world, tmp_path):
    result = app.test_cli_runner().invoke(args=["subsidies", "compute", "--year", "2026", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [(d["beneficiary"], d["rule"]) for d in data] == [
        ("A", "art7_renter"), ("A", "art8_supplier"), ("B", "art7_renter"), ("Q", "art7_renter"), ("U", "art7_provider")]
    first = data[0]
    assert set(first) == {"beneficiary", "rule", "year", "base_cny", "amount_cny", "capped", "entries", "excluded", "parameters"}
    assert first == {
        "beneficiary": "A", "rule": "art7_renter", "year": 2026, "base_cny": "502000.00", "amount_cny": "200000.00",
        "capped": True, "entries": ["NY", "R1", "R2"],
        "excluded": [{"entry": "R5", "reason": "not_confirmed", "message": "付款方未确认"},
                     {"entry": "R6", "reason": "missing_evidence", "message": "缺少凭证：发票、付款凭证"}],
        "parameters": "2026-01-01",
    }
    assert data[2]["base_cny"] == "0.00" and data[2]["amount_cny"] == "0.00"
    empty = app.test_cli_runner().invoke(args=["subsidies", "compute", "--year", "2031"])
    assert empty.exit_code == 0 and json.loads(empty.stdout) == []
    out = tmp_path / "y.json"
    assert app.test_cli_runner().invoke(args=["subsidies", "compute", "--year", "2026", "--out", str(out)]).exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8")) == data


def test_cli_csv_and_xlsx_carry_the_same_columns_in_chinese(app, small_world, tmp_path):
    csv_out, xlsx_out = tmp_path / "y.csv", tmp_path / "y.xlsx"
    for fmt, path in (("csv", csv_out), ("xlsx", xlsx_out)):
        r = app.test_cli_runner().invoke(args=["subsidies", "compute", "--year", "2026", "--format", fmt, "--out", str(path)])
        assert r.exit_code == 0, r.output
    lines = csv_out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("受益机构,条款,年度,计算基数（元）,补贴金额（元）")
    assert lines[1].startswith("A,art7_renter,2026,502000.00,200000.00,是,NY;R1;R2,")
    ws = load_workbook(xlsx_out).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "受益机构" and rows[1][:5] == ("A", "art7_renter", 2026, 502000, 200000)  # numbers, not text
    assert ws["D2"].number_format == ws["E2"].number_format == "#,##0.00"
    assert len(rows) == len(lines)


def test_the_demo_related_party_payment_is_complete_but_excluded(app_ctx):
    load_demo()
    d08 = db.session.execute(select(LedgerEntry).where(LedgerEntry.ref == "D08")).scalar_one()
    assert ledger.is_counted(d08)  # complete in the ledger
    s4 = db.session.execute(select(Organisation).where(Organisation.ref == "S4")).scalar_one()
    (result,) = services.results_for(s4.id, 2026)
    assert (result.rule, result.amount, result.lines) == ("art8_supplier", Decimal("0.00"), ())
    assert [(e.ref, e.reason, e.message) for e in result.exclusions] == [("D08", "related_party", "关联方之间的交易")]
    # and the worked example holds in the demo world
    out = {(r["beneficiary"], r["rule"]): r for r in services.contract_rows(2026)}
    assert out[("S1", "art7_renter")]["amount_cny"] == "200000.00"
    assert out[("S2", "art8_supplier")]["amount_cny"] == "120000.00"


def test_the_plain_path_gives_the_general_rules_answer_on_a_generated_world(make_org, make_user, monkeypatch):
    """iter_year sends most beneficiaries through rules.compute_plain; every result, line and exclusion
    must be what rules.compute gives (services._iter_year(plain=False)) on a varied world."""
    import random

    from models.organisations import ExternalSubsidy

    rnd = random.Random(7)
    at_clock(T0)
    specs = [("sme", "small", True, True), ("sme", "micro", True, True), ("sme", "medium", False, True),
             ("sme", "large", True, True), ("sme", "small", True, False), ("university", None, True, True),
             ("institute", None, True, True), ("leading_firm", "large", True, True), ("leading_firm", "large", False, True),
             ("other", None, True, True), ("sme", "small", True, True), ("university", None, False, True)]
    made = [make_org(kind=k, ref=f"G{i:02d}", size=s, in_district=d, verified=v) for i, (k, s, d, v) in enumerate(specs)]
    refs = [o.ref for o in made]
    rows, payments = [], []
    for n in range(220):
        kind = rnd.choice(["rental", "rental", "scenario_contract", "data_access"])
        payer, payee = rnd.sample(refs, 2)
        if rnd.random() < 0.6:  # a deal that may well count
            smes, providers = [refs[i] for i in (0, 1, 2, 10)], [refs[i] for i in (5, 6, 7, 9, 11)]
            payer, payee = ((rnd.choice(refs[7:9]), rnd.choice(smes)) if kind == "scenario_contract"
                            else (rnd.choice(smes), rnd.choice(providers)))
        when = dt.datetime(2025, 11, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=rnd.randrange(60 * 24 * 500))
        extra = {}
        if rnd.random() < 0.025:
            extra["declared_subsidies"] = [{"beneficiary": rnd.choice([payer, payee]), "amount_cny": f"{rnd.randrange(1, 90000)}.00",
                                            "source": "省级创新券"}]
        evidence = FULL if rnd.random() < 0.85 else rnd.choice([["contract"], ["invoice", "payment_record"]])
        amount = f"{rnd.randrange(1, 3_000_000)}.{rnd.randrange(100):02d}"
        r = row(f"W{n:03d}", kind, payer, payee, amount, when.isoformat(), confirmed=rnd.random() < 0.9,
                evidence=evidence, **extra)
        rows.append(r)
        payments.append(r)
        if rnd.random() < 0.15:
            back = (Decimal(amount) * Decimal(rnd.choice(["0.5", "1"]))).quantize(Decimal("0.01"))
            later = when + dt.timedelta(days=rnd.randrange(1, 120))
            rows.append(row(f"W{n:03d}-R", kind, payer, payee, f"-{back}", later.isoformat(), reverses=r["ref"],
                            evidence=["payment_record"], confirmed=rnd.random() < 0.9))
    for n, when in enumerate(["2025-12-31T23:50:00+08:00", "2026-01-01T00:10:00+08:00", "2026-06-30T23:50:00+08:00",
                              "2026-07-01T00:10:00+08:00", "2026-12-31T23:50:00+08:00", "2027-01-01T00:10:00+08:00"]):
        rows.append(row(f"EDGE{n}", "rental", refs[2], refs[6], "1000.00", when))  # Beijing days at the edges
    rows.sort(key=lambda r: r["paid_at"])
    report = import_rows("test", list(enumerate(rows, start=1)), now=dt.datetime(2027, 12, 1, tzinfo=dt.UTC))
    assert report.created == len(rows)
    db.session.add(ExternalSubsidy(organisation_id=made[0].id, rule="art7_renter", year=2026,
                                   amount_cny=Decimal("5000.00"), source="市级补贴"))
    # facts that change in the middle of 2026: an SME grows large, a group forms
    admin = make_user(role=Role.DISTRICT_ADMIN)
    at_clock(dt.datetime(2026, 7, 1, 4, tzinfo=dt.UTC))
    orgs.override_size(admin, made[1], "large", "并购")
    group = orgs.create_group(admin, "生成集团", "group")
    orgs.add_to_group(admin, group, made[5])
    orgs.add_to_group(admin, group, made[10])
    db.session.commit()

    used = {"plain": 0, "general": 0}
    real_plain, real_general = services.compute_plain, services.compute

    def plain_path(*args, **kwargs):
        found = real_plain(*args, **kwargs)
        used["plain"] += found is not None
        return found

    def general_path(*args, **kwargs):
        used["general"] += 1
        return real_general(*args, **kwargs)

    monkeypatch.setattr(services, "compute_plain", plain_path)
    monkeypatch.setattr(services, "compute", general_path)
    at_once = {True: 0, False: 0}  # groups judged at once / member by member (rules._plain_group)
    real_at_once = rules._plain_group_at_once

    def counted_at_once(*args, **kwargs):
        done = real_at_once(*args, **kwargs)
        at_once[done] += 1
        return done

    monkeypatch.setattr(rules, "_plain_group_at_once", counted_at_once)
    # a revision on 1 July (another rate and cap, narrower base and eligibility): dates decide versions
    old = '      - effective_from: 2026-01-01\n        rate: "0.50"'
    july = ('      - effective_from: 2026-07-01\n        rate: "0.40"\n        cap_cny: "300000.00"\n        period: year\n'
            '        base:\n          - entry_kind: rental\n            listing_kinds: [instrument, unlisted]\n'
            '        eligibility:\n          verified_required: true\n          in_district_required: false\n'
            '          sme_required: true\n          beneficiary_kinds: [sme]\n          counterparty_sme_required: false\n'
            '          counterparty_kinds: [university, institute]\n')
    revised = parameters.parse(parameters.DATA_FILE.read_text(encoding="utf-8").replace(old, july + old))
    assert [v.id for v in revised.rule("art7_renter").versions] == ["2026-01-01", "2026-07-01"]
    for params in (parameters.default(), revised):
        for year in (2025, 2026, 2027):
            plain = list(services.iter_year(year, params))
            general = list(services._iter_year(year, params, plain=False))
            assert plain == general
            for org in made:  # one beneficiary (the calculation sheet) through its indexes
                assert services.results_for(org.id, year, params) == [r for r in general if r.beneficiary_id == org.id]
    used.update(plain=0, general=0)
    y26 = list(services.iter_year(2026))
    assert used["plain"] >= 3 and used["general"] >= 2, used  # both paths were taken
    assert at_once[True] >= 3 and at_once[False] >= 1, at_once  # and both ways of judging a group
    assert sum(len(r.lines) for r in y26) > 50 and sum(len(r.exclusions) for r in y26) > 20
    assert any(r.choices for r in y26)  # best-of happened (general path) somewhere
    # the organisation-level declaration reaches its beneficiary's year (and only it): best-of on the whole year
    declared_on = [(r.beneficiary_id, c.source) for r in y26 for c in r.choices if c.entry_id == 0]
    assert declared_on == [(made[0].id, "市级补贴")]


def test_a_refund_of_last_years_payment_follows_last_years_best_of(make_org):
    """A 2027 refund of a 2026 payment that a declared other subsidy took (best-of, the closing clause) does
    not lower the 2027 renter base: it undoes a payment the rule never counted (POLICY.md interpretations 1, 3).
    The provider, who had no choice, nets it as usual."""
    at_clock(T0)
    make_org(kind="sme", ref="A", size="small")
    make_org(kind="university", ref="U", size=None)
    rows = [
        row("P1", "rental", "A", "U", "100000.00", "2026-03-01T10:00:00+08:00",
            declared_subsidies=[{"beneficiary": "A", "amount_cny": "60000.00", "source": "省级创新券"}]),
        row("P2", "rental", "A", "U", "200000.00", "2027-01-10T10:00:00+08:00"),
        row("P1-refund", "rental", "A", "U", "-100000.00", "2027-02-01T10:00:00+08:00", reverses="P1",
            evidence=["payment_record"]),
    ]
    import_rows("test", list(enumerate(rows, start=1)), now=dt.datetime(2027, 12, 1, tzinfo=dt.UTC))
    db.session.commit()
    refs = services.org_refs()
    y26 = by_key(services.compute_year(2026), refs)
    assert y26[("A", "art7_renter")].amount == 0  # 60,000 declared ≥ our 50,000: the other subsidy stands
    assert [c.winner for c in y26[("A", "art7_renter")].choices] == ["other"]
    y27 = by_key(services.compute_year(2027), refs)
    renter = y27[("A", "art7_renter")]
    assert (renter.base, renter.amount) == (Decimal("200000.00"), Decimal("100000.00"))
    assert [(e.ref, e.reason) for e in renter.exclusions] == [("P1-refund", "other_subsidy_chosen")]
    assert y27[("U", "art7_provider")].base == Decimal("100000.00")  # 200,000 − 100,000
    a = next(o for o, ref in refs.items() if ref == "A")
    assert services.results_for(a, 2027) == [r for r in services.compute_year(2027) if r.beneficiary_id == a]


def test_stopping_the_year_early_leaves_the_session_usable(small_world, monkeypatch):
    """The whole year is one stream that holds the connection on PostgreSQL: a caller that stops after the
    first result (or drops the iterator) must still find its transaction usable, with nothing cancelled."""
    monkeypatch.setattr(services, "STREAM_BATCH", 1)  # rows one by one: more of them pending after the first
    year = services.iter_year(2026)
    first = next(year)
    year.close()
    assert first.beneficiary_id in services.org_refs()
    # the same transaction goes on: a query, then the whole year again, unchanged
    assert db.session.execute(select(LedgerEntry.ref).where(LedgerEntry.ref == "R1")).scalar_one() == "R1"
    again = list(services.iter_year(2026))
    assert again[0] == first and len(again) > 1
    dropped = services.iter_year(2026)
    next(dropped)
    del dropped  # garbage: closed by CPython at once
    assert db.session.execute(select(LedgerEntry.ref).where(LedgerEntry.ref == "R2")).scalar_one() == "R2"


def test_the_year_keeps_the_collector_off_what_it_loaded_and_restores_it(small_world, monkeypatch):
    """A whole year pauses Python's cyclic collector while it loads the organisations' facts and freezes them
    for its duration (services._LongLived): the collector is on and nothing is frozen again once the year is
    exhausted, closed early or failed while loading; a year running meanwhile, a process that froze objects of
    its own or one that turned the collector off are left as they are — and the year is the same year."""
    import gc

    assert gc.isenabled() and gc.get_freeze_count() == 0
    expected = list(services.iter_year(2026))
    assert gc.isenabled() and gc.get_freeze_count() == 0
    year = services.iter_year(2026)
    first = next(year)
    assert gc.isenabled() and gc.get_freeze_count() > 0  # the loaded facts: left out of collections meanwhile
    other = services._LongLived()  # another year meanwhile (another thread's: this session's stream is open)
    assert not other.active
    other.loaded()
    other.end()
    assert gc.isenabled() and gc.get_freeze_count() > 0
    assert [first, *year] == expected
    assert gc.isenabled() and gc.get_freeze_count() == 0
    year = services.iter_year(2026)
    next(year)
    year.close()  # the caller stops early
    assert gc.isenabled() and gc.get_freeze_count() == 0

    def broken(*_args, **_kwargs):
        assert not gc.isenabled()  # paused while loading
        raise RuntimeError("facts unavailable")

    with monkeypatch.context() as m:
        m.setattr(services, "fact_timelines", broken)
        with pytest.raises(RuntimeError):
            list(services.iter_year(2026))
    assert gc.isenabled() and gc.get_freeze_count() == 0

    gc.freeze()  # the process's own frozen objects (a pre-forking server's, say) stay frozen
    try:
        own = gc.get_freeze_count()
        assert list(services.iter_year(2026)) == expected and 0 < gc.get_freeze_count() <= own
    finally:
        gc.unfreeze()
    gc.disable()  # and a collector turned off stays off
    try:
        assert list(services.iter_year(2026)) == expected and not gc.isenabled()
    finally:
        gc.enable()


def test_the_groups_sent_early_on_a_second_connection_are_the_sessions_year(small_world, monkeypatch):
    """On PostgreSQL a transaction that has written nothing gets its year's groups (services._EarlyGroups) and the
    payments its refunds reverse (services._RowsAhead) from other connections that import its snapshot, sent before
    the other queries: the same results, lines and exclusions as its own connection gives; a transaction that wrote
    (rows the other connections could not see) reads on its own connection; a year stopped early, or one whose
    loading fails, returns the other connections to the pool and leaves the session usable."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL: other connections")
    started = []

    def spy(kind):
        real_start = getattr(services, kind).start.__func__

        def start(cls, *args):
            started.append((kind, real_start(cls, *args)))
            return started[-1][1]
        monkeypatch.setattr(getattr(services, kind), "start", classmethod(start))

    spy("_EarlyGroups")
    spy("_RowsAhead")

    def used() -> list[str]:  # the other connections the last year used
        kinds = [kind for kind, found in started if found is not None]
        started.clear()
        return kinds

    own = list(services.iter_year(2026))  # the world is flushed, not committed: the session's own connection
    assert started == [] and len(own) > 3
    # a refund, judged as the payment it reverses (read by _RowsAhead when the year is read early)
    assert ("R3-refund", "out_of_district") in [(e.ref, e.reason) for r in own for e in r.exclusions]
    db.session.commit()
    pool = db.engine.pool
    db.session.execute(select(LedgerEntry.id).limit(1))  # the session's own connection, checked out
    checked_out = pool.checkedout()
    early = list(services.iter_year(2026))
    assert used() == ["_EarlyGroups", "_RowsAhead"] and early == own
    assert [(r.rule, [ln.ref for ln in r.lines], [(e.ref, e.reason) for e in r.exclusions]) for r in early] == \
        [(r.rule, [ln.ref for ln in r.lines], [(e.ref, e.reason) for e in r.exclusions]) for r in own]
    assert pool.checkedout() == checked_out  # the other connections are back in the pool
    db.session.commit()
    year = services.iter_year(2026)
    assert next(year) == own[0] and used() == ["_EarlyGroups", "_RowsAhead"]
    year.close()
    assert pool.checkedout() == checked_out
    assert db.session.execute(select(LedgerEntry.ref).where(LedgerEntry.ref == "R1")).scalar_one() == "R1"
    db.session.commit()
    with monkeypatch.context() as m:  # the loading fails while both other connections are still at work
        m.setattr(services, "fact_timelines", lambda *a, **k: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            list(services.iter_year(2026))
    assert used() == ["_EarlyGroups", "_RowsAhead"] and pool.checkedout() == checked_out
    db.session.rollback()
    assert list(services.iter_year(2026)) == own
    used()

    def no_connection():
        raise TimeoutError("pool exhausted")

    db.session.commit()
    db.session.execute(select(LedgerEntry.id).limit(1))  # the session's connection, taken before
    with monkeypatch.context() as m:  # no other connection: the session's own
        m.setattr(db.engine, "raw_connection", no_connection)
        assert list(services.iter_year(2026)) == own and used() == []
    with monkeypatch.context() as m:  # a connection for the groups, none for the originals: read by the session
        real = db.engine.raw_connection
        given = []

        def one_connection():
            if given:
                raise TimeoutError("pool exhausted")
            given.append(real())
            return given[-1]
        m.setattr(db.engine, "raw_connection", one_connection)
        assert list(services.iter_year(2026)) == own and used() == ["_EarlyGroups"]
    assert pool.checkedout() == checked_out


def test_a_year_does_not_wait_for_a_connection_the_pool_cannot_spare(small_world):
    """Every connection of the pool checked out and no more allowed: the year does not wait the pool's timeout
    (30 s) for another connection to share its snapshot with, it reads on its own connection at once."""
    import time

    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL: other connections")
    expected = list(services.iter_year(2026))
    db.session.commit()
    db.session.execute(select(LedgerEntry.id).limit(1))  # the session's own connection, checked out
    pool = db.engine.pool
    held = []
    try:
        while pool.checkedin() or pool.overflow() < pool._max_overflow:
            held.append(db.engine.raw_connection())
        assert services._spare_connection() is None
        started = time.perf_counter()
        assert list(services.iter_year(2026)) == expected
        assert time.perf_counter() - started < 10  # (the pool's timeout is 30 s)
    finally:
        for raw in held:
            raw.close()
    assert services._spare_connection() is not None  # (checked out: returned at once)


def test_the_year_is_the_same_whichever_way_the_database_finds_the_beneficiaries_positions(small_world, monkeypatch):
    """The year's groups come in ref order from positions looked up in an array indexed by organisation id, or,
    when ids are too sparse for an array, from a join to an (id, position) table: the same year either way."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL: positions in ref order")
    order = services._ref_order()
    assert services._dense(order)
    assert not services._dense([1, 500_000]) and not services._dense([]) and services._dense([3, 1, 2])
    assert services._dense([99_000, 99_001])  # gaps in a small id range do not matter (the sequences run on)
    by_array = list(services.iter_year(2026))
    monkeypatch.setattr(services, "_dense", lambda order: False)
    by_join = list(services.iter_year(2026))
    assert by_array == by_join == list(services._iter_year(2026, plain=False))
    assert [(r.rule, [ln.ref for ln in r.lines], [e.ref for e in r.exclusions]) for r in by_array] == \
        [(r.rule, [ln.ref for ln in r.lines], [e.ref for e in r.exclusions]) for r in by_join]


def test_lines_read_late_are_the_lines(small_world):
    """A result's lines and exclusions are made when first read: their count is known before, and what is
    read is what the general rules give, in payment-date order, however often it is read."""
    refs = services.org_refs()
    renter = by_key(services.compute_year(2026), refs)[("A", "art7_renter")]
    assert len(renter.lines) == 3 and bool(renter.lines) and len(renter.exclusions) == 2
    assert [ln.ref for ln in renter.lines] == ["NY", "R1", "R2"] == [ln.ref for ln in renter.lines]
    assert renter.lines[0].amount == Decimal("2000.00") and renter.lines[-1].paid_at.tzinfo is not None
    assert list(renter.lines) == sorted(renter.lines, key=lambda ln: (ln.paid_at, ln.ref))
    assert renter.lines == tuple(renter.lines) and renter.exclusions != ()


def test_evidence_bits_are_the_evidence_recorded_with_the_entry(small_world):
    """``ledger_entry.evidence_bits`` (generated by the database) holds exactly the evidence types of the
    entry's own ``evidence_json``, as the engine's completeness state reads them."""
    from models.ledger import EVIDENCE_BITS

    entries = db.session.execute(select(LedgerEntry.ref, LedgerEntry.evidence_json, LedgerEntry.evidence_bits)).all()
    assert {bits for _ref, _json, bits in entries} >= {8 | 16 | 32, 32, 8}  # full, a refund's record, contract only
    for ref, evidence_json, bits in entries:
        types = {item["type"] for item in json.loads(evidence_json)}
        assert bits == sum(EVIDENCE_BITS[t] for t in types), ref


def test_the_year_from_parallel_workers_is_the_same_year(small_world):
    """On PostgreSQL the year's groups are formed by parallel workers in the order of the beneficiaries' refs
    (``_year_groups`` with ``_ref_order``; here the refs' order is not the ids'): forced onto a parallel plan
    even for this small world, every result, line and exclusion is still the general rules' answer, in ref
    order."""
    from sqlalchemy import text

    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL plans")
    refs = services.org_refs()
    assert sorted(refs, key=refs.get) != sorted(refs)  # ref order is not id order
    expected = list(services._iter_year(2026, plain=False))
    for setting in ("parallel_setup_cost = 0", "parallel_tuple_cost = 0", "min_parallel_table_scan_size = 0",
                    "max_parallel_workers_per_gather = 2", "enable_hashagg = off", "enable_indexscan = off",
                    "enable_bitmapscan = off"):
        db.session.execute(text(f"SET LOCAL {setting}"))
    le, li = LedgerEntry.__table__, services.Listing.__table__
    stmt = services._year_groups(le, li, 2026, parameters.default(), services._ref_order())
    sql = str(stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
    plan = "\n".join(db.session.execute(text("EXPLAIN " + sql)).scalars())
    assert "Gather" in plan and "Parallel Seq Scan on ledger_entry" in plan, plan
    got = list(services.iter_year(2026))
    assert got == expected
    assert [refs[r.beneficiary_id] for r in got] == sorted(refs[r.beneficiary_id] for r in got)
    assert sum(len(r.lines) for r in got) >= 6 and any(r.exclusions for r in got)


def test_the_year_reads_only_the_entries_some_rule_reads_with_their_listing(make_org):
    """The whole year's query leaves out an entry's side when no rule paying that side reads the entry's kind
    with its listing's kind (data access without a database listing, a rental of a scenario, ...): exactly
    those rows are left out, a refund is kept by its kind (it is judged as the payment it reverses, whatever
    listing it names), and every organisation's year is still what one organisation's query gives (which
    reads by kind only)."""
    from models.listings import Listing

    at_clock(T0)
    renter, provider = make_org(kind="sme", ref="A", size="small"), make_org(kind="university", ref="U", size=None)
    firm = make_org(kind="leading_firm", ref="L", size="large")
    kinds = ("database", "instrument", "scenario", "public_data")
    db.session.add_all(Listing(ref=f"LS-{k}", kind=k, owner_id=provider.id, title=k, description=k) for k in kinds)
    db.session.commit()
    rows = []
    for n, (kind, listing) in enumerate(itertools.product(("rental", "data_access", "scenario_contract"), (None, *kinds))):
        payer, payee = (firm.ref, renter.ref) if kind == "scenario_contract" else (renter.ref, provider.ref)
        extra = {"listing": f"LS-{listing}"} if listing else {}
        rows.append(row(f"X{n:02d}", kind, payer, payee, "1000.00", f"2026-03-{n + 1:02d}T10:00:00+08:00", **extra))
        # a refund naming no listing, of each: kept by its kind
        rows.append(row(f"X{n:02d}-R", kind, payer, payee, "-400.00", f"2026-04-{n + 1:02d}T10:00:00+08:00",
                        reverses=f"X{n:02d}", evidence=["payment_record"]))
    report = import_rows("test", list(enumerate(rows, start=1)), now=dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    assert report.created == len(rows), report
    db.session.commit()

    params = parameters.default()
    le, li = LedgerEntry.__table__, services.Listing.__table__
    read = set()
    for group in db.session.execute(services._year_groups(le, li, 2026, params)):
        read.update((int(entry_id), group.side) for entry_id in group.ids.split(","))
    expected = set()
    for entry_id, kind, listing_kind, reverses_id in db.session.execute(
            select(le.c.id, le.c.kind, li.c.kind, le.c.reverses_id).select_from(le.outerjoin(li, li.c.id == le.c.listing_id))):
        for side, role in ((0, "payer"), (1, "payee")):
            rules_of_side = [params.rule(r) for r in parameters.LEDGER_RULES if params.rule(r).beneficiary == role]
            filters = [f for r in rules_of_side for v in r.versions for f in v.base]
            if any(f.entry_kind == kind and (reverses_id is not None or f.matches(kind, listing_kind)) for f in filters):
                expected.add((entry_id, side))
    assert read == expected and len(read) < 2 * len(rows)  # some sides are left out, and only those
    refund_of_database = db.session.execute(select(le.c.id).where(le.c.ref == "X06-R")).scalar_one()  # data access
    assert (refund_of_database, 0) in read and (refund_of_database, 1) in read  # of a database listing's entry

    year = list(services.iter_year(2026, params))
    assert year == list(services._iter_year(2026, params, plain=False))
    for org in (renter, provider, firm):
        assert services.results_for(org.id, 2026, params) == [r for r in year if r.beneficiary_id == org.id]
    counted = {ln.ref for r in year for ln in r.lines} | {ex.ref for r in year for ex in r.exclusions}
    assert {"X06", "X06-R", "X01", "X00"} <= counted and "X05" not in counted  # data access (database); rentals


def test_a_group_whose_counterparties_differ_is_judged_at_once_by_their_facts(make_org, make_user, monkeypatch):
    """A provider's rentals in one group (same side, kind, completeness) from renters whose facts differ: large
    firms and a renter of the provider's own related-party group (all settled before the year, so the group
    is judged at once, by the facts numbers) are excluded with their reasons, the others counted — an
    out-of-district SME too (art. 7 does not say 区内: ``renter_anywhere``) — the base summed from the counted
    members, or from the group's total less the excluded ones when those are fewer, exactly as the general
    rules say. The group is set by its id when the renter is created: its facts hold it from the start."""
    at_clock(T0)
    admin = make_user(role=Role.DISTRICT_ADMIN)
    group = orgs.create_group(admin, "提供方集团", "group")
    db.session.commit()
    provider = make_org(kind="university", ref="PU", size=None, group_id=group.id)
    other_provider = make_org(kind="institute", ref="PI", size=None)
    renters = [make_org(kind="sme", ref=f"PS{i}", size="small") for i in range(4)]
    away = make_org(kind="sme", ref="PX", size="micro", in_district=False)
    sister = make_org(kind="sme", ref="PR", size="small", group_id=group.id)
    large, larger = make_org(kind="sme", ref="PL", size="large"), make_org(kind="leading_firm", ref="PM", size="large")
    rows, n = [], itertools.count(1)
    for renter in (*renters, away, sister, large):  # 5 of 7 count: the base is the total less the two excluded
        k = next(n)
        rows.append(row(f"PM{k:02d}", "rental", renter.ref, provider.ref, f"{1000 * k}.25", f"2026-03-{k:02d}T10:00:00+08:00"))
    for renter in (renters[0], large, larger):  # 1 of 3 counts: the base is that member's amount
        k = next(n)
        rows.append(row(f"PM{k:02d}", "rental", renter.ref, other_provider.ref, f"{777 * k}.10",
                        f"2026-04-{k:02d}T10:00:00+08:00"))
    report = import_rows("test", list(enumerate(rows, start=1)), now=dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    assert report.created == len(rows), report
    db.session.commit()

    at_once = []
    real_at_once = rules._plain_group_at_once

    def counted(*args, **kwargs):
        at_once.append(real_at_once(*args, **kwargs))
        return at_once[-1]

    monkeypatch.setattr(rules, "_plain_group_at_once", counted)
    year = list(services.iter_year(2026))
    assert year == list(services._iter_year(2026, plain=False))
    assert at_once.count(True) >= 2  # the two providers' groups, at once

    amounts = {r["ref"]: Decimal(r["amount_cny"]) for r in rows}
    payer_of = {r["ref"]: r["payer"] for r in rows}
    for prov, counted_refs, excluded in (
            (provider, {"PS0", "PS1", "PS2", "PS3", "PX"}, {"PR": "related_party", "PL": "counterparty_not_sme"}),
            (other_provider, {"PS0"}, {"PL": "counterparty_not_sme", "PM": "counterparty_not_sme"})):
        result = next(r for r in year if r.beneficiary_id == prov.id and r.rule == "art7_provider")
        assert {payer_of[ln.ref] for ln in result.lines} == counted_refs
        assert result.base == sum(amounts[ln.ref] for ln in result.lines)
        reasons = {payer_of[x.ref]: x.reasons for x in result.exclusions}
        assert set(reasons) == set(excluded)
        for renter_ref, reason in excluded.items():
            assert reason in reasons[renter_ref]
        assert "related_party" not in reasons["PL"]
        assert services.results_for(prov.id, 2026) == [r for r in year if r.beneficiary_id == prov.id]
