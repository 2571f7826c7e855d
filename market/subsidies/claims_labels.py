"""The words for claim, notice and objection statuses, the rules' short names and the engine's reasons and
choices: one table, translated where shown."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from market.i18n import N_
from models.claims import ClaimStatus, NoticeStatus, ObjectionStatus

from .rules import CHOICE_WORDS, EVIDENCE_WORDS, REASON_WORDS, choice_kind, choice_values

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

# The policy's clauses as parameters.yaml quotes them (the data file stays their source), marked here so that an
# English reader gets POLICY.md's working translation under the Chinese original; tests/unit/test_translations.py
# checks that every clause of the file is listed.
CLAUSE_WORDS = (
    N_("推动高等院校、科研院所、龙头企业等向中小企业开放科研仪器、实验设施、中试小试基地、数据库等基础创新资源,"
       "对提供单位，按出租年收入的10%给予最高1000万元补贴"),
    N_("对租用单位，按年租用支出的50%给予最高20万元补贴"),
    N_("对承接龙头企业产品和技术服务项目的企业，按照实际交易额的5%，给予中小微企业最高不超过100万元的资金扶持"),
    N_("对在药物研发、卫星通信、新型显示等方向为区内中小微企业开放场景的龙头企业，给予最高100万元的一次性奖励"),
    N_("组织场景示范项目申报，根据项目的技术创新性、示范效果、复制推广性、项目规模等情况进行定档评级，给予示范项目给予最高50万元补贴"),
    N_("对公共数据增值开发优质项目，通过政府购买服务、绩效评价奖励等方式给予补助"),
    N_("本政策自发布之日起30日后施行，符合同类政策事项，可按最优执行，但不重复执行。"),
)


def clause_translation(text: str) -> str:
    """The working translation of a quoted clause for a reader of another language ("" in Chinese, or when the
    catalogue has none): the Chinese original stays what is quoted."""
    from flask_babel import get_locale

    if str(get_locale() or "zh").startswith("zh"):
        return ""
    translated = _(text)
    return translated if translated != text else ""


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


# ---------------------------------------------------------------- the engine's reasons, in the reader's language
_EVIDENCE_BY_WORDS = {words: code for code, words in EVIDENCE_WORDS.items()}
_REASON_BY_WORDS = {words: code for code, words in REASON_WORDS.items()}


def exclusion_words(reasons: Sequence[str], missing: Sequence[str] = (), detail: str = "") -> str:
    """Why an entry earns nothing, from the engine's codes: each reason's words, the first followed by the missing
    evidence (by its codes) or by its detail (a declared subsidy's source or a rule id: data, shown as typed)."""
    words = []
    for n, code in enumerate(reasons):
        text = _(REASON_WORDS.get(code, code))
        if n == 0 and missing:
            text += _("：") + _("、").join(_(EVIDENCE_WORDS.get(m, m)) for m in missing)
        elif n == 0 and detail:
            text += _("：") + detail
        words.append(text)
    return _("；").join(words)


def stored_exclusion_words(e: Mapping[str, Any]) -> str:
    """:func:`exclusion_words` for an exclusion frozen in a claim's snapshot. Snapshots before the codes were kept
    hold the contract code and the Chinese message; their missing evidence is read back from the message's words."""
    if "codes" in e:
        return exclusion_words(e["codes"], e.get("missing", ()), e.get("detail", ""))
    head, _sep, detail = str(e.get("message", "")).partition("：")
    code = _REASON_BY_WORDS.get(head, e.get("reason", ""))
    if code == "missing_evidence" and detail:
        found = [_EVIDENCE_BY_WORDS.get(w) for w in detail.split("、")]
        if all(found):
            return exclusion_words([code], found)  # type: ignore[arg-type]
    return exclusion_words([code], (), detail)


def choice_words(ref: str, winner: str, ours: Decimal, other: Decimal, source: str) -> str:
    """Why a best-of choice (interpretation 3) went as it did, in the reader's language."""
    return _(CHOICE_WORDS[choice_kind(ref, winner, other)], **choice_values(winner, ours, other, source))


def stored_choice_words(c: Mapping[str, Any]) -> str:
    """:func:`choice_words` for a choice frozen in a claim's snapshot (its fields are enough, old snapshots too)."""
    return choice_words(c.get("ref") or "", c["winner"], Decimal(c["ours_cny"]), Decimal(c["other_cny"]),
                        c.get("source") or "")
