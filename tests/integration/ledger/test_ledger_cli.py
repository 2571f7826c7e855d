"""`flask --app market ledger import|export|verify` per CONTRACT.md: all-or-nothing, idempotent by ref."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select, text

from market.extensions import db
from models.ledger import LedgerEntry, LedgerEvent
from models.listings import Listing
from models.organisations import Organisation

GOOD = [
    {"ref": "P01", "kind": "rental", "payer": "S1", "payee": "U1", "amount_cny": "120000.00",
     "paid_at": "2026-03-01T10:00:00+08:00", "confirmed": True,
     "evidence": ["contract", "invoice", "payment_record"], "listing": "H01",
     "declared_subsidies": [{"beneficiary": "S1", "amount_cny": "25000.00", "source": "省级创新券"}]},
    {"ref": "P02", "kind": "rental", "payer": "S1", "payee": "U1", "amount_cny": 380000,
     "paid_at": "2026-05-01T02:00:00Z"},
    {"ref": "P01R", "kind": "rental", "payer": "S1", "payee": "U1", "amount_cny": "-20000.00",
     "paid_at": "2026-04-01T10:00:00+08:00", "confirmed": True, "reverses": "P01"},
    {"ref": "OLD", "kind": "data_access", "payer": "S1", "payee": "U1", "amount_cny": "10",
     "paid_at": "2019-06-01T10:00:00+08:00"},  # before the policy: history, accepted
]


@pytest.fixture
def orgs(make_org):
    s1 = make_org(kind="sme", ref="S1")
    u1 = make_org(kind="university", ref="U1", size=None)
    db.session.add(Listing(ref="H01", kind="instrument", owner_id=u1.id, title="场发射透射电镜", description="电镜"))
    db.session.commit()
    return s1, u1


def write_jsonl(tmp_path, rows, name="ledger.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def run(app, *args):
    return app.test_cli_runner().invoke(args=["ledger", *args])


def n_entries() -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()


def test_import_then_reimport_is_a_noop(app, orgs, tmp_path):
    path = write_jsonl(tmp_path, GOOD)
    result = run(app, "import", str(path))
    assert result.exit_code == 0, result.output
    assert "created 4, updated 0, unchanged 0" in result.output
    p01 = db.session.execute(select(LedgerEntry).where(LedgerEntry.ref == "P01")).scalar_one()
    assert p01.both_confirmed and p01.listing.ref == "H01" and p01.evidence_types == {"contract", "invoice", "payment_record"}
    assert p01.declared_subsidies[0]["amount_cny"] == "25000.00"
    refund = db.session.execute(select(LedgerEntry).where(LedgerEntry.ref == "P01R")).scalar_one()
    assert refund.reverses_id == p01.id and refund.amount_cny == Decimal("-20000.00")
    again = run(app, "import", str(path))
    assert again.exit_code == 0 and "created 0, updated 0, unchanged 4" in again.output
    assert n_entries() == 4
    assert run(app, "verify").exit_code == 0


BAD_CASES = [
    ({"payer": "NOPE"}, "payer", "找不到机构"),
    ({"paid_at": "2099-01-01T00:00:00+08:00"}, "paid_at", "晚于现在"),
    ({"paid_at": "2026-03-01T10:00:00"}, "paid_at", "时区"),
    ({"amount_cny": "0"}, "amount_cny", "不能为零"),
    ({"amount_cny": "12.345"}, "amount_cny", "两位小数"),
    ({"amount_cny": "1e5"}, "amount_cny", "科学计数法"),
    ({"amount_cny": "1000000000.01"}, "amount_cny", "上限"),
    ({"amount_cny": "-5"}, "reverses", "必须用 reverses"),
    ({"kind": "loan"}, "kind", "不是有效的取值"),
    ({"evidence": ["receipt"]}, "evidence", "凭证类型"),
    ({"colour": "red"}, "colour", "未知字段"),
    ({"listing": "H99"}, "listing", "找不到资源"),
    ({"declared_subsidies": [{"beneficiary": "U9", "amount_cny": "1", "source": "x"}]}, "declared_subsidies", "找不到受益机构"),
]


@pytest.mark.parametrize("change,field,message", BAD_CASES)
def test_each_refusal_rule_names_line_and_field_and_saves_nothing(app, orgs, tmp_path, change, field, message):
    rows = [dict(GOOD[1]), {**GOOD[0], **change}]
    result = run(app, "import", str(write_jsonl(tmp_path, rows)))
    assert result.exit_code != 0
    assert f"line 2: {field}: " in result.output and message in result.output, result.output
    assert n_entries() == 0


def test_refund_larger_than_what_is_left_is_refused(app, orgs, tmp_path):
    rows = GOOD[:3] + [{**GOOD[2], "ref": "P01R2", "amount_cny": "-100000.01"}]
    result = run(app, "import", str(write_jsonl(tmp_path, rows)))
    assert result.exit_code != 0 and "line 4: amount_cny:" in result.output and "剩余" in result.output
    assert n_entries() == 0
    # exactly what is left is fine
    rows[3]["amount_cny"] = "-100000.00"
    assert run(app, "import", str(write_jsonl(tmp_path, rows))).exit_code == 0


def test_sanity_limit_comes_from_config(app, orgs, tmp_path):
    app.config["LEDGER_SANITY_LIMIT_CNY"] = Decimal("100000.00")
    try:
        result = run(app, "import", str(write_jsonl(tmp_path, GOOD[:1])))
    finally:
        app.config["LEDGER_SANITY_LIMIT_CNY"] = Decimal("1000000000.00")
    assert result.exit_code != 0 and "line 1: amount_cny:" in result.output


def test_changed_row_for_existing_ref_is_refused(app, orgs, tmp_path):
    assert run(app, "import", str(write_jsonl(tmp_path, GOOD[:1]))).exit_code == 0
    result = run(app, "import", str(write_jsonl(tmp_path, [{**GOOD[0], "amount_cny": "120000.01"}])))
    assert result.exit_code != 0 and "line 1: ref:" in result.output and "冲正" in result.output
    assert n_entries() == 1


def test_csv_and_xlsx_imports(app, orgs, tmp_path):
    csv_path = tmp_path / "ledger.csv"
    csv_path.write_text(
        "ref,kind,payer,payee,amount_cny,paid_at,confirmed,evidence\n"
        "C01,rental,S1,U1,1200.50,2026-03-01T10:00:00+08:00,是,contract;invoice;payment_record\n",
        encoding="gbk",
    )
    assert run(app, "import", str(csv_path)).exit_code == 0
    wb = Workbook()
    ws = wb.active
    ws.append(["ref", "kind", "payer", "payee", "amount_cny", "paid_at", "evidence"])
    ws.append(["X01", "data_access", "S1", "U1", 3000, "2026-03-01T10:00:00+08:00", "contract、invoice"])
    xlsx_path = tmp_path / "ledger.xlsx"
    wb.save(xlsx_path)
    result = run(app, "import", str(xlsx_path))
    assert result.exit_code == 0, result.output
    e = db.session.execute(select(LedgerEntry).where(LedgerEntry.ref == "C01")).scalar_one()
    assert e.amount_cny == Decimal("1200.50") and e.both_confirmed
    assert n_entries() == 2


def _wipe_ledger():
    db.session.remove()
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # ledger_fact: the dashboards' reporting rows of the entries (models/dashboard.py)
            conn.execute(text("TRUNCATE ledger_year_total, ledger_fact, ledger_event, ledger_entry, ledger_chain RESTART IDENTITY CASCADE"))
        else:
            for t in ("ledger_year_total", "ledger_fact", "ledger_event", "ledger_entry", "ledger_chain"):
                conn.execute(text(f"DELETE FROM {t}"))


def test_export_round_trips(app, orgs, tmp_path):
    # The chain hashes database ids (payer, payee, reversed entry); the per-test cleanup DELETEs rows
    # but keeps PostgreSQL's sequences, so start from the same ids the re-import below will get.
    _wipe_ledger()
    assert run(app, "import", str(write_jsonl(tmp_path, GOOD))).exit_code == 0
    out = run(app, "export")
    assert out.exit_code == 0
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert [r["ref"] for r in lines] == ["P01", "P02", "P01R", "OLD"]
    assert lines[0]["paid_at"] == "2026-03-01T10:00:00+08:00" and lines[0]["seq"] == 1
    assert lines[2]["reverses"] == "P01" and lines[2]["amount_cny"] == "-20000.00"
    assert lines[1]["prev_hash"] == lines[0]["entry_hash"]
    exported = tmp_path / "export.jsonl"
    assert run(app, "export", "--out", str(exported)).exit_code == 0
    # into the same database: nothing changes
    assert "created 0, updated 0, unchanged 4" in run(app, "import", str(exported)).output
    # into an emptied ledger (ids restart): the same entries, the same chain
    _wipe_ledger()
    assert run(app, "import", str(exported)).exit_code == 0
    again = tmp_path / "again.jsonl"
    run(app, "export", "--out", str(again))
    assert again.read_text(encoding="utf-8") == exported.read_text(encoding="utf-8")
    for fmt in ("csv", "xlsx"):
        path = tmp_path / f"export.{fmt}"
        assert run(app, "export", "--out", str(path)).exit_code == 0
        assert "created 0, updated 0, unchanged 4" in run(app, "import", str(path)).output


def _behind_the_app(*statements, **params) -> None:
    """Run raw SQL past the append-only triggers and foreign keys (PostgreSQL: replica role)."""
    db.session.remove()
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        for stmt in statements:
            conn.execute(text(stmt) if isinstance(stmt, str) else stmt, params)


def _wipe_everything():
    from models.base import Base

    _behind_the_app(*(table.delete() for table in reversed(Base.metadata.sorted_tables)))


def _ids() -> dict[str, int]:
    db.session.expire_all()
    ids = {r: db.session.execute(select(Organisation.id).where(Organisation.ref == r)).scalar_one() for r in ("S1", "U1")}
    ids["H01"] = db.session.execute(select(Listing.id).where(Listing.ref == "H01")).scalar_one()
    for ref, entry_id in db.session.execute(select(LedgerEntry.ref, LedgerEntry.id)):
        ids[ref] = entry_id
    return ids


def test_reimport_into_a_fresh_database_reproduces_every_hash(app, orgs, make_org, tmp_path):
    """Hashes bind USCCs and refs, not ids: a fresh database with other ids rebuilds the same chain."""
    s1, u1 = orgs
    usccs = {"S1": s1.uscc, "U1": u1.uscc}
    assert run(app, "import", str(write_jsonl(tmp_path, GOOD))).exit_code == 0
    # move the source's entries to other ids (refunds and events follow): nothing hashed changes
    _behind_the_app("UPDATE ledger_event SET entry_id = entry_id + :o",
                    "UPDATE ledger_entry SET id = id + :o, reverses_id = reverses_id + :o", o=1000)
    assert run(app, "verify").exit_code == 0
    before = _ids()
    exported = tmp_path / "export.jsonl"
    assert run(app, "export", "--out", str(exported)).exit_code == 0

    # a fresh database where every organisation, listing and entry gets another id
    _wipe_everything()
    fillers = [make_org(kind="sme") for _ in range(3)]
    make_org(kind="sme", ref="S1", uscc=usccs["S1"])
    u1 = make_org(kind="university", ref="U1", uscc=usccs["U1"], size=None)
    for ref in ("F01", "H01"):
        db.session.add(Listing(ref=ref, kind="instrument", owner_id=fillers[0].id if ref == "F01" else u1.id,
                               title="场发射透射电镜", description="电镜"))
    db.session.commit()
    assert run(app, "import", str(exported)).exit_code == 0
    after = _ids()
    assert set(after) == set(before) and all(after[k] != before[k] for k in before), (before, after)

    again = tmp_path / "again.jsonl"
    assert run(app, "export", "--out", str(again)).exit_code == 0
    old, new = ([json.loads(line) for line in f.read_text(encoding="utf-8").splitlines()] for f in (exported, again))
    assert [r["entry_hash"] for r in new] == [r["entry_hash"] for r in old]
    assert new == old  # and everything else too
    ok = run(app, "verify")
    assert ok.exit_code == 0 and "ok: 4 entries" in ok.output


def test_verify_exit_codes(app, orgs, tmp_path):
    first = run(app, "verify")
    assert first.exit_code == 0  # an empty ledger holds
    assert run(app, "import", str(write_jsonl(tmp_path, GOOD))).exit_code == 0  # after a verify, same session
    ok = run(app, "verify")
    assert ok.exit_code == 0 and "ok: 4 entries" in ok.output
    db.session.remove()
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("UPDATE ledger_entry SET amount_cny = 380001 WHERE ref = 'P02'"))
    bad = run(app, "verify")
    assert bad.exit_code == 1 and "entry 2 (P02)" in bad.output
    assert not db.session.execute(select(LedgerEvent)).first()


def test_declared_subsidies_of_both_kinds_read_as_one_list(app, orgs, tmp_path):
    from market.domain.declared import DeclaredSubsidy
    from market.ledger.services import declared_subsidies
    from models.organisations import ExternalSubsidy

    s1, u1 = orgs
    assert run(app, "import", str(write_jsonl(tmp_path, GOOD))).exit_code == 0
    db.session.add(ExternalSubsidy(organisation_id=u1.id, rule="art7_provider", year=2026, amount_cny=Decimal("5000"),
                                   source="市级开放共享奖励"))
    db.session.add(ExternalSubsidy(organisation_id=u1.id, rule="art7_provider", year=2025, amount_cny=Decimal("1"),
                                   source="去年的"))
    db.session.commit()
    p01 = db.session.execute(select(LedgerEntry).where(LedgerEntry.ref == "P01")).scalar_one()
    found = sorted(declared_subsidies(2026), key=lambda d: d.beneficiary_id)
    assert found == sorted([
        DeclaredSubsidy(beneficiary_id=s1.id, amount_cny=Decimal("25000.00"), source="省级创新券", entry_id=p01.id),
        DeclaredSubsidy(beneficiary_id=u1.id, amount_cny=Decimal("5000.00"), source="市级开放共享奖励", year=2026,
                        rule="art7_provider"),
    ], key=lambda d: d.beneficiary_id)
    assert [d.source for d in declared_subsidies(2026, beneficiary_ids=[s1.id])] == ["省级创新券"]
    assert declared_subsidies(2019) == []
