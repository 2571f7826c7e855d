"""Display labels for organisation codes (Chinese source strings, translated by the catalogue)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from market.i18n import N_

KIND_LABELS = {
    "leading_firm": _l("龙头企业"),
    "university": _l("高校"),
    "institute": _l("科研院所"),
    "government": _l("政府部门"),
    "sme": _l("中小微企业"),
    "other": _l("其他"),
}
SIZE_LABELS = {"large": _l("大型"), "medium": _l("中型"), "small": _l("小型"), "micro": _l("微型")}
STATUS_LABELS = {"pending": _l("待审核"), "verified": _l("已认证"), "rejected": _l("未通过")}
SIZE_SOURCE_LABELS = {"classified": _l("按标准划型"), "declared": _l("自行申报"), "override": _l("人工调整")}
BASIS_LABELS = {"group": _l("同一集团"), "shareholding": _l("股权关联"), "declared": _l("自行申报")}
EVENT_LABELS = {
    "registered": _l("注册"),
    "imported": _l("批量导入（新建）"),
    "import_updated": _l("批量导入（更新）"),
    "verified": _l("审核通过"),
    "rejected": _l("审核未通过"),
    "revoked": _l("撤销认证"),
    "resubmitted": _l("重新提交审核"),
    "profile_updated": _l("资料更新"),
    "reclassified": _l("重新划型"),
    "size_override": _l("人工调整规模"),
    "size_override_cleared": _l("取消人工调整"),
    "group_joined": _l("加入关联方组"),
    "group_left": _l("移出关联方组"),
}
FIELD_LABELS = {
    "name": _l("名称"),
    "english_name": _l("英文名称"),
    "uscc": _l("统一社会信用代码"),
    "kind": _l("机构类型"),
    "address": _l("注册地址"),
    "in_district": _l("注册在长春新区"),
    "industry": _l("行业"),
    "employees": _l("从业人员"),
    "revenue_cny": _l("营业收入"),
    "assets_cny": _l("资产总额"),
    "size": _l("规模"),
    "group": _l("关联方组"),
    "external_subsidies": _l("其他政策补贴"),
    "verified": _l("认证"),
    "licence": _l("营业执照"),
}

# The industry names of sme_classification.yaml (the data file stays their source), marked here for the
# catalogue; tests/unit/test_translations.py checks that every name in the file is listed.
INDUSTRY_NAMES = (
    N_("农、林、牧、渔业"),
    N_("工业（采矿业，制造业，电力、热力、燃气及水生产和供应业）"),
    N_("建筑业"),
    N_("批发业"),
    N_("零售业"),
    N_("交通运输业"),
    N_("仓储业"),
    N_("邮政业"),
    N_("住宿业"),
    N_("餐饮业"),
    N_("信息传输业（电信、互联网和相关服务）"),
    N_("软件和信息技术服务业"),
    N_("房地产开发经营"),
    N_("物业管理"),
    N_("租赁和商务服务业"),
    N_("其他未列明行业"),
)


def industry_label(code: str | None):
    """The industry's name in the user's language ("—" without a code)."""
    from market.domain.sme import industry_name

    return _l(industry_name(code)) if code else "—"


def classification_words(cls) -> str:
    """Why an enterprise has its size (or none), in the user's language (:func:`market.domain.sme.explain`)."""
    from flask_babel import gettext

    from market.domain.sme import explain

    return explain(cls, gettext)


def labels() -> dict:
    from market.domain.sme import industry_codes

    return {
        "kind": KIND_LABELS,
        "size": SIZE_LABELS,
        "status": STATUS_LABELS,
        "size_source": SIZE_SOURCE_LABELS,
        "basis": BASIS_LABELS,
        "event": EVENT_LABELS,
        "field": FIELD_LABELS,
        "industry": {code: industry_label(code) for code in industry_codes()},
    }
