"""Reading the audit log: filters in words, objects by name, a readable before/after diff, an export.

The words come from one table, market/admin/labels.py. Object names are resolved with one query per
object type per page (:func:`resolve_objects`). Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, String, cast, or_, select
from sqlalchemy.orm import joinedload

from market.domain.localtime import day_start, to_local
from models.audit import AuditEntry

from . import labels

LONG = 80  # characters: longer values are folded in a <details>


# ---------------------------------------------------------------- words
def action_label(code: str) -> str:
    """The action in the reader's language (the code itself only if it has no label)."""
    label = labels.ACTIONS.get(code)
    return _(label) if label else code


def field_label(key: str, object_type: str | None = None) -> str:
    label = labels.FIELDS_BY_TYPE.get(object_type or "", {}).get(key) or labels.FIELDS.get(key)
    return _(label) if label else key


def type_label(object_type: str) -> str:
    label = labels.OBJECT_TYPES.get(object_type)
    return _(label) if label else object_type


def actions_matching(text: str) -> list[str]:
    """Action codes whose label (in the reader's language and in Chinese) or code contains ``text``:
    typing 付款 finds 记录付款, 确认付款...; ``ledger.`` still finds every ledger action."""
    needle = text.strip().casefold()
    if not needle:
        return []
    return sorted(
        code for code, zh in labels.ACTIONS.items()
        if needle in _(zh).casefold() or needle in zh or needle in code
    )


# ---------------------------------------------------------------- the query
def entries_in_batches(stmt: Select, batch: int = 500):
    """The entries of ``stmt`` (newest first), read a page at a time by id: no server-side cursor is
    held open across a streamed download (the response outlives the view's transaction)."""
    from market.extensions import db

    last_id = None
    while True:
        page = stmt.order_by(None).order_by(AuditEntry.id.desc()).limit(batch)
        if last_id is not None:
            page = page.where(AuditEntry.id < last_id)
        rows = db.session.scalars(page).all()
        yield from rows
        if len(rows) < batch:
            return
        last_id = rows[-1].id


def audit_query(
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    organisation: str | None = None,
) -> Select:
    """Entries newest first. Dates are calendar days in Asia/Shanghai, both ends inclusive.

    ``action`` in words matches the label table (付款 = every payment action); an exact code or a
    code prefix ending in ``.`` (or ``*``) still works. ``organisation`` (a name, ref or USCC
    fragment) keeps the entries about that organisation, its listings, or done by its members.
    """
    stmt = select(AuditEntry)
    if actor:
        stmt = stmt.where(AuditEntry.actor_label.contains(actor.strip().lower(), autoescape=True))
    if action:
        action = action.strip()
        if action.endswith(("*", ".")):
            stmt = stmt.where(AuditEntry.action.startswith(action.rstrip("*"), autoescape=True))
        elif action in labels.ACTIONS or "." in action:
            stmt = stmt.where(AuditEntry.action == action)
        else:
            stmt = stmt.where(AuditEntry.action.in_(actions_matching(action) or ["-"]))
    if object_type:
        stmt = stmt.where(AuditEntry.object_type == object_type.strip())
    if object_id:
        stmt = stmt.where(AuditEntry.object_id == object_id.strip())
    if organisation:
        stmt = stmt.where(_about_organisation(organisation.strip()))
    if date_from:
        stmt = stmt.where(AuditEntry.at >= day_start(date_from))
    if date_to:
        stmt = stmt.where(AuditEntry.at < day_start(date_to + dt.timedelta(days=1)))
    return stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())


def _about_organisation(text: str):
    from models.listings import Listing
    from models.organisations import Organisation
    from models.users import User

    orgs = select(Organisation.id).where(or_(
        Organisation.name.contains(text, autoescape=True),
        Organisation.ref == text,
        Organisation.uscc == text.upper(),
    ))
    org_keys = select(cast(Organisation.id, String)).where(Organisation.id.in_(orgs))
    org_refs = select(Organisation.ref).where(Organisation.id.in_(orgs), Organisation.ref.is_not(None))
    listing_refs = select(Listing.ref).where(Listing.owner_id.in_(orgs))
    members = select(User.id).where(User.organisation_id.in_(orgs))
    return or_(
        AuditEntry.actor_id.in_(members),
        (AuditEntry.object_type == "organisation") & (AuditEntry.object_id.in_(org_keys) | AuditEntry.object_id.in_(org_refs)),
        (AuditEntry.object_type == "listing") & AuditEntry.object_id.in_(listing_refs),
    )


# ---------------------------------------------------------------- objects by name
@dataclass(frozen=True)
class ObjectRef:
    type_label: str
    name: str
    url: str | None = None


def _resolvers() -> dict[str, tuple[Any, Callable[[Any], str], Callable[[Any], str | None], bool]]:
    """object_type -> (model, name of a row, url of a row, keyed also by ref)."""
    from flask import url_for

    from models.deals import (
        Bid,
        BidMessage,
        BlockedPeriod,
        Booking,
        Contract,
        DataApplication,
        ResourceAvailability,
    )
    from models.ledger import LedgerEntry
    from models.listings import Listing
    from models.organisations import Organisation, RelatedPartyGroup
    from models.search import SavedSearch, SearchSynonym
    from models.users import ApiToken, User

    def listing_of(row: Any) -> str:
        return row.listing.title if getattr(row, "listing", None) is not None else ""

    return {
        "organisation": (Organisation, lambda o: o.name, lambda o: url_for("orgs.admin_detail", org_id=o.id), True),
        "user": (User, lambda u: _("%(name)s（%(email)s）", name=u.name, email=u.email), lambda u: None, False),
        "api_token": (ApiToken, lambda t: t.name, lambda t: None, False),
        "listing": (Listing, lambda x: x.title, lambda x: url_for("listings.detail", ref=x.ref), True),
        "bid": (Bid, listing_of, lambda b: url_for("deals.bid_detail", bid_id=b.id), False),
        "bid_message": (BidMessage, lambda m: "", lambda m: url_for("deals.bid_detail", bid_id=m.bid_id), False),
        "booking": (Booking, listing_of, lambda b: url_for("deals.booking_detail", booking_id=b.id), False),
        "resource_availability": (ResourceAvailability, listing_of, lambda a: None, False),
        "blocked_period": (BlockedPeriod, lambda b: "", lambda b: None, False),
        "data_application": (DataApplication, listing_of, lambda a: url_for("deals.application_detail", application_id=a.id), False),
        "contract": (Contract, lambda c: c.display_title, lambda c: url_for("deals.contract_detail", contract_id=c.id), False),
        "ledger_entry": (LedgerEntry, lambda e: e.ref, lambda e: url_for("ledger.entry", entry_id=e.id), True),
        "related_party_group": (RelatedPartyGroup, lambda g: g.name, lambda g: url_for("orgs.group_detail", group_id=g.id), False),
        "search_synonym": (SearchSynonym, lambda s: "", lambda s: None, False),
        "saved_search": (SavedSearch, lambda s: s.name, lambda s: None, False),
    }


def resolve_objects(entries: Iterable[AuditEntry]) -> dict[tuple[str, str], ObjectRef]:
    """(object_type, object_id) -> its name and link: one query per object type present. The people and
    organisations the entries' changes name by id are loaded here too (``_prefetch_names``): two queries."""
    from market.extensions import db

    entries = list(entries)
    _prefetch_names(entries)
    wanted: dict[str, set[str]] = defaultdict(set)
    for e in entries:
        if e.object_id:
            wanted[e.object_type].add(e.object_id)
    resolvers = _resolvers()
    out: dict[tuple[str, str], ObjectRef] = {}
    for otype, keys in wanted.items():
        tlabel = type_label(otype)
        if otype not in resolvers:
            for k in keys:
                out[(otype, k)] = ObjectRef(tlabel, k)
            continue
        model, name_of, url_of, by_ref = resolvers[otype]
        ids = [int(k) for k in keys if k.isdigit()]
        conds = [model.id.in_(ids)] if ids else []
        if by_ref:
            conds.append(model.ref.in_(keys))
        stmt = select(model).where(or_(*conds))
        if hasattr(model, "listing"):  # the name is the listing's title: fetched in the same query
            stmt = stmt.options(joinedload(model.listing))
        rows = db.session.scalars(stmt).unique().all() if conds else []
        for row in rows:
            ref = ObjectRef(tlabel, name_of(row) or f"{_('编号')} {row.id}", url_of(row))
            out[(otype, str(row.id))] = ref
            if by_ref and getattr(row, "ref", None):
                out[(otype, row.ref)] = ref
        for k in keys:  # deleted objects keep their key
            out.setdefault((otype, k), ObjectRef(tlabel, f"{_('编号')} {k}"))
    return out


# ---------------------------------------------------------------- the diff
@dataclass
class Value:
    text: str = ""
    table: list[tuple[str, str]] = field(default_factory=list)  # JSON shown as a small table
    long: bool = False

    @property
    def empty(self) -> bool:
        return not self.text and not self.table


@dataclass
class DiffRow:
    key: str
    before: Any
    after: Any
    status: str  # added | removed | changed | same
    label: str = ""


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[DiffRow]:
    """One row per key of before ∪ after; changed rows first, unchanged ones last (raw strings).

    For a creation (no ``before``) the empty fields are left out.
    """
    created = before is None
    before, after = before or {}, after or {}
    rows = []
    for key in sorted(set(before) | set(after)):
        if created and after.get(key) in (None, "", [], {}):
            continue  # a new record's empty fields say nothing
        if key not in before:
            status = "added"
        elif key not in after:
            status = "removed"
        elif before[key] != after[key]:
            status = "changed"
        else:
            status = "same"
        rows.append(DiffRow(key, _show(before.get(key)) if key in before else "", _show(after.get(key)) if key in after else "", status))
    rows.sort(key=lambda r: r.status == "same")
    return rows


def _iso_local(text: str) -> str | None:
    if len(text) < 19 or text[4] != "-" or text[10] not in "T ":
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        return None
    return to_local(value).strftime("%Y-%m-%d %H:%M")


# id fields that name a user or an organisation: shown by name, not by number ("审批人: — → 3")
ORG_ID_KEYS = frozenset({"organisation_id", "payer_id", "payee_id", "owner_id", "bidder_id", "renter_id", "applicant_id",
                         "from_org_id", "to_org_id", "beneficiary_id"})


def _is_user_key(key: str) -> bool:
    return key == "user_id" or key.endswith("_by_id")


def _prefetch_names(entries: list[AuditEntry]) -> None:
    """Load, in one query per kind, every user and organisation the entries' before/after name by id, so that
    rendering a page of changes asks the database nothing more (``_name_of`` finds them)."""
    from flask import g

    from market.extensions import db
    from models.organisations import Organisation
    from models.users import User

    wanted: dict[str, set[int]] = {"user": set(), "org": set()}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(v, int) and not isinstance(v, bool) and (k in ORG_ID_KEYS or _is_user_key(k)):
                    wanted["org" if k in ORG_ID_KEYS else "user"].add(v)
                else:
                    walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for e in entries:
        walk(e.before)
        walk(e.after)
    names = g.setdefault("audit_names", {})
    for kind, model in (("user", User), ("org", Organisation)):
        ids = wanted[kind] - {i for k, i in names if k == kind}
        if not ids:
            continue
        found = {row.id: row for row in db.session.scalars(select(model).where(model.id.in_(ids)))}
        for i in ids:
            row = found.get(i)
            names[kind, i] = None if row is None else (row.name or row.email) if kind == "user" else row.name


def _name_of(kind: str, ident: int) -> str | None:
    """A user's or an organisation's name (``_prefetch_names`` loaded them for a page; a stray one is looked up once);
    None for an id that names no one any more."""
    from flask import g

    from market.extensions import db
    from models.organisations import Organisation
    from models.users import User

    names = g.setdefault("audit_names", {})
    if (kind, ident) not in names:
        row = db.session.get(User if kind == "user" else Organisation, ident)
        names[kind, ident] = None if row is None else (row.name or row.email) if kind == "user" else row.name
    return names[kind, ident]


def _scalar(key: str, value: Any, object_type: str) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, float):  # a computed weight: 22.249999999999996 reads 22.25
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    if isinstance(value, int) and (key in ORG_ID_KEYS or _is_user_key(key)):
        name = _name_of("org" if key in ORG_ID_KEYS else "user", value)
        return f"{name} (#{value})" if name else f"#{value}"
    if isinstance(value, str):
        return _iso_local(value) or value_word(object_type, key, value)
    return str(value)


def render_value(key: str, value: Any, object_type: str = "-") -> Value:
    """A value as the reader sees it: words for codes, Beijing time for instants, JSON as a table."""
    if isinstance(value, dict):
        rows = [(field_label(k), _show_nested(k, v, object_type)) for k, v in value.items() if k not in labels.HIDDEN]
        return Value(table=rows)
    if isinstance(value, list):
        if all(isinstance(v, dict) for v in value) and value:
            rows = []
            for i, item in enumerate(value, 1):
                shown = _("；").join(f"{field_label(k)}: {_show_nested(k, v, object_type)}" for k, v in item.items() if k not in labels.HIDDEN)
                rows.append((str(i), shown))
            return Value(table=rows)
        text = _("、").join(_scalar(key, v, object_type) for v in value)
        return Value(text=text or "—", long=len(text) > LONG)
    text = _scalar(key, value, object_type)
    return Value(text=text, long=len(text) > LONG)


def _show_nested(key: str, value: Any, object_type: str) -> str:
    if isinstance(value, (dict, list)):
        return _("；").join(f"{field_label(k)}: {_scalar(k, v, object_type)}" for k, v in value.items()) if isinstance(value, dict) \
            else _("、").join(_scalar(key, v, object_type) for v in value)
    return _scalar(key, value, object_type)


def readable_diff(entry: AuditEntry) -> list[DiffRow]:
    """The changed fields only (a creation: its filled fields), labelled, internals hidden."""
    rows = []
    for r in diff(entry.before, entry.after):
        if r.status == "same" or r.key in labels.HIDDEN:
            continue
        b = (entry.before or {}).get(r.key)
        a = (entry.after or {}).get(r.key)
        rows.append(DiffRow(
            r.key,
            render_value(r.key, b, entry.object_type) if r.status in ("changed", "removed") else None,
            render_value(r.key, a, entry.object_type) if r.status in ("changed", "added") else None,
            r.status,
            field_label(r.key, entry.object_type),
        ))
    return rows


def value_word(object_type: str, key: str, value: str) -> str:
    """Words for enum values (status, kind, track, role...) where a label table exists."""
    table = _value_tables(object_type).get(key)
    if table and value in table:
        return str(table[value])
    return value


def _value_tables(object_type: str) -> dict[str, dict[str, Any]]:
    from market.auth import ROLE_LABELS
    from market.deals import labels as deal_labels
    from market.events import labels as event_labels
    from market.listings import fields as lf
    from market.orgs import labels as ol
    from market.subsidies import claims_labels as claim_labels
    from models import deals as dm

    common: dict[str, dict[str, Any]] = {"role": ROLE_LABELS, "track": lf.TRACK_LABELS, "size": ol.SIZE_LABELS,
                                         "verification_status": ol.STATUS_LABELS, "scenario_mode": lf.MODE_LABELS,
                                         "data_domain": lf.DOMAIN_LABELS, "open_mode": lf.OPEN_MODE_LABELS}

    def words(table: dict[Any, str]) -> dict[str, str]:
        return {str(k): _(v) for k, v in table.items()}

    def enum_table(enum_type: Any) -> dict[str, str]:
        return {str(k): _(v) for k, v in deal_labels.LABELS[enum_type].items()}

    per_type: dict[str, dict[str, dict[str, Any]]] = {
        "listing": {"status": lf.STATUS_LABELS, "kind": lf.KIND_LABELS, "operation": lf.OPERATION_LABELS},
        "organisation": {"kind": ol.KIND_LABELS, "size_source": ol.SIZE_SOURCE_LABELS},
        "bid": {"status": enum_table(dm.BidStatus)},
        "booking": {"status": enum_table(dm.BookingStatus)},
        "data_application": {"status": enum_table(dm.DataApplicationStatus), "mode": enum_table(dm.DataAccessMode)},
        "contract": {"status": enum_table(dm.ContractStatus), "kind": enum_table(dm.ContractKind)},
        "ledger_entry": {"kind": enum_table(dm.ContractKind)},
        "subsidy_claim": {"status": {k: _(v) for k, v in claim_labels.CLAIM_STATUS.items()},
                          "rule": {k: _(v) for k, v in claim_labels.RULE_NAMES.items()}},
        "reward_decision": {"rule": {k: _(v) for k, v in claim_labels.RULE_NAMES.items()}},
        "event": {"status": words(event_labels.EVENT_STATUS), "agenda_method": words(event_labels.AGENDA_METHOD)},
        "meeting_request": {"status": words(event_labels.REQUEST_STATUS)},
        "event_outcome": {"result": words(event_labels.OUTCOME)},
        "demo_declaration": {"status": words(event_labels.DECLARATION_STATUS)},
    }
    return {**common, **per_type.get(object_type, {})}


# ---------------------------------------------------------------- the export
def export_rows(entries: Iterable[AuditEntry], batch: int = 500) -> Iterable[dict[str, Any]]:
    """Rows for market/exports.py, names resolved one query per type per batch."""
    chunk: list[AuditEntry] = []

    def flush() -> Iterable[dict[str, Any]]:
        names = resolve_objects(chunk)
        for e in chunk:
            obj = names.get((e.object_type, e.object_id or ""))
            changes = _("；").join(
                f"{r.label}: {_plain(r.before)} → {_plain(r.after)}" for r in readable_diff(e)
            )
            yield {
                "at": e.at,
                "actor": e.actor_label,
                "action": action_label(e.action),
                "object": f"{obj.type_label} {obj.name}" if obj else type_label(e.object_type),
                "changes": changes,
            }

    for e in entries:
        chunk.append(e)
        if len(chunk) >= batch:
            yield from flush()
            chunk = []
    if chunk:
        yield from flush()


def _plain(value: Value | None) -> str:
    if value is None:
        return "—"
    if value.table:
        return _("，").join(f"{k}: {v}" for k, v in value.table)
    return value.text
