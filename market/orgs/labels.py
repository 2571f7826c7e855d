"""Display labels for organisation codes (Chinese source strings, translated by the catalogue)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

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
SIZE_SOURCE_LABELS = {"classified": _l("按标准划型"), "declared": _l("申报"), "override": _l("人工调整")}
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


def labels() -> dict:
    from .classification import industry_codes, industry_name

    return {
        "kind": KIND_LABELS,
        "size": SIZE_LABELS,
        "status": STATUS_LABELS,
        "size_source": SIZE_SOURCE_LABELS,
        "basis": BASIS_LABELS,
        "event": EVENT_LABELS,
        "field": FIELD_LABELS,
        "industry": {code: industry_name(code) for code in industry_codes()},
    }
