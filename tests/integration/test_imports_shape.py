"""Every importer has one shape (issue 9): ``import_rows(actor, rows, *, now=None, ...) -> ImportReport``,
a permission check for users, rows consumed lazily in batches, files read streaming, all-or-nothing
with an error in the last row, errors capped, and the CLI's quiet mode."""

from __future__ import annotations

import datetime as dt
import inspect
import io
import json
from collections import deque
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from market import imports
from market.errors import PermissionDenied
from market.extensions import db
from market.imports import ImportRefused, ImportReport, Source
from market.ledger import importer as ledger_importer
from market.ledger import services as ledger_services
from market.listings import importer as listings_importer
from market.orgs import importer as orgs_importer
from market.orgs.uscc import make_valid_uscc
from models.audit import AuditEntry
from models.ledger import LedgerEntry
from models.listings import Listing
from models.organisations import Organisation
from models.outbox import OutboxMessage
from models.users import Role

NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


def org_row(n: int, **extra):
    return {"ref": f"T{n}", "name": f"测试研究院{n}", "uscc": make_valid_uscc(50000 + n), "kind": "institute",
            "verified": True, **extra}


def listing_row(n: int, owner: str = "T0", **extra):
    return {"ref": f"L{n:05d}", "kind": "instrument", "owner": owner, "title": f"扫描电镜 {n} 号",
            "description": "场发射扫描电镜，可做形貌与能谱分析。", "tags": ["电镜"], "track": "smart_materials",
            "rate_cny_per_hour": "300", **extra}


def ledger_row(n: int, **extra):
    return {"ref": f"P{n:05d}", "kind": "rental", "payer": "T1", "payee": "T0", "amount_cny": "1000.00",
            "paid_at": "2026-03-01T10:00:00+08:00", **extra}


def count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def numbered(rows):
    return list(enumerate(rows, start=1))


@pytest.fixture
def two_orgs(app_ctx):
    orgs_importer.import_rows("cli", numbered([org_row(0), org_row(1)]))
    db.session.commit()


IMPORTERS = {
    "orgs": (orgs_importer, lambda: [org_row(n) for n in range(2, 5)], Organisation),
    "listings": (listings_importer, lambda: [listing_row(n) for n in range(3)], Listing),
    "ledger": (ledger_importer, lambda: [ledger_row(n) for n in range(3)], LedgerEntry),
}


@pytest.mark.parametrize("name", IMPORTERS)
def test_the_three_importers_have_one_shape(two_orgs, name):
    module, rows, model = IMPORTERS[name]
    params = inspect.signature(module.import_rows).parameters
    assert list(params)[:3] == ["actor", "rows", "now"]
    assert params["now"].kind is inspect.Parameter.KEYWORD_ONLY and params["now"].default is None
    before = count(model)
    report = module.import_rows("cli", iter(numbered(rows())), now=NOW)  # any iterable, even a one-shot one
    assert isinstance(report, ImportReport)
    assert (report.created, report.updated, report.unchanged, report.errors) == (3, 0, 0, [])
    assert count(model) == before + 3
    again = module.import_rows("cli", iter(numbered(rows())), now=NOW)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3) and count(model) == before + 3
    bad = [*rows()[:2], {**rows()[2], "colour": "red"}]
    with pytest.raises(ImportRefused) as err:
        module.import_rows("cli", numbered(bad), now=NOW)
    assert [(e.line, e.field) for e in err.value.errors] == [(3, "colour")]
    assert err.value.report.error_count == 1


def test_now_dates_what_the_import_records(app_ctx):
    orgs_importer.import_rows("cli", numbered([org_row(7)]), now=NOW)
    org = db.session.execute(select(Organisation).where(Organisation.ref == "T7")).scalar_one()
    assert org.verified_at == NOW and org.facts_history[-1].valid_from == NOW


@pytest.mark.parametrize("name,allowed,denied", [
    ("orgs", Role.DISTRICT_REVIEWER, Role.ORG_ADMIN),
    ("listings", Role.DISTRICT_REVIEWER, Role.PROVIDER_MEMBER),
    ("ledger", Role.DISTRICT_ADMIN, Role.DISTRICT_REVIEWER),
])
def test_a_user_needs_the_import_permission(two_orgs, make_user, name, allowed, denied):
    module, rows, model = IMPORTERS[name]
    denied_user, allowed_user = make_user(role=denied), make_user(role=allowed)
    before = count(model)
    with pytest.raises(PermissionDenied):
        module.import_rows(denied_user, numbered(rows()), now=NOW)
    assert count(model) == before
    report = module.import_rows(allowed_user, numbered(rows()), now=NOW)
    assert report.created == 3


def test_rows_are_consumed_lazily_batch_by_batch(two_orgs, monkeypatch):
    """The importer writes a batch before it reads past it: a generator sees the rows already in the database."""
    monkeypatch.setattr(imports, "BATCH", 10)
    seen_in_db = []

    def rows():
        for n in range(35):
            if n % 10 == 0:
                seen_in_db.append(count(Listing))  # what the importer wrote before asking for row n
            yield n + 1, listing_row(n)

    report = listings_importer.import_rows("cli", rows())
    assert report.created == 35 and seen_in_db == [0, 10, 20, 30]
    # what was written is let go after each batch: the session holds no more than a batch of listings
    assert sum(isinstance(o, Listing) for o in db.session.identity_map.values()) <= 10


def test_an_error_in_the_last_row_of_a_big_file_saves_nothing(app, two_orgs, tmp_path, monkeypatch):
    monkeypatch.setattr(imports, "BATCH", 50)
    rows = [listing_row(n) for n in range(499)] + [listing_row(499, owner="NOPE")]
    path = tmp_path / "big.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    audits = count(AuditEntry)
    result = app.test_cli_runner().invoke(args=["listings", "import", str(path)])
    assert result.exit_code == 1
    assert result.output.splitlines()[0].startswith("line 500: owner: ")
    assert result.output.splitlines()[-1] == "1 error(s); nothing was imported."
    db.session.expire_all()
    assert count(Listing) == 0 and count(AuditEntry) == audits
    # and in-process: the first 450 rows were written (flushed) before the bad one was read; the
    # caller's rollback takes them all back
    with pytest.raises(ImportRefused):
        listings_importer.import_rows("cli", Source(path.open("rb"), path.name))
    db.session.rollback()
    assert count(Listing) == 0


def test_errors_are_capped_with_a_count_of_the_rest(app, two_orgs, tmp_path, monkeypatch):
    monkeypatch.setattr(imports, "MAX_ERRORS", 5)
    path = tmp_path / "bad.jsonl"
    path.write_text("".join(json.dumps(listing_row(n, owner="NOPE")) + "\n" for n in range(12)), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["listings", "import", str(path)])
    lines = result.output.splitlines()
    assert result.exit_code == 1 and len([x for x in lines if x.startswith("line ")]) == 5
    assert lines[-2:] == ["... 7 more error(s) not shown", "12 error(s); nothing was imported."]


def test_a_published_import_queues_the_search_index_and_does_not_build_it(app, two_orgs, tmp_path):
    path = tmp_path / "pub.jsonl"
    path.write_text("".join(json.dumps(listing_row(n)) + "\n" for n in range(3)), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["listings", "import", str(path), "--publish"])
    assert result.exit_code == 0 and "created 3, updated 0, unchanged 0, published 3" in result.output
    db.session.expire_all()
    rows = db.session.execute(select(OutboxMessage.status).where(OutboxMessage.topic == "search.index")).scalars().all()
    assert rows == ["pending"] * 3  # left for the scheduler's drain (or `search sync`)


def test_quiet_prints_nothing_and_no_bar_without_a_terminal(app, two_orgs, tmp_path):
    path = tmp_path / "ok.jsonl"
    path.write_text(json.dumps(listing_row(1)) + "\n", encoding="utf-8")
    runner = app.test_cli_runner()
    quiet = runner.invoke(args=["listings", "import", str(path), "--quiet"])
    assert quiet.exit_code == 0 and quiet.output == ""
    loud = runner.invoke(args=["listings", "import", str(path)])  # not a terminal: the summary line only
    assert loud.exit_code == 0 and loud.output == "created 0, updated 0, unchanged 1\n"


# ---------------------------------------------------------------- streaming readers
class CountingStream(io.BytesIO):
    """A file that counts the bytes read from it."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.consumed = 0

    def read(self, size=-1):
        data = super().read(size)
        self.consumed += len(data)
        return data

    def read1(self, size=-1):
        data = super().read1(size)
        self.consumed += len(data)
        return data

    def readinto(self, b):
        n = super().readinto(b)
        self.consumed += n
        return n


def _big_jsonl(n: int) -> bytes:
    return "".join(json.dumps(listing_row(i), ensure_ascii=False) + "\n" for i in range(n)).encode()


def _big_csv(n: int, encoding: str, bom: bytes = b"") -> bytes:
    lines = ["ref,kind,owner,title,description"] + [f"L{i},instrument,T0,扫描电镜{i},说明{i}" for i in range(n)]
    return bom + "\r\n".join(lines).encode(encoding)


def _big_xlsx(n: int) -> bytes:
    """Numbers and repeated words: an XLSX keeps its strings in one shared table, read whole at opening."""
    wb = Workbook()
    ws = wb.active
    ws.append(["ref", "kind", "owner", "title", "rate_cny_per_hour", "employees", "x", "y"])
    for i in range(n):
        ws.append([f"L{i}" if i in (0, n - 1) else i, "instrument", "T0", "扫描电镜", i * 3, i * 7, i * 11, i * 13])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("name,make", [
    ("a.jsonl", lambda: _big_jsonl(20000)),
    ("a.csv", lambda: _big_csv(40000, "utf-8")),
    ("a.csv", lambda: _big_csv(40000, "utf-8", b"\xef\xbb\xbf")),
    ("a.csv", lambda: _big_csv(40000, "gbk")),
    ("a.xlsx", lambda: _big_xlsx(40000)),
], ids=["jsonl", "csv-utf8", "csv-bom", "csv-gbk", "xlsx"])
def test_files_are_read_streaming(app_ctx, name, make):
    data = make()
    stream = CountingStream(data)
    rows = iter(Source(stream, name))
    line, first = next(rows)
    assert first["ref"] in ("L00000", "L0") and first["title"].startswith("扫描电镜")
    assert stream.consumed < len(data) / 4, (stream.consumed, len(data))  # the first row did not read the file
    (last,) = deque(rows, maxlen=1)
    assert last[1]["ref"] in ("L19999", "L39999")
    assert stream.consumed >= len(data) / 2


def test_a_gbk_file_whose_first_kilobytes_are_ascii_is_still_gbk(app_ctx):
    data = ("ref,title\r\n" + "".join(f"A{i},ascii\r\n" for i in range(20000)) + "G1,长春新区\r\n").encode("gbk")
    rows = list(imports.read_rows(data, "a.csv", max_bytes=None))
    assert rows[-1][1] == {"ref": "G1", "title": "长春新区"}


def test_unreadable_lines_are_all_reported_after_the_good_rows(app_ctx):
    data = b'{"ref": "A"}\nnot json\n{"ref": "B"}\n[1]\n'
    got = []
    with pytest.raises(ImportRefused) as err:
        for item in imports.read_rows(data, "x.jsonl"):
            got.append(item)
    assert got == [(1, {"ref": "A"}), (3, {"ref": "B"})]
    assert [(e.line, e.field) for e in err.value.errors] == [(2, "json"), (4, "json")]


# ---------------------------------------------------------------- refunds: one rule, one table
def test_import_and_web_refund_share_the_rule_and_the_words(app_ctx, two_orgs):
    from market.domain.refunds import RefundProblem

    assert set(ledger_services.REFUND_MESSAGES) == set(RefundProblem)
    rows = [ledger_row(1, amount_cny="500.00"),
            ledger_row(2, amount_cny="-600.00", reverses="P00001", paid_at="2026-02-01T10:00:00+08:00")]
    with pytest.raises(ImportRefused) as err:
        ledger_importer.import_rows("cli", numbered(rows), now=NOW)
    assert [str(e) for e in err.value.errors] == [
        "line 2: paid_at: 退款时间不能早于原付款时间。",
        "line 2: amount_cny: 退款金额 600.00 超过原付款剩余可冲正金额 500.00（原记录 P00001）。",
    ]
    _field, words = ledger_services.refund_message(RefundProblem.EXCEEDS_REMAINING, amount=Decimal("600"),
                                                  left=Decimal("500"), ref="P00001")
    assert str(err.value.errors[1]).endswith(words)
