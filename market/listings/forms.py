"""Listing forms, one per kind family. They only collect strings; ``fields.clean`` decides."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from market.dates import SaneDateTimeLocalField  # dates outside 2000..2100 are refused (issue 8)
from market.domain.localtime import SHANGHAI
from models.listings import DATA_KINDS, RENTABLE_KINDS, ListingKind

from . import fields as F


def _choices(labels: dict, blank: str | None = None) -> list[SelectChoice]:
    out = [SelectChoice(str(k), v) for k, v in labels.items()]
    return ([SelectChoice("", blank)] + out) if blank is not None else out


class ListingForm(FlaskForm):
    title = StringField(F.FIELD_LABELS["title"], validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(
        F.FIELD_LABELS["description"], validators=[DataRequired(), Length(max=F.MAX_DESCRIPTION)],
        description=_l("支持 Markdown 格式（标题、列表、表格、链接）。"), render_kw={"rows": 8},
    )
    tags = StringField(F.FIELD_LABELS["tags"], validators=[Optional()], description=_l("多个标签用分号、逗号或顿号分隔，例如：冷冻电镜；结构生物学"))
    track = SelectField(F.FIELD_LABELS["track"], choices=_choices(F.TRACK_LABELS), default="other")

    list_fields = ("tags",)
    money_fields: tuple[str, ...] = ()

    def to_raw(self) -> dict[str, Any]:
        raw: dict[str, Any] = {}
        for field in self:
            if field.name in ("csrf_token", "submit"):
                continue
            value = field.data
            if field.name in self.list_fields and isinstance(value, str):
                value = value.replace("，", ";").replace(",", ";")
            if isinstance(value, dt.datetime):
                value = value.replace(tzinfo=SHANGHAI)  # typed in Beijing time
            raw[field.name] = value
        return raw

    def load(self, data: dict[str, Any]) -> None:
        for name, value in data.items():
            if not hasattr(self, name):
                continue
            field = getattr(self, name)
            if name in self.list_fields:
                value = "；".join(value or [])
            elif isinstance(value, Decimal):
                value = f"{value:.2f}"
            elif isinstance(value, dt.datetime):
                value = value.astimezone(SHANGHAI).replace(tzinfo=None)
            elif value is None and isinstance(field, (StringField, TextAreaField, SelectField)):
                value = ""
            field.data = value


class ScenarioForm(ListingForm):
    scenario_mode = SelectField(F.FIELD_LABELS["scenario_mode"], choices=_choices(F.MODE_LABELS), validators=[InputRequired()])
    budget_cny = StringField(F.FIELD_LABELS["budget_cny"], validators=[Optional()], description=_l("最多两位小数；不填表示面议。"))
    deadline = SaneDateTimeLocalField(F.FIELD_LABELS["deadline"], format="%Y-%m-%dT%H:%M", validators=[Optional()], description=_l("北京时间。"))
    in_district_only = BooleanField(F.FIELD_LABELS["in_district_only"])
    requirements = TextAreaField(F.FIELD_LABELS["requirements"], validators=[Optional(), Length(max=F.MAX_LONG_TEXT)], render_kw={"rows": 4})
    deliverables = TextAreaField(F.FIELD_LABELS["deliverables"], validators=[Optional(), Length(max=F.MAX_LONG_TEXT)], render_kw={"rows": 3})
    submit = SubmitField(_l("保存"))


class ResourceForm(ListingForm):
    specs = TextAreaField(F.FIELD_LABELS["specs"], validators=[Optional(), Length(max=F.MAX_LONG_TEXT)], render_kw={"rows": 4})
    location = StringField(F.FIELD_LABELS["location"], validators=[Optional(), Length(max=200)])
    rate_cny_per_hour = StringField(F.FIELD_LABELS["rate_cny_per_hour"], validators=[Optional()])
    rate_cny_per_day = StringField(F.FIELD_LABELS["rate_cny_per_day"], validators=[Optional()])
    booking_rules = TextAreaField(F.FIELD_LABELS["booking_rules"], validators=[Optional(), Length(max=F.MAX_LONG_TEXT)], render_kw={"rows": 3})
    operation = SelectField(F.FIELD_LABELS["operation"], choices=_choices(F.OPERATION_LABELS, blank=_l("（请选择）")))
    submit = SubmitField(_l("保存"))


class DataForm(ListingForm):
    data_domain = SelectField(F.FIELD_LABELS["data_domain"], choices=_choices(F.DOMAIN_LABELS, blank=_l("（请选择）")))
    open_mode = SelectField(F.FIELD_LABELS["open_mode"], choices=_choices(F.OPEN_MODE_LABELS), default="conditional")
    fields = StringField(F.FIELD_LABELS["fields"], validators=[Optional()],
                         description=_l("用分号、逗号或顿号分隔，例如：企业名称；统一社会信用代码；信用等级"))
    update_frequency = StringField(F.FIELD_LABELS["update_frequency"], validators=[Optional(), Length(max=200)])
    licence = TextAreaField(F.FIELD_LABELS["licence"], validators=[Optional(), Length(max=F.MAX_LONG_TEXT)], render_kw={"rows": 2})
    franchise_terms = TextAreaField(F.FIELD_LABELS["franchise_terms"], validators=[Optional(), Length(max=F.MAX_LONG_TEXT)], render_kw={"rows": 3})
    authorised_terms = TextAreaField(F.FIELD_LABELS["authorised_terms"], validators=[Optional(), Length(max=F.MAX_LONG_TEXT)], render_kw={"rows": 3})
    submit = SubmitField(_l("保存"))

    list_fields = ("tags", "fields")


class PublicDataForm(DataForm):
    """A public-data catalogue names its domain (art. 13: 信用, 医疗, 教育, 交通). The field is made required here, not
    declared again: a field declared in the subclass would be placed after the save button."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.data_domain.validators = [InputRequired()]
        self.data_domain.flags.required = True


def form_for(kind: str, **kwargs: Any) -> ListingForm:
    if kind == ListingKind.SCENARIO:
        return ScenarioForm(**kwargs)
    if kind in RENTABLE_KINDS:
        return ResourceForm(**kwargs)
    if kind == ListingKind.PUBLIC_DATA:
        return PublicDataForm(**kwargs)
    assert kind in DATA_KINDS
    return DataForm(**kwargs)


class ReviewForm(FlaskForm):
    comment = TextAreaField(_l("审核意见"), validators=[Optional(), Length(max=2000)],
                            description=_l("退回时必填，发布方会看到这段意见。"), render_kw={"rows": 3})
    publish = SubmitField(_l("通过并发布"))
    send_back = SubmitField(_l("退回修改"))


class AttachmentForm(FlaskForm):
    file = FileField(_l("附件（PDF/PNG/JPG，不超过 10 MB）"), validators=[FileRequired()])
    upload = SubmitField(_l("上传附件"))


class ImportForm(FlaskForm):
    file = FileField(_l("导入文件（.jsonl、.csv 或 .xlsx）"), validators=[FileRequired()])
    publish = BooleanField(_l("导入后直接发布（视同审核通过）"))
    submit = SubmitField(_l("导入"))
