"""The shared import reader: every format, encoding and field rule of CONTRACT.md's general rules."""

import io
from decimal import Decimal

import pytest
from openpyxl import Workbook

from market import imports
from market.errors import ImportErrors
from market.imports import FieldError


def rows(data: bytes, name: str):
    return list(imports.read_rows(data, name))


def test_jsonl_rows_keep_line_numbers_and_decimals(app_ctx):
    data = b'{"ref": "A", "amount_cny": 12.5}\n\n{"ref": "B"}\n'
    assert rows(data, "x.jsonl") == [(1, {"ref": "A", "amount_cny": Decimal("12.5")}), (3, {"ref": "B"})]


def test_jsonl_bad_lines_are_all_reported(app_ctx):
    with pytest.raises(ImportErrors) as err:
        rows(b'{"ref": 1}\nnot json\n[1]\n', "x.jsonl")
    assert [e.line for e in err.value.errors] == [2, 3]


@pytest.mark.parametrize("encoding,bom", [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("gbk", b"")])
def test_csv_in_utf8_bom_and_gbk(app_ctx, encoding, bom):
    data = bom + "ref,name,tags\nU1,吉林新区大学,高校、科研\n".encode(encoding)
    assert rows(data, "orgs.csv") == [(2, {"ref": "U1", "name": "吉林新区大学", "tags": "高校、科研"})]


def test_xlsx_first_sheet_and_formulas_refused(app_ctx):
    wb = Workbook()
    ws = wb.active
    ws.append(["ref", "employees"])
    ws.append(["S1", 12])
    buf = io.BytesIO()
    wb.save(buf)
    assert rows(buf.getvalue(), "o.xlsx") == [(2, {"ref": "S1", "employees": 12})]
    ws.append(["S2", "=1+1"])
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(ImportErrors) as err:
        rows(buf.getvalue(), "o.xlsx")
    assert err.value.errors[0].line == 3


def test_unknown_format_and_size_limit(app_ctx):
    with pytest.raises(ImportErrors):
        rows(b"x", "o.txt")
    with pytest.raises(ImportErrors) as err:
        list(imports.read_rows(b"x" * 11, "o.jsonl", max_bytes=10))
    assert err.value.errors[0].field == "file"


@pytest.mark.parametrize("value,expected", [("120000.00", Decimal("120000.00")), (120000, Decimal("120000")),
                                            (Decimal("0.5"), Decimal("0.5")), (1234.5, Decimal("1234.5"))])
def test_money_accepts(app_ctx, value, expected):
    assert imports.money({"m": value}, "m") == expected


@pytest.mark.parametrize("value", ["1e5", "12.345", "abc", True, "-5", Decimal("1E+5")])
def test_money_refuses(app_ctx, value):
    with pytest.raises(FieldError):
        imports.money({"m": value}, "m")


def test_negative_money_when_allowed(app_ctx):
    assert imports.money({"m": "-5.00"}, "m", allow_negative=True) == Decimal("-5.00")


def test_times_need_an_offset(app_ctx):
    moment = imports.aware_time({"t": "2027-01-01T00:10:00+08:00"}, "t")
    assert moment.isoformat() == "2026-12-31T16:10:00+00:00"
    assert imports.aware_time({"t": "2027-01-01T00:10:00Z"}, "t").hour == 0
    with pytest.raises(FieldError):
        imports.aware_time({"t": "2027-01-01T00:10:00"}, "t")


def test_booleans_lists_and_unknown_fields(app_ctx):
    assert imports.boolean({"b": "是"}, "b") is True
    assert imports.boolean({}, "b") is False
    with pytest.raises(FieldError):
        imports.boolean({"b": "maybe"}, "b")
    assert imports.string_list({"t": "电镜；SEM、材料"}, "t") == ["电镜", "SEM", "材料"]
    assert imports.check_fields({"ref": 1, "nmae": 2}, {"ref", "name"}) == ["nmae"]
