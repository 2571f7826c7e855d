"""market.exports: formula neutralisation, CSV bytes, XLSX types and layout, PDF with Chinese, download names."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import subprocess
from decimal import Decimal

import pytest
from flask import Flask
from flask_babel import Babel
from openpyxl import load_workbook

from market import exports
from market.exports import Column, Table, neutralise, unneutralise

# (text as stored, text as written in a spreadsheet cell)
NEUTRALISE = [
    ('=HYPERLINK("http://x","点我")', '\'=HYPERLINK("http://x","点我")'),
    ("+1", "'+1"),
    ("-1", "'-1"),
    ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("'=1", "''=1"),  # an already-quoted formula keeps its quote through a round trip
    ("''-2", "'''-2"),
    ("'普通", "'普通"),  # a quote before harmless text is left alone
    ("普通文本 =1", "普通文本 =1"),
    ("", ""),
    ("1+1", "1+1"),
]


@pytest.fixture
def ctx():
    app = Flask(__name__)
    app.config["BABEL_DEFAULT_LOCALE"] = "zh_CN"
    Babel(app)
    with app.test_request_context():
        yield app


@pytest.mark.parametrize(("text", "written"), NEUTRALISE)
def test_neutralise_table_and_its_inverse(text, written):
    assert neutralise(text) == written
    assert unneutralise(written) == text


def _table(rows):
    return Table("台账", [
        Column("标题", "title"),
        Column("金额（元）", "amount", "money"),
        Column("数量", "n", "int"),
        Column("时间", "at", "datetime"),
        Column("日期", "day", "date"),
        Column("已确认", "ok", "bool"),
    ], rows)


ROWS = [
    {"title": '=HYPERLINK("http://x")', "amount": Decimal("-20000.5"), "n": -3,
     "at": dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC), "day": dt.date(2026, 3, 1), "ok": True},
    {"title": "-1", "amount": Decimal("1234567.891"), "n": 7, "at": None, "day": None, "ok": False},
    {"title": "@SUM(A1)", "amount": None, "n": None, "at": None, "day": None, "ok": None},
    {"title": "\t=1", "amount": "380,000", "n": 0, "at": None, "day": None, "ok": None},
    {"title": "\r=1", "amount": 5, "n": 1, "at": None, "day": None, "ok": None},
]


def test_csv_has_bom_crlf_neutralised_text_and_plain_numbers(ctx):
    data = exports.to_bytes("csv", _table(ROWS))
    assert data.startswith(b"\xef\xbb\xbf\xe6\xa0\x87\xe9\xa2\x98,")  # BOM then 标题
    text = data.decode("utf-8-sig")
    assert text.split("\r\n")[0] == "标题,金额（元）,数量,时间,日期,已确认"
    rows = list(csv.reader(io.StringIO(text, newline="")))[1:]
    assert rows[0] == ['\'=HYPERLINK("http://x")', "-20000.50", "-3", "2026-03-01 10:00", "2026-03-01", "true"]
    assert rows[1] == ["'-1", "1234567.89", "7", "", "", "false"]  # text -1 is quoted; numbers never are
    assert [r[0] for r in rows[2:]] == ["'@SUM(A1)", "'\t=1", "'\r=1"]
    assert [r[1] for r in rows[2:]] == ["", "380000.00", "5.00"]


def test_csv_streams_one_chunk_per_row(ctx):
    pieces = list(exports.chunks("csv", _table(iter(ROWS))))
    assert len(pieces) == 1 + len(ROWS)


def test_xlsx_types_formats_frozen_bold_header_and_widths(ctx):
    data = exports.to_bytes("xlsx", _table(ROWS), Table("第二页", [Column("编号", "ref")], [{"ref": "+86"}]))
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["台账", "第二页"]
    ws = wb["台账"]
    assert ws.freeze_panes == "A2"
    assert [c.value for c in ws[1]] == ["标题", "金额（元）", "数量", "时间", "日期", "已确认"]
    assert all(c.font.b for c in ws[1])
    assert ws.column_dimensions["A"].width >= 6 and ws.column_dimensions["B"].width >= 18
    a2, b2, c2, d2, e2, f2 = ws[2]
    assert a2.value == '\'=HYPERLINK("http://x")' and a2.data_type == "s"
    assert b2.value == -20000.5 and b2.data_type == "n" and b2.number_format == "#,##0.00"
    assert c2.value == -3 and c2.data_type == "n"
    assert d2.value == dt.datetime(2026, 3, 1, 10, 0) and d2.number_format == "yyyy-mm-dd hh:mm"  # Beijing time
    assert e2.is_date and e2.value.date() == dt.date(2026, 3, 1)
    assert f2.value is True
    assert ws["A3"].value == "'-1" and ws["B3"].value == 1234567.89  # text "-1" quoted, money a number
    assert [ws[f"A{r}"].value for r in (4, 5)] == ["'@SUM(A1)", "'\t=1"]
    assert ws["A6"].value in ("'\r=1", "'\n=1")  # XML reads a bare CR back as LF; the quote is what matters
    assert ws["B4"].value is None and ws["B5"].value == 380000
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)
    assert wb["第二页"]["A2"].value == "'+86"


def test_xlsx_keeps_money_beyond_double_precision_exact_as_text(ctx):
    data = exports.to_bytes("xlsx", Table("t", [Column("金额", "a", "money")], [{"a": Decimal("12345678901234.56")}]))
    assert load_workbook(io.BytesIO(data)).active["A2"].value == "12345678901234.56"


def test_xlsx_drops_control_characters_openpyxl_cannot_store(ctx):
    data = exports.to_bytes("xlsx", Table("t", [Column("标题", "t")], [{"t": "扫描\x0b电镜"}]))
    assert load_workbook(io.BytesIO(data)).active["A2"].value == "扫描电镜"


def test_naive_datetimes_are_refused(ctx):
    with pytest.raises(ValueError, match="naive"):
        exports.to_bytes("csv", Table("t", [Column("时间", "at", "datetime")], [{"at": dt.datetime(2026, 1, 1)}]))


def test_unknown_kind_and_format_are_refused():
    with pytest.raises(ValueError):
        Column("x", "x", "percent")
    with pytest.raises(ValueError):
        list(exports.chunks("ods", Table("t", [], [])))


def test_jsonl_writes_rows_as_they_are(ctx):
    rows = [{"ref": "=A1", "amount_cny": Decimal("5"), "tags": ["电镜"]}]
    assert exports.to_bytes("jsonl", Table("t", [], rows)).decode() == '{"ref": "=A1", "amount_cny": "5.00", "tags": ["电镜"]}\n'


def test_content_disposition_has_utf8_name_and_ascii_fallback():
    value = exports.content_disposition("台账-20260305.csv", "ledger-20260305.csv")
    assert value == ("attachment; filename=\"ledger-20260305.csv\"; "
                     "filename*=UTF-8''%E5%8F%B0%E8%B4%A6-20260305.csv")
    assert exports.content_disposition("机构.xlsx") == "attachment; filename=\"export.xlsx\"; filename*=UTF-8''%E6%9C%BA%E6%9E%84.xlsx"
    assert 'filename="a_b.csv"' in exports.content_disposition('a"; b.csv')  # no header injection


def test_download_is_written_in_the_view_and_sent_with_headers(ctx):
    read = []

    def rows():  # the rows are read when download() is called (the view's session still open), not when sent
        for row in ROWS:
            read.append(row)
            yield row

    resp = exports.download("csv", _table(rows()), filename="台账-1", fallback="ledger-1")
    assert len(read) == len(ROWS)
    assert resp.is_streamed and resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"].endswith("filename*=UTF-8''%E5%8F%B0%E8%B4%A6-1.csv")
    body = b"".join(resp.response)
    assert int(resp.headers["Content-Length"]) == len(body)
    assert body.decode("utf-8-sig").startswith("标题,")


def test_pdf_html_escapes_and_formats(ctx):
    html = exports.pdf_html("台账 <b>", _table(ROWS[:2]))
    assert "台账 &lt;b&gt;" in html and "<b>" not in html
    assert '<td class="num">-20,000.50</td>' in html and "<td>是</td>" in html
    assert "=HYPERLINK(&#34;http://x&#34;)" in html  # PDF is not a spreadsheet: the text as it is


def test_pdf_stops_at_its_row_limit_and_says_so(ctx):
    rows = ({"title": f"第{i}行", "amount": i, "n": i, "at": None, "day": None, "ok": True} for i in range(10))
    html = exports.pdf_html("台账", _table(rows), max_rows=3)
    assert "第2行" in html and "第3行" not in html and "只列出前 3 行" in html


@pytest.mark.skipif(shutil.which("pdftotext") is None,
                    reason="pdftotext missing: install poppler-utils (make system-packages)")
def test_pdf_renders_chinese_text(ctx, tmp_path):
    rows = [{**ROWS[0], "title": "冷冻电镜 租用"}, {**ROWS[1], "title": "长春新区 卫星遥感"}]
    data = exports.to_bytes("pdf", _table(rows), title="交易台账")
    assert data.startswith(b"%PDF")
    path = tmp_path / "t.pdf"
    path.write_bytes(data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    for words in ("交易台账", "标题", "金额（元）", "冷冻电镜", "长春新区", "-20,000.50", "2026-03-01 10:00"):
        assert words in text, (words, text)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert "CJK" in fonts or "WenQuanYi" in fonts or "wqy" in fonts.lower(), fonts
