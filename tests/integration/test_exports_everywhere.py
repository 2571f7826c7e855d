"""Every export goes through market.exports: formula injection is neutralised in the bulk exports
(orgs, listings, ledger; CLI and web) and in the reports (ledger dashboard, deals, utilisation), and
the bulk exports still re-import unchanged (issue 8 item 6, issue 9 "one export module")."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from market import exports
from market.extensions import db
from market.imports import read_rows
from market.listings import importer as listings_importer
from market.orgs import importer as orgs_importer
from market.orgs.uscc import make_valid_uscc
from models.listings import Listing
from models.organisations import Organisation
from models.users import Role

EVIL = '=HYPERLINK("http://x")'


def _jsonl(rows) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


@pytest.fixture
def evil(app_ctx):
    """Organisations, a listing and ledger entries whose text starts with every dangerous character."""
    orgs_importer.import_rows("cli", read_rows(_jsonl([
        {"ref": "S1", "name": "-慧医健康", "uscc": make_valid_uscc(9101), "kind": "sme", "size": "small",
         "address": "-1 号楼", "english_name": "-Huiyi", "revenue_cny": "1234567.80", "in_district": True,
         "verified": True},
        {"ref": "U1", "name": "-吉林某大学", "uscc": make_valid_uscc(9102), "kind": "university",
         "verified": True, "address": "'=已带引号"},
    ]), "orgs.jsonl"))
    listings_importer.import_rows("cli", read_rows(_jsonl([
        {"ref": "H01", "kind": "instrument", "owner": "U1", "title": EVIL, "description": "-- 说明\n=1+1",
         "tags": ["-标签", "电镜"], "track": "smart_materials", "rate_cny_per_hour": "1800.00"},
    ]), "l.jsonl"), publish=True)
    from market.ledger.importer import import_rows as ledger_import

    ledger_import("cli", [
        (1, {"ref": "@P01", "kind": "rental", "payer": "S1", "payee": "U1", "amount_cny": "120000.00",
             "paid_at": "2026-03-01T10:00:00+08:00", "confirmed": True, "listing": "H01",
             "evidence": ["contract", "invoice", "payment_record"]}),
        (2, {"ref": "-P01R", "kind": "rental", "payer": "S1", "payee": "U1", "amount_cny": "-20000.00",
             "paid_at": "2026-04-01T10:00:00+08:00", "confirmed": True, "reverses": "@P01"}),
    ])
    db.session.commit()  # importers leave the commit to their caller
    return db.session.execute(select(Organisation).where(Organisation.ref == "S1")).scalar_one()


@pytest.fixture
def evil_name(evil):
    """The orgs forms and importer refuse names starting = + @, but exports must not trust that."""
    evil.name = EVIL
    db.session.commit()
    return evil


def _csv(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _xlsx(data: bytes) -> list[dict[str, object]]:
    ws = load_workbook(io.BytesIO(data)).worksheets[0]
    assert ws.freeze_panes == "A2"
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_orgs_export_neutralises_and_round_trips(evil, fmt):
    data = exports.to_bytes(fmt, orgs_importer.export_table())
    rows = {r["ref"]: r for r in (_csv(data) if fmt == "csv" else _xlsx(data))}
    assert rows["S1"]["name"] == "'-慧医健康" and rows["S1"]["address"] == "'-1 号楼"
    assert rows["S1"]["english_name"] == "'-Huiyi" and rows["U1"]["name"] == "'-吉林某大学"
    assert rows["U1"]["address"] == "''=已带引号"
    assert rows["S1"]["revenue_cny"] == ("1234567.80" if fmt == "csv" else 1234567.8)
    result = orgs_importer.import_rows("cli", read_rows(data, f"orgs.{fmt}"))
    assert result.unchanged == 2 and not result.updated and not result.created
    db.session.expire_all()
    assert evil.name == "-慧医健康" and evil.address == "-1 号楼"


def test_orgs_export_neutralises_a_formula_name_already_stored(evil_name):
    for fmt in ("csv", "xlsx"):
        data = exports.to_bytes(fmt, orgs_importer.export_table())
        rows = {r["ref"]: r for r in (_csv(data) if fmt == "csv" else _xlsx(data))}
        assert rows["S1"]["name"] == "'" + EVIL


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_listings_export_neutralises_and_round_trips(evil, fmt):
    data = exports.to_bytes(fmt, listings_importer.export_table())
    (row,) = _csv(data) if fmt == "csv" else _xlsx(data)
    assert row["title"] == "'" + EVIL and row["tags"] == "'-标签;电镜"
    assert row["description"] == "'-- 说明\n=1+1"
    assert row["rate_cny_per_hour"] == ("1800.00" if fmt == "csv" else 1800)
    result = listings_importer.import_rows("cli", read_rows(data, f"x.{fmt}"))
    assert result.unchanged == 1 and not result.updated and not result.created
    listing = db.session.execute(select(Listing)).scalar_one()
    assert listing.title == EVIL and listing.tags == ["-标签", "电镜"]


def test_ledger_cli_export_neutralises_text_not_numbers_and_round_trips(app, evil, tmp_path):
    runner = app.test_cli_runner()
    for fmt in ("csv", "xlsx"):
        path = tmp_path / f"ledger.{fmt}"
        result = runner.invoke(args=["ledger", "export", "--out", str(path)])
        assert result.exit_code == 0 and "exported 2 entries" in result.output
        rows = _csv(path.read_bytes()) if fmt == "csv" else _xlsx(path.read_bytes())
        assert [r["ref"] for r in rows] == ["'@P01", "'-P01R"]
        assert rows[1]["reverses"] == "'@P01"
        assert rows[1]["amount_cny"] == ("-20000.00" if fmt == "csv" else -20000)  # a number, never quoted
        assert rows[0]["paid_at"] == "2026-03-01T10:00:00+08:00"
        result = runner.invoke(args=["ledger", "import", str(path)])
        assert "created 0, updated 0, unchanged 2" in result.output, result.output


def test_cli_exports_to_stdout_are_jsonl_as_it_is(app, evil):
    runner = app.test_cli_runner()
    out = runner.invoke(args=["listings", "export"]).output
    assert json.loads(out)["title"] == EVIL
    out = runner.invoke(args=["orgs", "export"]).stdout
    assert {json.loads(line)["ref"]: json.loads(line)["address"] for line in out.splitlines() if "address" in line}["S1"] == "-1 号楼"


def _disposition(resp, name: str, fallback: str) -> None:
    value = resp.headers["Content-Disposition"]
    assert value.startswith(f'attachment; filename="{fallback}') and f"filename*=UTF-8''{quote(name)}" in value


def test_web_bulk_exports_are_neutralised(client, login, make_user, evil_name):
    login(make_user(role=Role.DISTRICT_ADMIN))
    resp = client.get("/orgs/admin/export.csv")
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "text/csv; charset=utf-8"  # one charset
    _disposition(resp, "机构-", "organisations-")
    assert {r["ref"]: r["name"] for r in _csv(resp.get_data())}["S1"] == "'" + EVIL
    resp = client.get("/listings/export.xlsx")
    _disposition(resp, "条目-", "listings-")
    assert _xlsx(resp.get_data())[0]["title"] == "'" + EVIL
    assert json.loads(client.get("/listings/export.jsonl").get_data())["title"] == EVIL


def test_ledger_dashboard_exports_csv_xlsx_pdf(client, login, make_user, evil_name):
    login(make_user(role=Role.DISTRICT_REVIEWER))
    resp = client.get("/ledger/export.csv")
    _disposition(resp, "台账-", "ledger-")
    rows = _csv(resp.get_data())
    assert list(rows[0])[:6] == ["编号", "类型", "付款方", "收款方", "金额（元）", "付款时间（北京时间）"]
    first = {r["编号"]: r for r in rows}["'@P01"]
    assert first["付款方"] == "'" + EVIL and first["收款方"] == "'-吉林某大学" and first["金额（元）"] == "120000.00"
    assert first["付款时间（北京时间）"] == "2026-03-01 10:00" and first["类型"] == "仪器设施租用" and first["记录完整"] == "是"
    refund = {r["编号"]: r for r in rows}["'-P01R"]
    assert refund["金额（元）"] == "-20000.00" and refund["冲正"] == "'@P01"
    wb = load_workbook(io.BytesIO(client.get("/ledger/export.xlsx").get_data()))
    ws = wb.active
    assert ws.title == "台账" and ws.freeze_panes == "A2" and ws["A1"].font.b
    amounts = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=5) for r in (2, 3)}
    assert amounts["'-P01R"].value == -20000 and amounts["'-P01R"].number_format == "#,##0.00"
    assert ws["C2"].value == "'" + EVIL
    assert ws["F2"].is_date
    resp = client.get("/ledger/export.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf" and resp.get_data().startswith(b"%PDF")
    _disposition(resp, "台账-", "ledger-")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-", "-"], input=resp.get_data(), capture_output=True, check=True).stdout.decode()
        text = "".join(text.split())  # cells wrap
        assert "付款方" in text and "吉林某大学" in text and "120,000.00" in text
    assert client.get("/ledger/export.ods").status_code == 404


def test_utilisation_export(client, login, make_user, evil):
    u1 = db.session.execute(select(Organisation).where(Organisation.ref == "U1")).scalar_one()
    login(make_user(role=Role.ORG_ADMIN, org=u1))
    assert 'id="export-pdf"' in client.get("/deals/utilisation").get_data(as_text=True)
    resp = client.get("/deals/utilisation/export.csv?year=2026")
    _disposition(resp, "资源利用率-2026.csv", "utilisation-2026.csv")
    (row,) = _csv(resp.get_data())
    assert row["资源"] == "'" + EVIL and row["预约次数"] == "0" and row["利用率（%）"] == ""
    ws = load_workbook(io.BytesIO(client.get("/deals/utilisation/export.xlsx").get_data())).active
    assert ws["B2"].value == "'" + EVIL and ws["C2"].value == 0
    resp = client.get("/deals/utilisation/export.pdf")
    assert resp.get_data().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-", "-"], input=resp.get_data(), capture_output=True, check=True).stdout.decode()
        assert "资源利用率" in text and "预约小时" in text
