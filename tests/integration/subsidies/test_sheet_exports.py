"""The calculation sheet downloads as XLSX, CSV and a Chinese PDF with the page's content: lines,
exclusions with reasons, rate, cap, capped, parameter version and best-of choices."""

from __future__ import annotations

import csv
import io
import subprocess

import openpyxl
from sqlalchemy import select

from market.demo import DEMO_PASSWORD, load_demo
from market.extensions import db
from models.organisations import Organisation
from models.users import User


def user(email):
    return db.session.execute(select(User).where(User.email == email)).scalar_one()


def org(ref):
    return db.session.execute(select(Organisation).where(Organisation.ref == ref)).scalar_one()


def test_sheet_csv_xlsx_pdf(client, login, tmp_path):
    load_demo()
    s1 = org("S1")
    login(user("ceo@huiyi-health.cn"), DEMO_PASSWORD)
    page = client.get(f"/subsidies/{s1.id}/2026").get_data(as_text=True)
    assert f"/subsidies/{s1.id}/2026/export.pdf" in page

    resp = client.get(f"/subsidies/{s1.id}/2026/export.csv")
    assert resp.status_code == 200 and "subsidy-sheet-S1-2026.csv" in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.get_data().decode("utf-8-sig"))))
    summary = next(r for r in rows if r["条款"] == "art7_renter" and r["行类型"] == "汇总")
    assert (summary["计算基数（元）"], summary["四舍五入后金额（元）"], summary["上限（元）"], summary["补贴金额（元）"]) == (
        "500000.00", "250000.00", "200000.00", "200000.00")
    assert summary["是否达到上限"] == "是" and summary["比例"] == "50%（2026-01-01）" and summary["参数版本"] == "2026-01-01"
    lines = {r["台账编号"] for r in rows if r["条款"] == "art7_renter" and r["行类型"] == "计入"}
    assert {"D01", "D02"} <= lines
    d09 = next(r for r in rows if r["台账编号"] == "D09" and r["行类型"] == "排除")
    assert d09["原因或说明"] == "缺少凭证：发票（missing_evidence）" and d09["金额（元）"] == "45000.00"
    choice = next(r for r in rows if r["行类型"] == "择优" and r["台账编号"] == "D02")
    assert "省级创新券" in choice["原因或说明"] and "art7_renter" in choice["原因或说明"]

    resp = client.get(f"/subsidies/{s1.id}/2026/export.xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(resp.get_data()), read_only=True)
    cells = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
    header = cells[0]
    assert header[:3] == ["条款", "条款名称", "行类型"]
    xsum = next(r for r in cells[1:] if r[0] == "art7_renter" and r[2] == "汇总")
    assert float(xsum[header.index("补贴金额（元）")]) == 200000.0 and xsum[header.index("是否达到上限")] == "是"
    assert any(r[3] == "D09" and "缺少凭证" in (r[header.index("原因或说明")] or "") for r in cells[1:])

    resp = client.get(f"/subsidies/{s1.id}/2026/export.pdf")
    assert resp.status_code == 200 and resp.get_data()[:4] == b"%PDF"
    pdf = tmp_path / "sheet.pdf"
    pdf.write_bytes(resp.get_data())
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True, text=True).stdout
    flat = "".join(text.split())
    assert "补贴计算明细" in flat and "长春慧医数字健康科技有限公司" in flat
    assert "art7_renter" in flat and "缺少凭证" in flat and "D09" in flat and "200,000.00" in flat.replace("¥", "")

    assert client.get(f"/subsidies/{s1.id}/2026/export.doc").status_code == 404
    assert client.get(f"/subsidies/{org('S2').id}/2026/export.csv").status_code == 403


def test_the_pdf_prints_every_amount_and_version_whole(client, login, tmp_path):
    """On a university's sheet the PDF split "10,000,000." above "00" and "2026-01" above "-01"."""
    load_demo()
    u1 = org("U1")
    login(user("reviewer@ccxq.gov.cn"), DEMO_PASSWORD)
    wb = openpyxl.load_workbook(io.BytesIO(client.get(f"/subsidies/{u1.id}/2026/export.xlsx").get_data()), read_only=True)
    cells = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
    header = cells[0]
    money = [i for i, h in enumerate(header) if h.endswith("（元）")]
    expected = {f"{float(r[i]):,.2f}" for r in cells[1:] for i in money if isinstance(r[i], (int, float))}
    expected |= {r[header.index("参数版本")] for r in cells[1:] if r[header.index("参数版本")]}
    assert "10,000,000.00" in expected and "2026-01-01" in expected
    pdf = tmp_path / "sheet.pdf"
    pdf.write_bytes(client.get(f"/subsidies/{u1.id}/2026/export.pdf").get_data())
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True, text=True).stdout
    assert sorted(a for a in expected if a not in text) == []


def test_related_party_exclusion_in_the_export(client, login):
    load_demo()
    login(user("reviewer@ccxq.gov.cn"), DEMO_PASSWORD)
    resp = client.get(f"/subsidies/{org('S4').id}/2026/export.csv")
    rows = list(csv.DictReader(io.StringIO(resp.get_data().decode("utf-8-sig"))))
    d08 = next(r for r in rows if r["台账编号"] == "D08")
    assert d08["行类型"] == "排除" and d08["原因或说明"] == "关联方之间的交易（related_party）"


def test_the_sheet_and_its_export_carry_the_years_reward_decisions(client, login):
    from market.domain.localtime import today

    load_demo()
    year = today().year  # the demo decides on the day it is loaded
    l1 = org("L1")
    login(user("admin@guanghua-med.cn"), DEMO_PASSWORD)
    page = client.get(f"/subsidies/{l1.id}/{year}").get_data(as_text=True)
    assert 'id="reward-decisions"' in page and 'data-rule="art8_opener" data-status="decided"' in page
    assert "¥800,000.00" in page
    rows = list(csv.DictReader(io.StringIO(client.get(f"/subsidies/{l1.id}/{year}/export.csv").get_data().decode("utf-8-sig"))))
    opener = next(r for r in rows if r["条款"] == "art8_opener")
    assert (opener["行类型"], opener["补贴金额（元）"], opener["上限（元）"], opener["参数版本"]) == (
        "审定", "800000.00", "1000000.00", "2026-01-01")
    assert client.get(f"/subsidies/{l1.id}/{year - 1}").get_data(as_text=True).count('id="reward-decisions"') == 0
