"""Listing lifecycle: draft → submitted → published | returned → closed / archived (issue 4).

The owner's staff (``provider_member`` / ``org_admin`` of the owning organisation) write and submit;
a district reviewer publishes or returns. Only verified organisations of a fitting kind publish
(CONTRACT.md, POLICY.md art. 7, 8, 13). An edit to a published listing becomes a pending
:class:`ListingRevision`; the published text stays live until a reviewer approves it.

Every change is audited and, when it changes what is public, queued for the search index in the
same transaction (``market.search.outbox.enqueue``).
"""

from __future__ import annotations

import re
import zlib
from typing import Any, BinaryIO

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, text, update

from market import audit, evidence
from market.deals.common import serialise_writes
from market.errors import Conflict, NotFound, PermissionDenied, ValidationError
from market.extensions import db
from market.links import path_for
from market.notifications.services import district_staff, notify, org_admins
from market.orgs.services import require_verified
from market.permissions import can, require
from market.search.outbox import enqueue
from models.base import utcnow
from models.listings import (
    Listing,
    ListingAttachment,
    ListingKind,
    ListingRevision,
    ListingStatus,
    RevisionStatus,
)
from models.organisations import Organisation, OrgKind
from models.users import Role

from . import fields, markup

S = ListingStatus
REF_PREFIX = {
    ListingKind.SCENARIO: "S",
    ListingKind.INSTRUMENT: "H",
    ListingKind.FACILITY: "F",
    ListingKind.PILOT_BASE: "P",
    ListingKind.DATABASE: "D",
    ListingKind.PUBLIC_DATA: "G",
}
ORG_KIND_LABELS = {
    OrgKind.LEADING_FIRM: _l("龙头企业"),
    OrgKind.UNIVERSITY: _l("高校"),
    OrgKind.INSTITUTE: _l("科研院所"),
    OrgKind.GOVERNMENT: _l("政府部门"),
    OrgKind.SME: _l("中小微企业"),
    OrgKind.OTHER: _l("其他机构"),
}
ATTACHMENT_TYPES = frozenset({"pdf", "png", "jpg"})


# ---------------------------------------------------------------- checks
def owner_kind_error(org: Organisation, kind: str) -> str | None:
    """Why ``org`` may not own a listing of ``kind`` (CONTRACT.md), or None."""
    if kind not in fields.OWNER_KINDS:
        return _("不是有效的条目类型。")
    if org.kind not in fields.OWNER_KINDS[kind]:
        return _(
            "%(org)s（%(org_kind)s）不能发布“%(kind)s”类条目。",
            org=org.name,
            org_kind=ORG_KIND_LABELS.get(org.kind, org.kind),
            kind=fields.KIND_LABELS[kind],
        )
    return None


def check_owner_kind(org: Organisation, kind: str) -> None:
    message = owner_kind_error(org, kind)
    if message:
        raise ValidationError(message, "kind")


def allowed_kinds(org: Organisation | None) -> list[str]:
    if org is None:
        return []
    return [k for k in ListingKind if org.kind in fields.OWNER_KINDS[k]]


def visible_to(user: Any, listing: Listing) -> bool:
    """Published listings are public; anything else only to its organisation and district staff."""
    return listing.is_public or can(user, "listing.view_unpublished", listing)


def _check_deadline(new: dict[str, Any], old: dict[str, Any] | None) -> None:
    deadline = new.get("deadline")
    if deadline is None or (old is not None and old.get("deadline") == deadline):
        return
    if deadline <= utcnow():
        raise ValidationError(_("截止时间必须晚于当前时间。"), "deadline")


def _serialise_ref_allocation(kind: str) -> None:
    """Until this transaction ends, nobody else allocates a ref of ``kind``'s prefix.

    ``next_ref`` reads the highest ref and adds one: two creations at once read the same one, and
    the second insert broke ``UNIQUE(ref)`` (a 500). PostgreSQL: a transaction-scoped advisory lock
    per prefix (released at commit, after which the next reader sees the new ref). SQLite: the
    database's write lock, taken up front (``BEGIN IMMEDIATE``, as bookings and the ledger do).
    """
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        key = zlib.crc32(f"listing.ref:{REF_PREFIX[kind]}".encode())
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    else:
        serialise_writes()


def next_ref(kind: str) -> str:
    prefix = REF_PREFIX[kind]
    refs = db.session.execute(select(Listing.ref).where(Listing.ref.like(f"{prefix}%"))).scalars()
    numbers = [int(m.group(1)) for r in refs if (m := re.fullmatch(rf"{prefix}(\d+)", r))]
    return f"{prefix}{(max(numbers, default=0) + 1):04d}"


# ---------------------------------------------------------------- queries
def get(ref: str) -> Listing:
    listing = db.session.execute(select(Listing).where(Listing.ref == ref)).scalar_one_or_none()
    if listing is None:
        raise NotFound(_("找不到条目 %(ref)s。", ref=ref))
    return listing


def get_visible(user: Any, ref: str) -> Listing:
    """The listing if ``user`` may see it; NotFound otherwise (a draft's existence is not revealed)."""
    listing = get(ref)
    if not visible_to(user, listing):
        raise NotFound(_("找不到条目 %(ref)s。", ref=ref))
    return listing


def org_listings_query(org_id: int, status: str | None = None):
    stmt = select(Listing).where(Listing.owner_id == org_id)
    if status:
        stmt = stmt.where(Listing.status == status)
    return stmt.order_by(Listing.updated_at.desc(), Listing.id.desc())


def published_for_org(org_id: int, limit: int = 50) -> list[Listing]:
    stmt = (
        select(Listing)
        .where(Listing.owner_id == org_id, Listing.status == S.PUBLISHED)
        .order_by(Listing.published_at.desc(), Listing.id.desc())
        .limit(limit)
    )
    return list(db.session.execute(stmt).scalars())


def public_query(kind: str | None = None, track: str | None = None):
    stmt = select(Listing).where(Listing.status == S.PUBLISHED)
    if kind:
        stmt = stmt.where(Listing.kind == kind)
    if track:
        stmt = stmt.where(Listing.track == track)
    return stmt.order_by(Listing.published_at.desc(), Listing.id.desc())


def review_queue() -> list[Listing]:
    """Submitted listings and published listings with a pending revision, oldest first."""
    pending = select(ListingRevision.listing_id).where(ListingRevision.status == RevisionStatus.PENDING)
    stmt = (
        select(Listing)
        .where(or_(Listing.status == S.SUBMITTED, Listing.id.in_(pending)))
        .order_by(Listing.submitted_at.asc(), Listing.id.asc())
    )
    return list(db.session.execute(stmt).scalars())


def _lock(listing: Listing) -> None:
    """Re-read the row FOR UPDATE (PostgreSQL) so two reviewers cannot both act on one submission."""
    if listing.id is not None:
        db.session.refresh(listing, with_for_update=True)


# ---------------------------------------------------------------- owner actions
def create(user: Any, kind: str, raw: dict[str, Any], org: Organisation | None = None) -> Listing:
    org = org or user.organisation
    if org is None:
        raise PermissionDenied(_("您不属于任何机构，不能发布条目。"))
    require(user, "listing.manage", org)
    check_owner_kind(org, kind)
    data = fields.clean(kind, raw)
    _check_deadline(data, None)
    _serialise_ref_allocation(kind)
    listing = Listing(ref=next_ref(kind), kind=kind, owner=org, status=S.DRAFT, details={})
    fields.apply(listing, data)
    db.session.add(listing)
    audit.record(user, "listing.create", listing, after=audit.snapshot(listing))
    db.session.flush()
    return listing


def edit(user: Any, listing: Listing, raw: dict[str, Any]) -> ListingRevision | None:
    """Change a listing. A draft or returned listing changes at once; a published one gets a
    pending revision (returned, so the caller can say so) and stays as it is until approved."""
    require(user, "listing.manage", listing)
    _lock(listing)
    data = fields.clean(listing.kind, raw)
    current = fields.read(listing)
    _check_deadline(data, current)
    if listing.status in (S.DRAFT, S.RETURNED):
        before = audit.snapshot(listing)
        fields.apply(listing, data)
        audit.record(user, "listing.edit", listing, before=before, after=audit.snapshot(listing))
        db.session.flush()
        return None
    if listing.status == S.SUBMITTED:
        raise Conflict(_("条目正在审核中，不能修改；如需修改请先撤回。"))
    if listing.status != S.PUBLISHED:
        raise Conflict(_("已关闭或已归档的条目不能修改。"))
    revision = listing.pending_revision
    if revision is None and fields.same(data, current):
        raise ValidationError(_("内容没有变化。"))
    revision = _propose(user, listing, data)
    db.session.flush()
    return revision


def _propose(user: Any, listing: Listing, data: dict[str, Any]) -> ListingRevision:
    """Create or replace the pending revision of a published listing."""
    revision = listing.pending_revision
    if revision is None:
        revision = ListingRevision(listing=listing, created_by_id=getattr(user, "id", None))
        db.session.add(revision)
    before = {"status": revision.status, "data": revision.data} if revision.id else None
    revision.data = fields.to_json(data)
    revision.description_html = markup.render(data.get("description"))
    revision.status = RevisionStatus.PENDING
    revision.comment = None
    listing.submitted_at = utcnow()
    audit.record(
        user, "listing.revise", listing, before=before, after={"revision": revision.data},
    )
    _tell_reviewers(listing, _l("条目修订待审核：%(title)s", title=listing.title))
    return revision


def submit(user: Any, listing: Listing) -> None:
    require(user, "listing.manage", listing)
    _lock(listing)
    if listing.status not in (S.DRAFT, S.RETURNED):
        raise Conflict(_("只有草稿或已退回的条目可以提交审核。"))
    check_owner_kind(listing.owner, listing.kind)
    require_verified(listing.owner)
    fields.clean(listing.kind, fields.to_json(fields.read(listing)))  # still valid as a whole
    before = audit.snapshot(listing)
    listing.status = S.SUBMITTED
    listing.submitted_at = utcnow()
    audit.record(user, "listing.submit", listing, before=before, after=audit.snapshot(listing))
    _tell_reviewers(listing, _l("新条目待审核：%(title)s", title=listing.title))
    db.session.flush()


def withdraw(user: Any, listing: Listing) -> None:
    """Take a submitted listing (or a pending revision) back out of the review queue."""
    require(user, "listing.manage", listing)
    _lock(listing)
    revision = listing.pending_revision
    if listing.status == S.SUBMITTED:
        before = audit.snapshot(listing)
        listing.status = S.DRAFT
        audit.record(user, "listing.withdraw", listing, before=before, after=audit.snapshot(listing))
    elif listing.status == S.PUBLISHED and revision is not None:
        revision.status = RevisionStatus.WITHDRAWN
        _drop_pending_attachments(listing)
        audit.record(user, "listing.revision_withdraw", listing, before={"revision": revision.data})
    else:
        raise Conflict(_("没有可撤回的审核申请。"))
    db.session.flush()


def close(user: Any, listing: Listing) -> None:
    """A published listing stops taking new applications and leaves the search index."""
    require(user, "listing.close", listing)
    _lock(listing)
    if listing.status != S.PUBLISHED:
        raise Conflict(_("只有已发布的条目可以关闭。"))
    before = audit.snapshot(listing)
    listing.status = S.CLOSED
    listing.closed_at = utcnow()
    _end_revision(listing)
    audit.record(user, "listing.close", listing, before=before, after=audit.snapshot(listing))
    enqueue(listing.id, op="delete")
    db.session.flush()


def archive(user: Any, listing: Listing) -> None:
    require(user, "listing.close", listing)
    _lock(listing)
    if listing.status in (S.ARCHIVED, S.SUBMITTED):
        raise Conflict(_("待审核或已归档的条目不能归档。"))
    was_public = listing.is_public
    before = audit.snapshot(listing)
    listing.status = S.ARCHIVED
    listing.closed_at = listing.closed_at or utcnow()
    _end_revision(listing)
    audit.record(user, "listing.archive", listing, before=before, after=audit.snapshot(listing))
    if was_public:
        enqueue(listing.id, op="delete")
    db.session.flush()


def _end_revision(listing: Listing) -> None:
    revision = listing.pending_revision
    if revision is not None:
        revision.status = RevisionStatus.WITHDRAWN
        _drop_pending_attachments(listing)


# ---------------------------------------------------------------- reviewer actions
def review(user: Any, listing: Listing, decision: str, comment: str | None = None) -> None:
    """Publish or return a submitted listing, or approve or return a published listing's revision."""
    require(user, "listing.review", listing)
    _lock(listing)
    comment = (comment or "").strip() or None
    if decision not in ("publish", "return"):
        raise ValidationError(_("请选择发布或退回。"), "decision")
    if decision == "return" and not comment:
        raise ValidationError(_("退回时必须填写审核意见，告诉发布方需要修改什么。"), "comment")
    if comment and len(comment) > 2000:
        raise ValidationError(_("审核意见不能超过 2000 个字符。"), "comment")
    if listing.status == S.SUBMITTED:
        if decision == "publish":
            publish(user, listing, comment)
        else:
            _return(user, listing, comment)
    elif listing.status == S.PUBLISHED and _pending(listing) is not None:
        if decision == "publish":
            approve_revision(user, listing, comment)
        else:
            _return_revision(user, listing, comment)
    else:
        raise Conflict(_("这个条目没有待审核的内容。"))
    db.session.flush()


def _pending(listing: Listing) -> ListingRevision | None:
    revision = listing.pending_revision
    return revision if revision is not None and revision.status == RevisionStatus.PENDING else None


def publish(actor: Any, listing: Listing, comment: str | None = None) -> None:
    """Make a listing public: checks owner kind and verification (review and the importer call it)."""
    check_owner_kind(listing.owner, listing.kind)
    require_verified(listing.owner)
    before = audit.snapshot(listing)
    listing.status = S.PUBLISHED
    listing.published_at = listing.published_at or utcnow()
    listing.review_comment = comment
    listing.closed_at = None
    _settle_attachments(listing)
    audit.record(actor, "listing.publish", listing, before=before, after=audit.snapshot(listing))
    enqueue(listing.id, op="upsert")
    _tell_owner(listing, "listing.published", _l("条目已发布：%(title)s", title=listing.title), comment)


def _return(user: Any, listing: Listing, comment: str | None) -> None:
    before = audit.snapshot(listing)
    listing.status = S.RETURNED
    listing.review_comment = comment
    audit.record(user, "listing.return", listing, before=before, after=audit.snapshot(listing))
    _tell_owner(listing, "listing.returned", _l("条目被退回修改：%(title)s", title=listing.title), comment)


def approve_revision(actor: Any, listing: Listing, comment: str | None = None) -> None:
    revision = listing.pending_revision
    assert revision is not None
    require_verified(listing.owner)
    data = fields.from_json(listing.kind, revision.data)
    before = audit.snapshot(listing)
    fields.apply(listing, data)
    revision.status = RevisionStatus.APPROVED
    revision.decided_by_id = getattr(actor, "id", None)
    revision.decided_at = utcnow()
    revision.comment = comment
    _settle_attachments(listing)
    audit.record(actor, "listing.revision_approve", listing, before=before, after=audit.snapshot(listing))
    enqueue(listing.id, op="upsert")
    _tell_owner(listing, "listing.published", _l("条目修订已通过并发布：%(title)s", title=listing.title), comment)


def _return_revision(user: Any, listing: Listing, comment: str | None) -> None:
    revision = listing.pending_revision
    assert revision is not None
    revision.status = RevisionStatus.RETURNED
    revision.decided_by_id = user.id
    revision.decided_at = utcnow()
    revision.comment = comment
    audit.record(user, "listing.revision_return", listing, after={"comment": comment, "revision": revision.data})
    _tell_owner(listing, "listing.returned", _l("条目修订被退回：%(title)s", title=listing.title), comment)


def _settle_attachments(listing: Listing) -> None:
    for att in list(listing.attachments):
        if att.remove_requested:
            listing.attachments.remove(att)
        else:
            att.published = True


def _drop_pending_attachments(listing: Listing) -> None:
    """A withdrawn revision takes its attachment changes with it."""
    for att in list(listing.attachments):
        if not att.published:
            listing.attachments.remove(att)
        else:
            att.remove_requested = False


def _link(listing: Listing) -> str:
    return path_for("listings.detail", ref=listing.ref)


def _tell_owner(listing: Listing, kind: str, title: str, comment: str | None) -> None:
    body = _l("审核意见：%(c)s", c=comment) if comment else ""
    notify(org_admins(listing.owner_id), kind, title, body, _link(listing))


def _tell_reviewers(listing: Listing, title: str) -> None:
    link = path_for("listings.review_detail", ref=listing.ref)
    notify(district_staff(Role.DISTRICT_REVIEWER), "listing.submitted", title, listing.owner.name, link)


# ---------------------------------------------------------------- views and attachments
def record_view(user: Any, listing: Listing) -> bool:
    """Count a public view; the owner's own staff and district staff do not count."""
    if not listing.is_public:
        return False
    if getattr(user, "is_authenticated", False) and (
        user.organisation_id == listing.owner_id or user.role in (Role.DISTRICT_REVIEWER, Role.DISTRICT_ADMIN)
    ):
        return False
    # updated_at keeps its value: a view is not an edit (the owner's list is ordered by it; its onupdate would fire)
    db.session.execute(
        update(Listing).where(Listing.id == listing.id)
        .values(view_count=Listing.view_count + 1, updated_at=Listing.updated_at)
    )
    db.session.flush()
    return True


def add_attachment(user: Any, listing: Listing, stream: BinaryIO, filename: str) -> ListingAttachment:
    require(user, "listing.manage", listing)
    if listing.status in (S.CLOSED, S.ARCHIVED, S.SUBMITTED):
        raise Conflict(_("待审核、已关闭或已归档的条目不能修改附件。"))
    if len(listing.attachments) >= 10:
        raise ValidationError(_("每个条目最多 10 个附件。"), "file")
    stored = evidence.store(stream, filename, field="file", allowed=ATTACHMENT_TYPES)
    att = ListingAttachment(
        listing=listing, sha256=stored.sha256, filename=stored.filename, size=stored.size,
        file_kind=stored.kind, published=False, uploaded_by_id=user.id,
    )
    db.session.add(att)
    if listing.status == S.PUBLISHED:
        _propose(user, listing, _revision_base(listing))
    audit.record(user, "listing.attachment_add", listing, after={"file": att.filename, "sha256": att.sha256})
    db.session.flush()
    return att


def remove_attachment(user: Any, listing: Listing, attachment_id: int) -> None:
    require(user, "listing.manage", listing)
    if listing.status in (S.CLOSED, S.ARCHIVED, S.SUBMITTED):
        raise Conflict(_("待审核、已关闭或已归档的条目不能修改附件。"))
    att = next((a for a in listing.attachments if a.id == attachment_id), None)
    if att is None:
        raise NotFound(_("找不到附件。"))
    if listing.status == S.PUBLISHED and att.published:
        att.remove_requested = True
        _propose(user, listing, _revision_base(listing))
    else:
        listing.attachments.remove(att)
    audit.record(user, "listing.attachment_remove", listing, before={"file": att.filename, "sha256": att.sha256})
    db.session.flush()


def _revision_base(listing: Listing) -> dict[str, Any]:
    revision = listing.pending_revision
    if revision is not None:
        return fields.from_json(listing.kind, revision.data)
    return fields.read(listing)


def attachment_visible(user: Any, listing: Listing, att: ListingAttachment) -> bool:
    if can(user, "listing.view_unpublished", listing):
        return True
    return listing.is_public and att.published

