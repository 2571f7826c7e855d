"""Bulk import and export of organisations (CONTRACT.md, "Organisations").

The row is the organisation's full state: upsert by ``ref``, an identical row is a no-op, and the
whole file is applied in one transaction (the CLI command or upload view commits it) or not at
all. Two deliberate exceptions keep district decisions safe: ``verified: true`` verifies (audited
as the import) but ``false`` never un-verifies — revoking is a reviewer's decision with a reason;
and a size set by an admin override is kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from market import audit, exports, imports
from market.domain import localtime
from market.domain.sme import classify, industry_codes
from market.errors import Conflict, RowError, ValidationError
from market.extensions import db
from market.imports import FieldError, ImportReport
from market.ledger.services import has_entries as ledger_has_entries
from models.base import utcnow
from models.organisations import (
    ExternalSubsidy,
    Organisation,
    OrganisationEvent,
    RelatedPartyGroup,
    VerificationStatus,
)

from .labels import classification_words
from .services import KINDS, SIZED_KINDS, SIZES, _actor_id, check_name
from .uscc import uscc_problem

# CONTRACT.md, in its order; export writes these columns, import refuses any other.
FIELDS = (
    "ref", "name", "uscc", "kind", "size", "industry", "employees", "revenue_cny", "assets_cny",
    "in_district", "verified", "group", "english_name", "address", "external_subsidies",
)
SUBSIDY_FIELDS = ("rule", "year", "amount_cny", "source", "item")
# The subsidy rules a declared external subsidy may refer to (POLICY.md, "The rules the platform computes").
RULE_IDS = frozenset({"art7_provider", "art7_renter", "art8_supplier", "art8_opener", "art9_demo", "art13_data"})
REF_MAX = 64
_CHUNK = 500
_EAGER = (selectinload(Organisation.group), selectinload(Organisation.external_subsidies))


# ---------------------------------------------------------------- canonical rows
def org_to_row(org: Organisation) -> dict[str, Any]:
    """The export row: CONTRACT.md fields, empty ones left out, booleans always present."""
    row: dict[str, Any] = {"ref": org.ref, "name": org.name, "uscc": org.uscc, "kind": org.kind}
    if org.kind in SIZED_KINDS and org.size:
        row["size"] = org.size
    for key in ("industry", "employees", "revenue_cny", "assets_cny"):
        if getattr(org, key) is not None:
            row[key] = getattr(org, key)
    row["in_district"] = bool(org.in_district)
    row["verified"] = org.verification_status == VerificationStatus.VERIFIED
    if org.group is not None:
        row["group"] = org.group.name
    if org.english_name:
        row["english_name"] = org.english_name
    if org.address:
        row["address"] = org.address
    if _imported_subsidies(org):
        row["external_subsidies"] = [_subsidy_row(s) for s in _imported_subsidies(org)]
    return row


def _imported_subsidies(org: Organisation) -> list[ExternalSubsidy]:
    """The declarations the import file is the truth for (those filed with a claim belong to the claim)."""
    return [s for s in org.external_subsidies if s.declared_in != "claim"]


def _subsidy_row(s: ExternalSubsidy) -> dict[str, Any]:
    out: dict[str, Any] = {"rule": s.rule, "year": s.year, "amount_cny": s.amount_cny, "source": s.source}
    if s.item:
        out["item"] = s.item
    return out


def _comparable(row: dict[str, Any]) -> dict[str, Any]:
    """Money compared as 2-decimal strings so 120000 == 120000.00."""
    out = dict(row)
    for key in ("revenue_cny", "assets_cny"):
        if out.get(key) is not None:
            out[key] = f"{Decimal(out[key]):.2f}"
    if "external_subsidies" in out:
        out["external_subsidies"] = [{**s, "amount_cny": f"{Decimal(s['amount_cny']):.2f}"} for s in out["external_subsidies"]]
    return out


# ---------------------------------------------------------------- parsing one row
def _parse_subsidies(row: dict[str, Any], line: int, errors: list[RowError]) -> list[dict[str, Any]]:
    """Every item checked; each error names its item (``external_subsidies[2].year``)."""
    try:
        items = imports.json_list(row, "external_subsidies")
    except FieldError as err:
        errors.append(RowError(line, err.field, err.message))
        return []
    out = []
    for n, item in enumerate(items, start=1):
        where = f"external_subsidies[{n}]"
        unknown = sorted(k for k in item if k not in SUBSIDY_FIELDS)
        if unknown:
            errors.append(RowError(line, where, _("未知字段：%(f)s（可用：rule, year, amount_cny, source, item）。", f=", ".join(unknown))))
            continue
        try:
            rule = imports.choice(item, "rule", RULE_IDS, required=True)
            year = imports.integer(item, "year", required=True, minimum=2000)
            if year > 2100:
                raise FieldError("year", _("年份无效。"))
            amount = imports.money(item, "amount_cny", required=True)
            if amount == 0:
                raise FieldError("amount_cny", _("金额必须大于 0。"))
            source = imports.text(item, "source", required=True)
            item_text = imports.text(item, "item", max_len=200)
            for key, value in (("source", source), ("item", item_text)):
                try:
                    check_name(value, key, required=False)
                except ValidationError as err:
                    raise FieldError(key, err.message) from None
        except FieldError as err:
            errors.append(RowError(line, f"{where}.{err.field}", err.message))
            continue
        parsed: dict[str, Any] = {"rule": rule, "year": year, "amount_cny": amount, "source": source}
        if item_text:
            parsed["item"] = item_text
        out.append(parsed)
    return out


def _field(errors: list[RowError], line: int, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except FieldError as err:
        errors.append(RowError(line, err.field, err.message))
    except ValidationError as err:
        errors.append(RowError(line, err.field or "-", err.message))
    return None


def parse_row(line: int, row: dict[str, Any], errors: list[RowError]) -> dict[str, Any] | None:
    """Check one row exactly as the forms would; append errors; return the parsed fields."""
    before = len(errors)
    unknown = imports.check_fields(row, frozenset(FIELDS))
    for name in unknown:
        errors.append(RowError(line, name, _("未知字段（可用字段见 CONTRACT.md：%(f)s）。", f=", ".join(FIELDS))))
    p: dict[str, Any] = {}
    p["ref"] = _field(errors, line, imports.text, row, "ref", required=True, max_len=REF_MAX)
    name = _field(errors, line, imports.text, row, "name", required=True)
    p["name"] = _field(errors, line, check_name, name, "name") if name else None
    uscc = _field(errors, line, imports.text, row, "uscc", required=True, max_len=40)
    if uscc is not None:
        problem = uscc_problem(uscc)
        if problem:
            errors.append(RowError(line, "uscc", problem))
    p["uscc"] = uscc
    p["kind"] = _field(errors, line, imports.choice, row, "kind", KINDS, required=True)
    size = _field(errors, line, imports.choice, row, "size", SIZES)
    p["industry"] = _field(errors, line, imports.choice, row, "industry", frozenset(industry_codes()))
    p["employees"] = _field(errors, line, imports.integer, row, "employees")
    p["revenue_cny"] = _field(errors, line, imports.money, row, "revenue_cny")
    p["assets_cny"] = _field(errors, line, imports.money, row, "assets_cny")
    p["in_district"] = _field(errors, line, imports.boolean, row, "in_district")
    p["verified"] = _field(errors, line, imports.boolean, row, "verified")
    group = _field(errors, line, imports.text, row, "group")
    p["group"] = _field(errors, line, check_name, group, "group", required=False) if group else None
    eng = _field(errors, line, imports.text, row, "english_name")
    p["english_name"] = _field(errors, line, check_name, eng, "english_name", required=False) if eng else None
    addr = _field(errors, line, imports.text, row, "address", max_len=300)
    p["address"] = _field(errors, line, check_name, addr, "address", required=False, max_len=300) if addr else None
    p["external_subsidies"] = _parse_subsidies(row, line, errors)
    p["size_given"] = size
    bad_fields = {e.field for e in errors[before:]}
    if p["kind"] in SIZED_KINDS and not bad_fields & {"kind", "size", "industry", "employees", "revenue_cny", "assets_cny"}:
        p["classification"] = classify(p["industry"], p["employees"], p["revenue_cny"], p["assets_cny"])
        cls = p["classification"]
        if size and cls.size and size != cls.size:
            p["size_conflict"] = cls
        elif not size and not cls.size and p["kind"] == "sme":
            errors.append(RowError(
                line, "size",
                _("中小微企业必须填写 size，或提供足以划型的 industry、employees、revenue_cny（部分行业需 assets_cny）：%(r)s",
                  r=classification_words(cls))))
    return None if len(errors) > before else p


def _desired(p: dict[str, Any], existing: Organisation | None) -> tuple[dict[str, Any], str | None]:
    """The export row this import would produce, and the size source."""
    size, source = None, None
    if p["kind"] in SIZED_KINDS:
        cls = p["classification"]
        if existing is not None and existing.size_source == "override" and existing.kind == p["kind"] and p["size_given"] in (None, existing.size):
            size, source = existing.size, "override"  # an admin's decision is kept
        elif p["size_given"]:
            size, source = p["size_given"], "classified" if cls.size == p["size_given"] else "declared"
        elif cls.size:
            size, source = cls.size, "classified"
    row: dict[str, Any] = {"ref": p["ref"], "name": p["name"], "uscc": p["uscc"], "kind": p["kind"]}
    if size:
        row["size"] = size
    for key in ("industry", "employees", "revenue_cny", "assets_cny"):
        if p[key] is not None:
            row[key] = p[key]
    row["in_district"] = p["in_district"]
    row["verified"] = p["verified"] or (existing is not None and existing.verification_status == VerificationStatus.VERIFIED)
    for key in ("group", "english_name", "address"):
        if p[key]:
            row[key] = p[key]
    if p["external_subsidies"]:
        row["external_subsidies"] = p["external_subsidies"]
    return row, source


def _load(column, values: list[str]) -> dict[str, Organisation]:
    found: dict[str, Organisation] = {}
    for i in range(0, len(values), _CHUNK):
        chunk = values[i : i + _CHUNK]
        stmt = select(Organisation).where(column.in_(chunk)).options(*_EAGER)
        for org in db.session.execute(stmt).scalars():
            found[getattr(org, column.key)] = org
    return found


# ---------------------------------------------------------------- import
def import_rows(actor: Any, rows: Iterable[tuple[int, dict[str, Any]]], *, now: dt.datetime | None = None) -> ImportReport:
    """Check and write the rows batch by batch in the caller's transaction; refuse the whole file
    (ImportRefused, the caller rolls back) if any row is bad. ``actor``: a User or "cli".

    ``now`` dates what the import records (verification, size assessment, the facts history).
    """
    imports.require_import(actor, "org.import")
    report = ImportReport()
    seen_ref: dict[str, int] = {}
    seen_uscc: dict[str, int] = {}
    batches = imports.Batches()
    session = db.session
    clock = session.info.get("clock")
    if now is not None:
        session.info["clock"] = lambda: now
    try:
        for batch in imports.batched(rows, report):
            plans = _plan_batch(batch, seen_ref, seen_uscc, report)
            if report.error_count:
                continue  # nothing more is written, but every row is still checked and every error listed
            _write_batch(actor, plans, report, now)
            batches.release()
    except IntegrityError:
        raise Conflict(_("导入时与其他操作冲突（统一社会信用代码或 ref 重复），没有保存任何数据，请重试。")) from None
    finally:
        if now is not None:
            if clock is None:
                session.info.pop("clock", None)
            else:
                session.info["clock"] = clock
    report.refuse_if_errors()
    return report


def _plan_batch(batch: list[tuple[int, dict[str, Any]]], seen_ref: dict[str, int], seen_uscc: dict[str, int],
                report: ImportReport) -> list[tuple[dict[str, Any], Organisation | None, dict[str, Any], str | None]]:
    errors: list[RowError] = []
    parsed: list[tuple[int, dict[str, Any]]] = []
    for line, row in batch:
        p = parse_row(line, row, errors)
        if p is None:
            continue
        if p["ref"] in seen_ref:
            errors.append(RowError(line, "ref", _("与第 %(n)d 行的 ref 重复。", n=seen_ref[p["ref"]])))
            continue
        if p["uscc"] in seen_uscc:
            errors.append(RowError(line, "uscc", _("与第 %(n)d 行的统一社会信用代码重复。", n=seen_uscc[p["uscc"]])))
            continue
        seen_ref[p["ref"]], seen_uscc[p["uscc"]] = line, line
        parsed.append((line, p))
    by_ref = _load(Organisation.ref, [p["ref"] for _line, p in parsed])
    by_uscc = _load(Organisation.uscc, [p["uscc"] for _line, p in parsed])
    plans = []
    for line, p in parsed:
        existing = by_ref.get(p["ref"])
        holder = by_uscc.get(p["uscc"])
        if holder is not None and holder is not existing:
            errors.append(RowError(line, "uscc", _("该统一社会信用代码已属于机构 %(ref)s（%(name)s）。",
                                                   ref=holder.ref or holder.id, name=holder.name)))
        if existing is not None and existing.uscc != p["uscc"] and ledger_has_entries(existing.id):
            # the ledger's hashes bind the code (models/ledger.py): changing it would break `ledger verify`
            errors.append(RowError(line, "uscc", _("该机构已有台账记录，统一社会信用代码不能再修改。")))
            continue
        conflict = p.get("size_conflict")
        if conflict and not (existing is not None and existing.size_source == "override" and existing.size == p["size_given"]):
            errors.append(RowError(line, "size", _("与划型标准的结果不符（%(r)s）。如需人工调整，请在机构详情页填写理由。",
                                                   r=classification_words(conflict))))
            continue
        desired, source = _desired(p, existing)
        plans.append((p, existing, desired, source))
    for e in sorted(errors, key=lambda e: e.line):
        report.add(e)
    return plans


def _write_batch(actor: Any, plans: list, report: ImportReport, now: dt.datetime | None) -> None:
    names = {desired["group"] for _p, _e, desired, _s in plans if desired.get("group")}
    groups = {g.name: g for g in db.session.execute(select(RelatedPartyGroup).where(RelatedPartyGroup.name.in_(names))).scalars()}
    finishing = []
    for p, existing, desired, source in plans:
        if existing is not None and _comparable(org_to_row(existing)) == _comparable(desired):
            report.unchanged += 1
            continue
        finishing.append(_apply(existing, desired, source, p, groups, now))
        if existing is not None:
            report.updated += 1
        else:
            report.created += 1
    db.session.flush()  # one flush for the batch: ids for the history and the audit
    with db.session.no_autoflush:
        for finish in finishing:
            finish(actor)


def _apply(org: Organisation | None, desired: dict[str, Any], source: str | None,
           p: dict[str, Any], groups: dict[str, RelatedPartyGroup], now: dt.datetime | None):
    """Set the organisation's fields; return what writes its history and audit once ids exist."""
    creating = org is None
    if creating:
        org = Organisation(ref=desired["ref"], verification_status=VerificationStatus.PENDING)
        db.session.add(org)
        before = None
        old_row: dict[str, Any] = {}
    else:
        before = audit.snapshot(org)
        old_row = _comparable(org_to_row(org))
    org.name, org.uscc, org.kind = desired["name"], desired["uscc"], desired["kind"]
    for key in ("industry", "employees", "revenue_cny", "assets_cny", "english_name", "address"):
        setattr(org, key, desired.get(key))
    org.in_district = desired["in_district"]
    new_size = desired.get("size")
    if new_size != org.size or source != org.size_source:
        org.size, org.size_source = new_size, source
        org.size_assessed_on = (localtime.to_local(now).date() if now else localtime.today()) if new_size else None
        if source != "override":
            org.size_override_reason = None
    group_name = desired.get("group")
    if group_name is None:
        org.group = None
    elif org.group is None or org.group.name != group_name:
        group = groups.get(group_name)
        if group is None:
            group = RelatedPartyGroup(name=group_name, basis="group", note=_("批量导入创建"))
            db.session.add(group)
            groups[group_name] = group
        org.group = group
    new_subsidies = desired.get("external_subsidies", [])
    if _comparable({"external_subsidies": [_subsidy_row(s) for s in _imported_subsidies(org)]}) != _comparable({"external_subsidies": new_subsidies}):
        for s in _imported_subsidies(org):
            org.external_subsidies.remove(s)
        for s in new_subsidies:
            org.external_subsidies.append(ExternalSubsidy(rule=s["rule"], year=s["year"], amount_cny=s["amount_cny"],
                                                     source=s["source"], item=s.get("item")))
    new_row = _comparable(desired)
    changed = sorted(k for k in set(old_row) | set(new_row) if old_row.get(k) != new_row.get(k) and k != "verified")
    cls = p.get("classification")

    def finish(actor: Any) -> None:
        def event(action: str, **detail: Any) -> None:
            db.session.add(OrganisationEvent(organisation_id=org.id, actor_id=_actor_id(actor), action=action,
                                             detail=audit._jsonable(detail)))

        def record(action: str, before_: dict[str, Any] | None) -> None:
            audit.record(actor, action, None, before_, audit.snapshot(org), object_type="organisation", object_id=org.ref)

        if creating:
            event("imported", by="import", size=org.size, size_source=source, classification=cls.reason if cls else None)
        elif changed:
            event("import_updated", by="import", fields=changed, size=org.size, classification=cls.reason if cls else None)
        record("org.import", before)
        if desired["verified"] and org.verification_status != VerificationStatus.VERIFIED:
            verify_before = audit.snapshot(org)
            org.verification_status = VerificationStatus.VERIFIED
            org.verified_at = now or utcnow()
            org.rejection_reason = None
            event("verified", by="import")
            record("org.verify", verify_before)

    return finish


# ---------------------------------------------------------------- export
EXPORT_COLUMNS = exports.fields(
    *FIELDS,
    kinds={"employees": "int", "revenue_cny": "money", "assets_cny": "money", "in_district": "bool", "verified": "bool"},
    getters={"external_subsidies": exports.as_json("external_subsidies")},
)


def export_rows() -> Iterator[dict[str, Any]]:
    orgs = db.session.execute(select(Organisation).options(*_EAGER).order_by(Organisation.ref, Organisation.id)).scalars()
    return (org_to_row(o) for o in orgs if o.ref)


def export_table() -> exports.Table:
    """Every organisation in the import format (CONTRACT.md field names as headers)."""
    return exports.Table("organisations", EXPORT_COLUMNS, export_rows())
