"""Forms of the events pages. Choices are filled by the views from the event."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from market.dates import SaneDateField
from market.domain.localtime import today as local_today

from .labels import PRIORITY


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class EventForm(FlaskForm):
    title = StringField(_l("活动名称"), validators=[DataRequired(), Length(max=200)])
    track = SelectField(_l("赛道主题"), validators=[DataRequired()])
    venue = StringField(_l("地点"), validators=[DataRequired(), Length(max=200)])
    event_date = SaneDateField(_l("活动日期"), validators=[DataRequired()])
    slot_start = StringField(_l("首场开始时间（北京时间）"), default="09:00", validators=[DataRequired(), Length(max=5)])
    slot_minutes = IntegerField(_l("每场时长（分钟）"), default=20, validators=[Optional()])
    slot_gap = IntegerField(_l("间隔（分钟）"), default=5, validators=[Optional()])
    slot_count = IntegerField(_l("时段数"), default=12, validators=[Optional()])
    tables = IntegerField(_l("每时段桌数"), default=30, validators=[Optional()])
    max_meetings = IntegerField(_l("每方最多会谈数"), default=8, validators=[Optional()])
    target_scenarios = IntegerField(_l("目标场景数"), default=20, validators=[Optional()])
    submit = SubmitField(_l("创建活动"))

    def validate_event_date(self, field) -> None:
        """A new event is announced ahead (a past one, from the yearly plan or the demo, is the service's to record)."""
        if field.data is not None and field.data < local_today():
            raise ValidationError(_l("活动日期不能早于今天。"))


class PlanForm(FlaskForm):
    year = IntegerField(_l("年份"), validators=[
        DataRequired(message=_l("请填写年份。")), NumberRange(2000, 2100, message=_l("年份须在 2000 到 2100 之间。"))])
    quarter = SelectField(_l("季度"), choices=[SelectChoice(str(q), f"Q{q}") for q in (1, 2, 3, 4)])
    submit = SubmitField(_l("按年度计划创建"))


class AttachForm(FlaskForm):
    listing_id = SelectField(_l("我的已发布场景"), validators=[DataRequired()])
    submit = SubmitField(_l("挂接到本次活动"))


class RegisterForm(FlaskForm):
    interests = MultiCheckboxField(_l("感兴趣的场景"), validators=[Optional()])
    slots = MultiCheckboxField(_l("可参会的时段"), validators=[Optional()])
    submit = SubmitField(_l("保存报名"))


class RequestForm(FlaskForm):
    to_org_id = SelectField(_l("会谈对象"), validators=[DataRequired()])
    listing_id = SelectField(_l("相关场景（可选）"), validators=[Optional()])
    priority = SelectField(_l("优先级"), choices=[SelectChoice(str(n), _l(PRIORITY[n])) for n in (3, 2, 1)], default="2")
    message = TextAreaField(_l("留言（可选）"), validators=[Optional(), Length(max=2000)], render_kw={"rows": 2})
    submit = SubmitField(_l("发起会谈预约"))


class ActionForm(FlaskForm):
    submit = SubmitField(_l("确定"))


class CheckInForm(FlaskForm):
    code = StringField(_l("签到码"), validators=[DataRequired(), Length(max=32)],
                       render_kw={"autocomplete": "off", "autocapitalize": "characters", "autofocus": True})
    submit = SubmitField(_l("签到"))


class OutcomeForm(FlaskForm):
    result = SelectField(_l("会谈结果"), validators=[DataRequired()])
    bid_id = IntegerField(_l("投标编号（可选）"), validators=[Optional()])
    contract_id = IntegerField(_l("合同编号（可选）"), validators=[Optional()])
    ledger_entry_id = IntegerField(_l("台账记录编号（可选）"), validators=[Optional()])
    note = TextAreaField(_l("备注"), validators=[Optional(), Length(max=2000)], render_kw={"rows": 2})
    submit = SubmitField(_l("保存结果"))


class DeclarationForm(FlaskForm):
    title = StringField(_l("项目名称"), validators=[DataRequired(), Length(max=200)])
    summary = TextAreaField(_l("项目简介"), validators=[DataRequired(), Length(max=5000)], render_kw={"rows": 4})
    outcome_id = SelectField(_l("来自会谈结果"), validators=[Optional()])
    listing_id = SelectField(_l("或来自场景"), validators=[Optional()])
    submit = SubmitField(_l("申报示范项目"))


class GradeForm(FlaskForm):
    innovation = IntegerField(_l("技术创新性"), validators=[Optional()])
    demonstration = IntegerField(_l("示范效应"), validators=[Optional()])
    replicability = IntegerField(_l("可复制推广性"), validators=[Optional()])
    scale = IntegerField(_l("项目规模"), validators=[Optional()])
    comment = TextAreaField(_l("评审意见"), validators=[Optional(), Length(max=2000)], render_kw={"rows": 2})
    submit = SubmitField(_l("评分"))


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(str(value), label) for value, label in pairs]
