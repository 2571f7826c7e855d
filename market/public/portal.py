"""The public home page as a portal: open resources by kind and track, the newest and most requested
listings, the policy in brief. Aggregates are computed in SQL and cached for a short time (TTL, per
locale) so the page renders fast for every anonymous visitor."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from flask import current_app
from sqlalchemy import func, literal, select, union_all

from market.extensions import db
from market.i18n import N_
from models.deals import Bid, Booking, DataApplication
from models.listings import Listing, ListingKind, ListingStatus

PER_KIND = 3  # newest / most requested listings shown per kind
KINDS = tuple(ListingKind)

# ---------------------------------------------------------------- policy in brief (POLICY.md)
ARTICLE_TITLES = {
    7: N_("第七条 开放创新资源"),
    8: N_("第八条 开放场景"),
    9: N_("第九条 场景对接"),
    13: N_("第十三条 公共数据开放"),
}
# plain words per rule id; %(rate)s and %(cap)s are filled from policy_brief.yaml
RULE_WORDS = {
    "art7_provider": N_("高校、院所和龙头企业向中小企业出租科研仪器、实验设施、中试基地和数据库：按年度租赁收入的 %(rate)s 补贴，最高 %(cap)s。"),
    "art7_renter": N_("租用这些资源的中小企业：按年度租赁支出的 %(rate)s 补贴，最高 %(cap)s。"),
    "art8_supplier": N_("中小企业承接龙头企业场景项目：按实际交易额的 %(rate)s 补贴，最高 %(cap)s。"),
    "art8_opener": N_("龙头企业向区内中小企业开放场景：一次性奖励，最高 %(cap)s。"),
    "art9_demo": N_("每年举办 %(events)s 场专题场景对接会、开放 %(scenarios)s 个以上场景；场景示范项目评级后最高支持 %(cap)s。"),
    "art13_data": N_("信用、医疗、教育、交通等公共数据开放清单：企业可申请特许开发或授权应用，优质增值项目经绩效评价给予支持。"),
}

_lock = threading.Lock()
_cache: dict[str, tuple[float, dict[str, Any]]] = {}


def policy_brief() -> list[dict[str, Any]]:
    """[{article, title, rules: [{id, text}]}] from policy_brief.yaml, in the reader's language."""
    from flask_babel import gettext as _

    data = yaml.safe_load((Path(__file__).with_name("policy_brief.yaml")).read_text(encoding="utf-8"))
    out = []
    for art in data["articles"]:
        rules = []
        for rule in art["rules"]:
            values = {
                "rate": f"{Decimal(rule['rate']) * 100:.0f}%" if "rate" in rule else "",
                "cap": _money_words(Decimal(rule["cap"])) if "cap" in rule else "",
                "events": str(rule.get("events_per_year", "")),
                "scenarios": str(rule.get("scenarios_per_year", "")),
            }
            rules.append({"id": rule["id"], "text": _(RULE_WORDS[rule["id"]], **values)})
        out.append({"article": art["article"], "title": _(ARTICLE_TITLES[art["article"]]), "rules": rules})
    return out


def _money_words(amount: Decimal) -> str:
    from flask_babel import get_locale

    if str(get_locale()).startswith("zh") and amount % 10000 == 0:
        return f"{amount / 10000:,.0f} 万元"
    return f"¥{amount:,.0f}"


# ---------------------------------------------------------------- aggregates
def _published():
    return Listing.status == ListingStatus.PUBLISHED


def counts_by(column) -> dict[str, int]:
    rows = db.session.execute(select(column, func.count()).where(_published()).group_by(column))
    return {k: n for k, n in rows}


def _card(row: Any, requests: int | None = None) -> dict[str, Any]:
    return {"ref": row.ref, "title": row.title, "track": row.track, "published_at": row.published_at,
            "requests": requests}


def newest_by_kind() -> dict[str, list[dict[str, Any]]]:
    out = {}
    for kind in KINDS:
        rows = db.session.execute(
            select(Listing.ref, Listing.title, Listing.track, Listing.published_at)
            .where(_published(), Listing.kind == kind)
            .order_by(Listing.published_at.desc().nulls_last(), Listing.id.desc()).limit(PER_KIND)
        ).all()
        out[str(kind)] = [_card(r) for r in rows]
    return out


def most_requested_by_kind() -> dict[str, list[dict[str, Any]]]:
    """Requests = bids + bookings + data applications on the listing (any status)."""
    requests = union_all(
        select(Bid.listing_id.label("listing_id"), literal(1).label("n")),
        select(Booking.listing_id.label("listing_id"), literal(1).label("n")),
        select(DataApplication.listing_id.label("listing_id"), literal(1).label("n")),
    ).subquery()
    per_listing = (
        select(requests.c.listing_id, func.count().label("requests")).group_by(requests.c.listing_id).subquery()
    )
    out = {}
    for kind in KINDS:
        rows = db.session.execute(
            select(Listing.ref, Listing.title, Listing.track, Listing.published_at, per_listing.c.requests)
            .join(per_listing, per_listing.c.listing_id == Listing.id)
            .where(_published(), Listing.kind == kind)
            .order_by(per_listing.c.requests.desc(), Listing.published_at.desc().nulls_last(), Listing.id.desc())
            .limit(PER_KIND)
        ).all()
        out[str(kind)] = [_card(r, r.requests) for r in rows]
    return out


def upcoming_events() -> list[dict[str, Any]]:
    """HOOK for the events issue: upcoming matchmaking events (art. 9). No events model exists yet,
    so there is nothing to show; when one lands, return [{title, starts_at, url}] here."""
    return []


def compute() -> dict[str, Any]:
    by_kind = counts_by(Listing.kind)
    return {
        "by_kind": {str(k): by_kind.get(str(k), 0) for k in KINDS},
        "by_track": dict(sorted(counts_by(Listing.track).items(), key=lambda kv: -kv[1])),
        "total": sum(by_kind.values()),
        "newest": newest_by_kind(),
        "most_requested": most_requested_by_kind(),
        "events": upcoming_events(),
        "policy": policy_brief(),
    }


def home_data(locale: str) -> dict[str, Any]:
    """The portal's aggregates, from a small cache (HOME_CACHE_TTL seconds, per locale)."""
    ttl = current_app.config.get("HOME_CACHE_TTL", 60)
    key = f"{current_app.config.get('SQLALCHEMY_DATABASE_URI')}|{locale}"
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit and hit[0] > now:
            return hit[1]
    data = compute()
    with _lock:
        _cache[key] = (now + ttl, data)
    return data


def clear_cache() -> None:
    with _lock:
        _cache.clear()
