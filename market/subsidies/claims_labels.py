"""The words for claim, notice and objection statuses and the rules' short names: one table, translated where shown."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from market.i18n import N_
from models.claims import ClaimStatus, NoticeStatus, ObjectionStatus

CLAIM_STATUS: dict[str, str] = {
    ClaimStatus.FILED: N_("待审核"),
    ClaimStatus.APPROVED: N_("已核定"),
    ClaimStatus.REJECTED: N_("已驳回"),
    ClaimStatus.IN_NOTICE: N_("公示中"),
    ClaimStatus.NOTICED: N_("公示期满"),
    ClaimStatus.FINALISED: N_("已列入拨付名单"),
    ClaimStatus.PAID: N_("已拨付"),
    ClaimStatus.WITHDRAWN: N_("已撤回"),
}
NOTICE_STATUS: dict[str, str] = {NoticeStatus.OPEN: N_("公示中"), NoticeStatus.CLOSED: N_("已结束")}
OBJECTION_STATUS: dict[str, str] = {
    ObjectionStatus.OPEN: N_("待处理"),
    ObjectionStatus.UPHELD: N_("异议成立"),
    ObjectionStatus.DISMISSED: N_("异议不成立"),
}
RULE_NAMES: dict[str, str] = {
    "art7_provider": N_("第七条 开放创新资源（提供单位）"),
    "art7_renter": N_("第七条 开放创新资源（租用单位）"),
    "art8_supplier": N_("第八条 开放场景（承接项目的中小微企业）"),
    # decided by an admin, never claimed (listed on the budget view)
    "art8_opener": N_("第八条 开放场景（龙头企业一次性奖励）"),
    "art9_demo": N_("第九条 场景示范项目"),
    "art13_data": N_("第十三条 公共数据增值开发优质项目"),
}


def claim_status_label(status: str) -> str:
    return _(CLAIM_STATUS.get(status, status))


def notice_status_label(status: str) -> str:
    return _(NOTICE_STATUS.get(status, status))


def objection_status_label(status: str) -> str:
    return _(OBJECTION_STATUS.get(status, status))


def rule_label(rule: str) -> str:
    return _(RULE_NAMES[rule]) if rule in RULE_NAMES else rule


def rule_name(rule: str) -> Any:
    """The rule's name as a generated-text parameter (a notification stores it untranslated, its reader reads it in
    their language), not its code (art7_provider)."""
    return _l(RULE_NAMES[rule]) if rule in RULE_NAMES else rule
