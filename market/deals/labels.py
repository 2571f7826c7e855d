"""The words for deal and ledger enums: one table per model enum, translated where shown.

A status word belongs to its enum, not to its string: a completed booking was used (已使用) but a
completed contract is fulfilled (已履行). A rental has one name in deals and in the ledger.
"""

from __future__ import annotations

import enum
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from market.i18n import N_
from models.deals import (
    Bid,
    BidStatus,
    Booking,
    BookingStatus,
    Contract,
    ContractKind,
    ContractStatus,
    DataAccessMode,
    DataApplication,
    DataApplicationStatus,
)

LABELS: dict[type[enum.StrEnum], dict[str, str]] = {
    BidStatus: {
        BidStatus.SUBMITTED: N_("已提交"),
        BidStatus.SHORTLISTED: N_("入围"),
        BidStatus.AWARDED: N_("中标"),
        BidStatus.DECLINED: N_("未中标"),
        BidStatus.WITHDRAWN: N_("已撤回"),
    },
    BookingStatus: {
        BookingStatus.REQUESTED: N_("待审批"),
        BookingStatus.APPROVED: N_("已批准"),
        BookingStatus.REJECTED: N_("已拒绝"),
        BookingStatus.CANCELLED: N_("已取消"),
        BookingStatus.COMPLETED: N_("已使用"),
        BookingStatus.NO_SHOW: N_("爽约"),
    },
    DataApplicationStatus: {
        DataApplicationStatus.SUBMITTED: N_("已提交"),
        DataApplicationStatus.APPROVED: N_("已批准"),
        DataApplicationStatus.REJECTED: N_("已拒绝"),
        DataApplicationStatus.WITHDRAWN: N_("已撤回"),
    },
    ContractStatus: {
        ContractStatus.DRAFT: N_("草稿"),
        ContractStatus.ACTIVE: N_("生效"),
        ContractStatus.COMPLETED: N_("已履行"),
        ContractStatus.CANCELLED: N_("已取消"),
    },
    # contracts and ledger entries share these kinds (art. 7, 8, 13)
    ContractKind: {
        ContractKind.RENTAL: N_("仪器设施租用"),
        ContractKind.SCENARIO_CONTRACT: N_("场景合同"),
        ContractKind.DATA_ACCESS: N_("数据授权"),
    },
    DataAccessMode: {
        DataAccessMode.FRANCHISE: N_("特许开发"),
        DataAccessMode.AUTHORISED: N_("授权应用"),
        DataAccessMode.USE: N_("数据库使用"),
    },
}

STATUS_ENUM: dict[type, type[enum.StrEnum]] = {
    Bid: BidStatus,
    Booking: BookingStatus,
    DataApplication: DataApplicationStatus,
    Contract: ContractStatus,
}


def label(enum_type: type[enum.StrEnum], value: str | None) -> str:
    """The word for ``value`` of ``enum_type`` in the reader's language (the raw value if unknown)."""
    if value is None:
        return ""
    words = LABELS[enum_type].get(value)
    return _(words) if words else str(value)


def status_label(record: Any) -> str:
    """The status word of a bid, booking, data application or contract."""
    return label(STATUS_ENUM[type(record)], record.status)


def kind_label(kind: str | None) -> str:
    """A deal or ledger kind (rental, scenario contract, data access) or a data-access mode."""
    if kind in LABELS[DataAccessMode]:
        return label(DataAccessMode, kind)
    return label(ContractKind, kind)


def kind_name(kind: str | None) -> Any:
    """:func:`kind_label` as a generated-text parameter: stored untranslated, read in the reader's language."""
    table = LABELS[DataAccessMode] if kind in LABELS[DataAccessMode] else LABELS[ContractKind]
    return _l(table[kind]) if kind in table else (kind or "")
