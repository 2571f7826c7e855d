"""Bulk import and export of listings (CONTRACT.md, "Listings").

Fields are exactly ``ref, kind, owner, title, description, tags, track, budget_cny,
rate_cny_per_hour, open_mode``. A row is checked by the same ``fields.clean`` a form submission
goes through. Upsert by ``ref``; an identical row is a no-op; any bad row refuses the whole file
and every error is listed as ``line N: field: message``.

Without ``publish`` a new listing is created as a draft for its organisation to check and submit,
and a change to a published listing becomes a pending revision (review keeps the published text
live). With ``publish`` the rows are published as a reviewer would: audited and queued for search.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from market import audit, exports, imports
from market.errors import RowError
from market.extensions import db
from market.imports import ImportReport
from market.orgs.services import verification_problem
from models.listings import (
    RENTABLE_KINDS,
    Listing,
    ListingKind,
    ListingStatus,
    OpenMode,
    RevisionStatus,
)
from models.organisations import Organisation

from . import fields, services

FIELDS = ("ref", "kind", "owner", "title", "description", "tags", "track", "budget_cny", "rate_cny_per_hour", "open_mode")
S = ListingStatus
REF_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
RESERVED_REFS = frozenset({"mine", "new", "review", "import"})  # page names under /listings/


def applies(name: str, kind: str) -> bool:
    """Whether an import column applies to a listing kind (others are accepted and ignored)."""
    if name == "budget_cny":
        return kind == ListingKind.SCENARIO
    if name == "rate_cny_per_hour":
        return kind in RENTABLE_KINDS
    if name == "open_mode":
        return kind == ListingKind.PUBLIC_DATA
    return True


@dataclass
class _Row:
    line: int
    ref: str
    kind: str
    owner: Organisation
    data: dict[str, Any]
    existing: Listing | None


def import_rows(actor: Any, rows: Iterable[tuple[int, dict[str, Any]]], *, now: dt.datetime | None = None,
                publish: bool = False) -> ImportReport:
    """Check and write the rows batch by batch in the caller's transaction; refuse the whole file
    (ImportRefused, the caller rolls back) if any row is bad. ``now``: when new publications happen."""
    imports.require_import(actor, "listing.import")
    report = ImportReport()
    seen: dict[str, int] = {}  # ref -> first line: the only thing kept for the whole file
    batches = imports.Batches()
    for batch in imports.batched(rows, report):
        checked = _check_batch(batch, seen, publish, report)
        if report.error_count:
            continue  # nothing more is written, but every row is still checked and every error listed
        drafts = [draft for row in checked if (draft := _apply(row, actor, publish, report, now)) is not None]
        if drafts:  # their audit entries after one flush for the batch, not one flush per row
            db.session.flush()
            for listing in drafts:
                audit.record(actor, "listing.import", None, after=audit.snapshot(listing),
                             object_type=Listing.__tablename__, object_id=listing.ref)
        batches.release()
    if not report.rows and not report.error_count:
        report.error(0, "file", _("文件中没有数据行。"))
    report.refuse_if_errors()
    return report


def _check_batch(batch: list[tuple[int, dict[str, Any]]], seen: dict[str, int], publish: bool,
                 report: ImportReport) -> list[_Row]:
    """One query for the batch's owners and one for its existing listings, then each row as a form."""
    refs = {str(row.get("ref")).strip() for _line, row in batch if row.get("ref")}
    owner_refs = {str(row.get("owner")).strip() for _line, row in batch if row.get("owner")}
    orgs = {o.ref: o for o in db.session.execute(select(Organisation).where(Organisation.ref.in_(owner_refs))).scalars()}
    existing = {
        lst.ref: lst for lst in db.session.execute(
            select(Listing).where(Listing.ref.in_(refs)).options(selectinload(Listing.revisions))
        ).scalars()
    }
    checked = []
    for line, row in batch:
        row_errors = [RowError(line, name, _("未知字段。")) for name in imports.check_fields(row, set(FIELDS))]
        parsed = _check_row(line, row, orgs, existing, seen, publish, row_errors)
        for e in row_errors:
            report.add(e)
        if parsed is not None and not row_errors:
            checked.append(parsed)
    return checked


def _check_row(line: int, row: dict[str, Any], orgs: dict[str, Organisation], listings: dict[str, Listing],
               seen: dict[str, int], publish: bool, errors: list[RowError]) -> _Row | None:
    def parse(name: str, fn):
        try:
            return fn()
        except imports.FieldError as err:
            errors.append(RowError(line, err.field, err.message))
            return None

    ref = parse("ref", lambda: imports.text(row, "ref", required=True, max_len=64))
    kind = parse("kind", lambda: imports.choice(row, "kind", frozenset(ListingKind), required=True))
    owner_ref = parse("owner", lambda: imports.text(row, "owner", required=True, max_len=64))
    if ref is not None and (not REF_PATTERN.fullmatch(ref) or ref.lower() in RESERVED_REFS):
        errors.append(RowError(line, "ref", _("ref 只能由字母、数字、-、_、. 组成，且不能是保留字（%(r)s）。", r="、".join(sorted(RESERVED_REFS)))))
        ref = None
    if ref is not None:
        if ref in seen:
            errors.append(RowError(line, "ref", _("与第 %(n)d 行的 ref 重复。", n=seen[ref])))
        seen.setdefault(ref, line)
    owner = None
    if owner_ref is not None:
        owner = orgs.get(owner_ref)
        if owner is None:
            errors.append(RowError(line, "owner", _("找不到 ref 为 %(ref)s 的机构，请先导入该机构。", ref=owner_ref)))
        elif kind is not None:
            message = services.owner_kind_error(owner, kind)
            if message:
                errors.append(RowError(line, "owner", message))
            elif publish and verification_problem(owner):
                errors.append(RowError(line, "owner", verification_problem(owner)))
    existing = None
    if ref is not None:
        existing = listings.get(ref)
        if existing is not None and kind is not None and existing.kind != kind:
            errors.append(RowError(line, "kind", _("已有条目 %(ref)s 的类型是 %(k)s，不能更改。", ref=ref, k=existing.kind)))
        if existing is not None and owner is not None and existing.owner_id != owner.id:
            errors.append(RowError(line, "owner", _("已有条目 %(ref)s 属于其他机构，不能更改所属机构。", ref=ref)))
    if kind is None:
        return None
    raw = fields.to_json(_base_data(existing, kind))
    for name in ("title", "description", "tags", "track", "budget_cny", "rate_cny_per_hour", "open_mode"):
        if applies(name, kind):
            raw[name] = row.get(name)
    if kind == ListingKind.PUBLIC_DATA and raw.get("open_mode") in (None, ""):
        raw["open_mode"] = OpenMode.CONDITIONAL
    try:
        data = fields.clean(kind, raw)
    except fields.ListingInvalid as err:
        errors.extend(RowError(line, e.field, e.message) for e in err.errors)
        return None
    if ref is None or owner is None:
        return None
    return _Row(line, ref, kind, owner, data, existing)


def _base_data(existing: Listing | None, kind: str) -> dict[str, Any]:
    """What the row's columns are laid over: the listing's other fields (specs, deadline...) stay."""
    if existing is None or existing.kind != kind:
        return {}
    revision = existing.pending_revision
    if revision is not None:
        return fields.from_json(kind, revision.data)
    return fields.read(existing)


def _apply(row: _Row, actor: Any, publish: bool, report: ImportReport, now: dt.datetime | None) -> Listing | None:
    """Write one checked row; a new draft is returned for the caller to audit with its batch."""
    def publish_now(listing: Listing) -> None:
        if now is not None and listing.published_at is None:
            listing.published_at = now
        services.publish(actor, listing)
        report.published += 1

    listing = row.existing
    if listing is None:
        listing = Listing(ref=row.ref, kind=row.kind, owner=row.owner, status=S.DRAFT, details={})
        fields.apply(listing, row.data)
        db.session.add(listing)
        report.created += 1
        if not publish:
            return listing
        _audit(actor, listing)  # the import first, then the publication
        publish_now(listing)
        return None
    current = fields.read(listing)
    revision = listing.pending_revision
    if listing.status == S.PUBLISHED:
        if publish:
            if fields.same(row.data, current) and revision is None:
                report.unchanged += 1
                return
            before = audit.snapshot(listing)
            fields.apply(listing, row.data)
            if revision is not None:  # the import decides; the owner's pending edit is superseded
                revision.status = RevisionStatus.WITHDRAWN
            _audit(actor, listing, before)
            publish_now(listing)
            report.updated += 1
            return
        proposed = fields.from_json(listing.kind, revision.data) if revision is not None else current
        if fields.same(row.data, proposed) and (revision is None or revision.status == RevisionStatus.PENDING):
            report.unchanged += 1
            return
        services._propose(actor, listing, row.data)
        report.revised += 1
        return
    changed = not fields.same(row.data, current)
    if changed:
        before = audit.snapshot(listing)
        fields.apply(listing, row.data)
        _audit(actor, listing, before)
        report.updated += 1
    if publish and listing.status in (S.DRAFT, S.RETURNED, S.SUBMITTED):
        publish_now(listing)
    elif not changed:
        report.unchanged += 1


def _audit(actor: Any, listing: Listing, before: dict[str, Any] | None = None) -> None:
    audit.record(actor, "listing.import", listing, before=before, after=audit.snapshot(listing))


# ---------------------------------------------------------------- export
EXPORT_COLUMNS = exports.fields(
    *FIELDS, kinds={"budget_cny": "money", "rate_cny_per_hour": "money"}, getters={"tags": exports.joined("tags")},
)


def export_rows(status: str | None = None) -> Iterator[dict[str, Any]]:
    """Listings in the import format, by ref; fields that do not apply to a kind are left out."""
    stmt = select(Listing).order_by(Listing.ref)
    if status:
        stmt = stmt.where(Listing.status == status)
    for listing in db.session.execute(stmt).scalars():
        row: dict[str, Any] = {
            "ref": listing.ref,
            "kind": listing.kind,
            "owner": listing.owner.ref,
            "title": listing.title,
            "description": listing.description,
            "tags": list(listing.tags or []),
            "track": listing.track,
        }
        if listing.kind == ListingKind.SCENARIO and listing.budget_cny is not None:
            row["budget_cny"] = f"{listing.budget_cny:.2f}"
        if listing.kind in RENTABLE_KINDS and listing.rate_cny_per_hour is not None:
            row["rate_cny_per_hour"] = f"{listing.rate_cny_per_hour:.2f}"
        if listing.kind == ListingKind.PUBLIC_DATA:
            row["open_mode"] = listing.open_mode or OpenMode.CONDITIONAL
        yield row


def export_table(status: str | None = None) -> exports.Table:
    return exports.Table("listings", EXPORT_COLUMNS, export_rows(status))
