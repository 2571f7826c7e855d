"""`orgs import` / `orgs export`: CONTRACT.md's organisation format, all-or-nothing, round trips."""

import io
import json

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from market import audit, exports
from market.extensions import db
from market.imports import read_rows
from market.orgs.importer import export_table, import_rows
from market.orgs.uscc import make_valid_uscc
from models.audit import AuditEntry
from models.organisations import ExternalSubsidy, Organisation, OrganisationEvent, RelatedPartyGroup
from models.users import Role

U = [make_valid_uscc(n) for n in range(700, 720)]


def jsonl(*rows) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


BASE = [
    {"ref": "U1", "name": "吉林某某大学", "uscc": U[0], "kind": "university", "size": "large",
     "in_district": True, "verified": True, "group": "某某集团",
     "external_subsidies": [{"rule": "art7_renter", "year": 2027, "amount_cny": "10000.00", "source": "省级创新券"}]},
    {"ref": "S1", "name": "长春慧医数字健康科技有限公司", "uscc": U[1], "kind": "sme", "industry": "software_it",
     "employees": 45, "revenue_cny": "18000000", "in_district": True, "group": "某某集团", "english_name": "Huiyi",
     "address": "长春新区"},
    {"ref": "L1", "name": "光华医疗", "uscc": U[2], "kind": "leading_firm", "size": "large", "verified": True},
    {"ref": "S2", "name": "<script>alert(1)</script>有限公司", "uscc": U[3], "kind": "sme", "size": "micro"},
]


def import_bytes(actor, data: bytes, filename: str):
    return import_rows(actor, read_rows(data, filename))


def cli(app, *args):
    return app.test_cli_runner().invoke(args=["orgs", *args])


def state():
    """Everything an import may change, for before/after comparisons."""
    orgs = db.session.execute(select(Organisation).order_by(Organisation.ref)).scalars().all()
    return [(audit.snapshot(o, exclude=("updated_at", "created_at", "id", "group_id", "size_assessed_on", "verified_at")),
             o.group.name if o.group else None, [(s.rule, s.year, str(s.amount_cny), s.source) for s in o.external_subsidies]) for o in orgs]


def counts():
    return tuple(db.session.execute(select(func.count()).select_from(m)).scalar_one()
                 for m in (Organisation, ExternalSubsidy, RelatedPartyGroup, OrganisationEvent, AuditEntry))


def test_import_creates_everything(app_ctx):
    result = import_bytes("cli", jsonl(*BASE), "orgs.jsonl")
    assert result.created == 4
    u1 = db.session.execute(select(Organisation).where(Organisation.ref == "U1")).scalar_one()
    s1 = db.session.execute(select(Organisation).where(Organisation.ref == "S1")).scalar_one()
    assert u1.is_verified and u1.size is None  # size does not apply to a university: ignored
    assert s1.size == "small" and s1.size_source == "classified" and not s1.is_verified
    assert u1.group is s1.group and u1.group.name == "某某集团"
    assert [(s.rule, s.year, str(s.amount_cny)) for s in u1.external_subsidies] == [("art7_renter", 2027, "10000.00")]
    actions = [a.action for a in db.session.execute(select(AuditEntry)).scalars()]
    assert actions.count("org.import") == 4 and actions.count("org.verify") == 2  # U1 and L1, audited as the import
    assert [e.action for e in u1.events] == ["imported", "verified"]


def test_same_file_twice_changes_nothing(app_ctx):
    import_bytes("cli", jsonl(*BASE), "orgs.jsonl")
    before, n = state(), counts()
    result = import_bytes("cli", jsonl(*BASE), "orgs.jsonl")
    assert result.created == 0 and result.updated == 0 and result.unchanged == 4
    assert state() == before and counts() == n


def test_upsert_by_ref_updates_and_verified_false_does_not_unverify(app_ctx):
    import_bytes("cli", jsonl(*BASE), "orgs.jsonl")
    changed = [dict(BASE[0], name="吉林某某大学（新）", verified=False, external_subsidies=[]), *BASE[1:]]
    result = import_bytes("cli", jsonl(*changed), "orgs.jsonl")
    assert result.updated == 1
    u1 = db.session.execute(select(Organisation).where(Organisation.ref == "U1")).scalar_one()
    assert u1.name == "吉林某某大学（新）" and u1.is_verified and u1.external_subsidies == []
    assert u1.events[-1].action == "import_updated" and "name" in u1.events[-1].detail["fields"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "xlsx"])
def test_round_trip_export_import_is_no_change(app_ctx, fmt):
    import_bytes("cli", jsonl(*BASE), "orgs.jsonl")
    payload = exports.to_bytes(fmt, export_table())
    before, n = state(), counts()
    result = import_bytes("cli", payload, f"orgs.{fmt}")
    assert result.unchanged == 4 and not result.created and not result.updated
    assert state() == before and counts() == n
    # into an empty database the export recreates the same organisations
    db.session.execute(OrganisationEvent.__table__.delete())
    db.session.execute(ExternalSubsidy.__table__.delete())
    db.session.execute(Organisation.__table__.delete())
    db.session.execute(RelatedPartyGroup.__table__.delete())
    db.session.commit()
    import_bytes("cli", payload, f"orgs.{fmt}")
    assert state() == before


def test_cli_round_trip_via_files(app, app_ctx, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_bytes(jsonl(*BASE))
    result = cli(app, "import", str(src))
    assert result.exit_code == 0, result.output
    assert "created 4" in result.output
    out = cli(app, "export")
    assert out.exit_code == 0 and out.output.count("\n") == 4
    assert json.loads(out.output.splitlines()[0])["ref"] == "L1"
    for fmt in ("csv", "xlsx", "jsonl"):
        target = tmp_path / f"out.{fmt}"
        assert cli(app, "export", "--out", str(target)).exit_code == 0
        again = cli(app, "import", str(target))
        assert again.exit_code == 0 and "unchanged 4" in again.output, again.output


def test_cli_prints_every_error_and_saves_nothing(app, app_ctx, tmp_path):
    rows = [
        dict(BASE[0], uscc=U[0][:17] + ("0" if U[0][17] != "0" else "1")),  # bad check character
        dict(BASE[1], kind="bank"),
        dict(BASE[2], employees=-5),
        dict(BASE[3], revenue_cny="很多"),
        {"ref": "S9", "name": "x", "uscc": U[9], "kind": "sme", "colour": "red"},
    ]
    src = tmp_path / "bad.jsonl"
    src.write_bytes(jsonl(*rows))
    result = cli(app, "import", str(src))
    assert result.exit_code != 0
    lines = result.output.splitlines()
    assert any(line.startswith("line 1: uscc: 校验位错误") for line in lines)
    assert "line 2: kind: 不是有效的取值" in result.output
    assert "line 3: employees: 不能小于 0" in result.output
    assert "line 4: revenue_cny: 请输入金额，如 380000、380,000 或 38万。" in result.output
    assert "line 5: colour: 未知字段" in result.output
    assert "line 5: size: 中小微企业必须填写 size" in result.output
    assert counts() == (0, 0, 0, 0, 0)


def test_one_bad_row_saves_nothing(app_ctx):
    from market.errors import ImportErrors

    with pytest.raises(ImportErrors) as err:
        import_bytes("cli", jsonl(*BASE, {"ref": "X", "name": "x", "uscc": "123", "kind": "sme", "size": "small"}), "o.jsonl")
    assert [str(e) for e in err.value.errors] == ["line 5: uscc: 统一社会信用代码应为 18 位，当前为 3 位。"]
    assert counts() == (0, 0, 0, 0, 0)


def test_duplicate_uscc_in_file_and_against_database(app_ctx, make_org):
    from market.errors import ImportErrors

    with pytest.raises(ImportErrors) as err:
        import_bytes("cli", jsonl(BASE[2], dict(BASE[3], uscc=BASE[2]["uscc"]), dict(BASE[1], ref="L1")), "o.jsonl")
    assert [str(e) for e in err.value.errors] == [
        "line 2: uscc: 与第 1 行的统一社会信用代码重复。",
        "line 3: ref: 与第 1 行的 ref 重复。",
    ]
    existing = make_org(ref="OLD")
    with pytest.raises(ImportErrors) as err:
        import_bytes("cli", jsonl(dict(BASE[3], uscc=existing.uscc)), "o.jsonl")
    assert str(err.value.errors[0]).startswith("line 1: uscc: 该统一社会信用代码已属于机构 OLD")


def test_size_omitted_sme_must_be_classifiable_and_declared_size_must_agree(app_ctx):
    from market.errors import ImportErrors

    row = {"ref": "S5", "name": "x", "uscc": U[5], "kind": "sme", "industry": "construction", "revenue_cny": 5000000}
    with pytest.raises(ImportErrors) as err:
        import_bytes("cli", jsonl(row), "o.jsonl")
    assert "line 1: size:" in str(err.value) and "资产总额" in str(err.value)
    with pytest.raises(ImportErrors) as err:
        import_bytes("cli", jsonl(dict(row, assets_cny=5000000, size="large")), "o.jsonl")
    assert "与划型标准的结果不符" in str(err.value)
    import_bytes("cli", jsonl(dict(row, assets_cny=5000000)), "o.jsonl")
    assert db.session.execute(select(Organisation.size)).scalar_one() == "small"


def test_external_subsidy_errors_name_the_item(app_ctx):
    from market.errors import ImportErrors

    row = dict(BASE[0], external_subsidies=[{"rule": "art7_renter", "year": 2027, "amount_cny": "1e5", "source": "x"},
                                            {"rule": "nope", "year": 2027, "amount_cny": "1", "source": "x", "extra": 1}])
    with pytest.raises(ImportErrors) as err:
        import_bytes("cli", jsonl(row), "o.jsonl")
    text = str(err.value)
    assert "external_subsidies[1].amount_cny" in text
    assert "external_subsidies[2]: 未知字段：extra" in text


def test_gbk_csv_is_accepted(app_ctx):
    text = f"ref,name,uscc,kind,size,in_district,group\r\nG1,吉林省某某研究院,{U[6]},institute,,是,长春某某集团\r\n"
    result = import_bytes("cli", text.encode("gbk"), "gbk.csv")
    assert result.created == 1
    org = db.session.execute(select(Organisation)).scalar_one()
    assert org.name == "吉林省某某研究院" and org.in_district and org.group.name == "长春某某集团"


def test_xlsx_with_formula_is_refused(app_ctx):
    from market.errors import ImportErrors

    wb = Workbook()
    ws = wb.active
    ws.append(["ref", "name", "uscc", "kind", "size", "employees"])
    ws.append(["F1", "公式公司", U[7], "sme", "small", "=10*2"])
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(ImportErrors) as err:
        import_bytes("cli", buf.getvalue(), "f.xlsx")
    assert "line 2: employees: 不接受公式" in str(err.value)
    assert counts() == (0, 0, 0, 0, 0)


def test_size_limit_is_for_web_uploads_only(app, app_ctx, client, login, make_user, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 1024 * 1024)
    data = jsonl(*BASE) + b"\n" * (1024 * 1024)  # four rows and a megabyte of blank lines (skipped)
    login(make_user(role=Role.DISTRICT_REVIEWER))
    resp = client.post("/orgs/admin/import", data={"file": (io.BytesIO(data), "o.jsonl")},
                       content_type="multipart/form-data")
    assert "line 0: file: 文件超过 1 MB 上限" in resp.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(Organisation)).scalar_one() == 0
    big = tmp_path / "big.jsonl"
    big.write_bytes(data)
    result = cli(app, "import", str(big))  # the command line reads a file of any size
    assert result.exit_code == 0 and "created 4" in result.output, result.output


def test_export_xlsx_keeps_text_as_text(app_ctx):
    import_bytes("cli", jsonl(*BASE), "orgs.jsonl")
    ws = load_workbook(io.BytesIO(exports.to_bytes("xlsx", export_table()))).active
    header = [c.value for c in ws[1]]
    assert tuple(header) == ("ref", "name", "uscc", "kind", "size", "industry", "employees", "revenue_cny", "assets_cny",
                             "in_district", "verified", "group", "english_name", "address", "external_subsidies")
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


def test_uscc_of_an_organisation_in_the_ledger_cannot_change(app_ctx):
    """The ledger's hashes bind each party's USCC: an import must not rewrite it afterwards."""
    from market.ledger.importer import import_rows as ledger_import

    import_bytes("cli", jsonl(*BASE), "orgs.jsonl")
    ledger_import("cli", [(1, {"ref": "P1", "kind": "rental", "payer": "S1", "payee": "U1",
                      "amount_cny": "1000.00", "paid_at": "2026-03-01T10:00:00+08:00"})])
    changed = [dict(BASE[0], uscc=U[10]), dict(BASE[2], uscc=U[11])]
    from market.errors import ImportErrors

    with pytest.raises(ImportErrors) as err:
        import_bytes("cli", jsonl(*changed), "orgs.jsonl")
    assert [(e.line, e.field) for e in err.value.errors] == [(1, "uscc")]  # L1 has no ledger entry: allowed
    assert db.session.execute(select(Organisation.uscc).where(Organisation.ref == "U1")).scalar_one() == U[0]
