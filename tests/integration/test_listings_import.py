"""`listings import/export` (CONTRACT.md): formats, upsert, no-op, all-or-nothing, errors, --publish."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from market import exports
from market.errors import ImportErrors
from market.extensions import db
from market.imports import read_rows
from market.listings import importer
from models.audit import AuditEntry
from models.listings import Listing, ListingStatus
from tests.conftest import queued

ROWS = [
    {"ref": "S0001", "kind": "scenario", "owner": "L1", "title": "药物研发 AI 辅助筛选", "description": "虚拟筛选 **200 万** 化合物",
     "tags": ["人工智能", "药物研发"], "track": "digital_healthcare", "budget_cny": "500000.00"},
    {"ref": "H01", "kind": "instrument", "owner": "U1", "title": "冷冻电镜", "description": "300kV",
     "tags": ["冷冻电镜"], "track": "smart_materials", "rate_cny_per_hour": "1800.00"},
    {"ref": "G01", "kind": "public_data", "owner": "GOV2", "title": "企业公共信用信息", "description": "信用数据",
     "tags": [], "track": "digital_government", "open_mode": "unconditional"},
]


@pytest.fixture
def orgs(make_org):
    return {
        "L1": make_org(kind="leading_firm", ref="L1"),
        "U1": make_org(kind="university", ref="U1"),
        "GOV2": make_org(kind="government", ref="GOV2"),
        "S1": make_org(kind="sme", ref="S1"),
        "X9": make_org(kind="institute", ref="X9", verified=False),
    }


def _jsonl(rows):
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


def _rows(data: bytes, name: str):
    return list(read_rows(data, name))


def _count(model):
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_import_creates_drafts_and_second_import_is_a_noop(orgs):
    result = importer.import_rows("cli", _rows(_jsonl(ROWS), "a.jsonl"))
    assert result.created == 3
    listing = db.session.execute(select(Listing).where(Listing.ref == "S0001")).scalar_one()
    assert listing.status == ListingStatus.DRAFT and str(listing.budget_cny) == "500000.00"
    assert db.session.execute(select(Listing).where(Listing.ref == "G01")).scalar_one().open_mode == "unconditional"
    audits = _count(AuditEntry)
    again = importer.import_rows("cli", _rows(_jsonl(ROWS), "a.jsonl"))
    assert again.unchanged == 3 and not again.updated and not again.created
    assert _count(AuditEntry) == audits and len(queued("search.index")) == 0


def test_publish_flag_publishes_audited_and_enqueued(orgs):
    result = importer.import_rows("cli", _rows(_jsonl(ROWS), "a.jsonl"), publish=True)
    assert result.published == 3
    assert all(lst.status == ListingStatus.PUBLISHED for lst in db.session.execute(select(Listing)).scalars())
    assert len(queued("search.index")) == 3
    actions = db.session.execute(select(AuditEntry.action).where(AuditEntry.object_id == "H01")).scalars().all()
    assert actions == ["listing.import", "listing.publish"]
    # re-import with --publish: nothing changes
    again = importer.import_rows("cli", _rows(_jsonl(ROWS), "a.jsonl"), publish=True)
    assert again.unchanged == 3 and len(queued("search.index")) == 3


def test_change_to_published_listing_without_publish_becomes_a_revision(orgs):
    importer.import_rows("cli", _rows(_jsonl(ROWS), "a.jsonl"), publish=True)
    changed = [dict(ROWS[1], title="冷冻电镜 Krios G4")]
    result = importer.import_rows("cli", _rows(_jsonl(changed), "b.jsonl"))
    assert result.revised == 1
    listing = db.session.execute(select(Listing).where(Listing.ref == "H01")).scalar_one()
    assert listing.title == "冷冻电镜" and listing.pending_revision.data["title"] == "冷冻电镜 Krios G4"
    assert importer.import_rows("cli", _rows(_jsonl(changed), "b.jsonl")).unchanged == 1
    importer.import_rows("cli", _rows(_jsonl(changed), "b.jsonl"), publish=True)
    assert listing.title == "冷冻电镜 Krios G4" and listing.pending_revision is None


def test_every_error_is_listed_and_nothing_is_saved(orgs):
    rows = [
        ROWS[0],
        {**ROWS[1], "owner": "NOPE"},  # unknown owner
        {**ROWS[1], "ref": "H02", "owner": "S1"},  # an SME cannot own an instrument
        {**ROWS[1], "ref": "H03", "track": "space", "rate_cny_per_hour": "1e3"},
        {**ROWS[2], "ref": "G02", "owner": "L1"},  # public data only from government
        {**ROWS[0], "ref": "S0002", "colour": "red"},  # unknown field
        {**ROWS[0], "ref": "S0001"},  # duplicate ref
        {"ref": "S0003", "kind": "castle", "owner": "L1", "title": "x", "description": "y"},
        {"ref": "S0004", "kind": "scenario", "owner": "L1", "description": "no title"},
        {**ROWS[0], "ref": "mine"},
    ]
    with pytest.raises(ImportErrors) as err:
        importer.import_rows("cli", _rows(_jsonl(rows), "bad.jsonl"))
    lines = [str(e) for e in err.value.errors]
    assert any(s.startswith("line 2: owner: ") and "NOPE" in s for s in lines)
    assert any(s.startswith("line 3: owner: ") and "不能发布" in s for s in lines)
    assert any(s.startswith("line 4: track: ") for s in lines)
    assert any(s.startswith("line 4: rate_cny_per_hour: ") for s in lines)
    assert any(s.startswith("line 5: owner: ") for s in lines)
    assert "line 6: colour: 未知字段。" in lines
    assert any(s.startswith("line 7: ref: ") and "第 1 行" in s for s in lines)
    assert any(s.startswith("line 8: kind: ") for s in lines)
    assert any(s.startswith("line 9: title: ") for s in lines)
    assert any(s.startswith("line 10: ref: ") for s in lines)
    assert _count(Listing) == 0 and _count(AuditEntry) == 0


def test_fields_not_for_the_kind_are_ignored(orgs):
    rows = [{**ROWS[1], "budget_cny": "not money", "open_mode": "whatever"}, {**ROWS[0], "rate_cny_per_hour": "x"}]
    importer.import_rows("cli", _rows(_jsonl(rows), "a.jsonl"))
    h01 = db.session.execute(select(Listing).where(Listing.ref == "H01")).scalar_one()
    assert h01.budget_cny is None and h01.open_mode is None


def test_publish_requires_a_verified_owner(orgs):
    rows = [{**ROWS[1], "owner": "X9"}]
    with pytest.raises(ImportErrors) as err:
        importer.import_rows("cli", _rows(_jsonl(rows), "a.jsonl"), publish=True)
    assert str(err.value.errors[0]).startswith("line 1: owner: ")
    importer.import_rows("cli", _rows(_jsonl(rows), "a.jsonl"))  # as a draft it is fine
    assert _count(Listing) == 1


def test_kind_and_owner_of_existing_ref_cannot_change(orgs):
    importer.import_rows("cli", _rows(_jsonl(ROWS), "a.jsonl"))
    with pytest.raises(ImportErrors) as err:
        importer.import_rows("cli", _rows(_jsonl([{**ROWS[1], "kind": "facility"}, {**ROWS[0], "owner": "GOV2"}]), "a.jsonl"))
    lines = [str(e) for e in err.value.errors]
    assert any(s.startswith("line 1: kind: ") for s in lines) and any(s.startswith("line 2: owner: ") for s in lines)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "xlsx"])
def test_round_trip(orgs, fmt):
    importer.import_rows("cli", _rows(_jsonl(ROWS), "a.jsonl"), publish=True)
    exported = exports.to_bytes(fmt, importer.export_table())
    before = list(importer.export_rows())
    # importing the export into the same database changes nothing
    result = importer.import_rows("cli", _rows(exported, f"x.{fmt}"))
    assert result.unchanged == 3
    # and into an empty database it recreates the same rows
    for listing in db.session.execute(select(Listing)).scalars():
        db.session.delete(listing)
    db.session.commit()
    importer.import_rows("cli", _rows(exported, f"x.{fmt}"))
    assert list(importer.export_rows()) == before


def test_csv_gbk_and_list_separators(orgs):
    text = "ref,kind,owner,title,description,tags,track,rate_cny_per_hour\nH09,instrument,U1,扫描电镜,说明,电镜、SEM;形貌,smart_materials,380\n"
    importer.import_rows("cli", _rows(text.encode("gbk"), "a.csv"))
    listing = db.session.execute(select(Listing).where(Listing.ref == "H09")).scalar_one()
    assert listing.tags == ["电镜", "SEM", "形貌"] and str(listing.rate_cny_per_hour) == "380.00"


def test_cli_import_and_export(app, orgs, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(_jsonl(ROWS))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["listings", "import", str(path), "--publish"])
    assert result.exit_code == 0, result.output
    assert "created 3, updated 0, unchanged 0, published 3" in result.output
    out = tmp_path / "out.xlsx"
    result = runner.invoke(args=["listings", "export", "--out", str(out)])
    assert result.exit_code == 0 and out.stat().st_size > 0
    stdout = runner.invoke(args=["listings", "export"]).output
    assert [json.loads(line)["ref"] for line in stdout.splitlines()] == ["G01", "H01", "S0001"]
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(_jsonl([{**ROWS[0], "owner": "NOPE"}]))
    result = runner.invoke(args=["listings", "import", str(bad)])
    assert result.exit_code == 1 and "line 1: owner: " in result.output
