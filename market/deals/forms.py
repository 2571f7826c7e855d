"""Forms of the deals pages. Amounts stay text here: the services parse money (two decimals, > 0)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (
    BooleanField,
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from market.dates import (  # dates outside 2000..2100 are refused (issue 8)
    SaneDateField,
    SaneDateTimeLocalField,
)

DT_FORMAT = "%Y-%m-%dT%H:%M"


class BidForm(FlaskForm):
    approach = TextAreaField(_l("技术方案"), validators=[DataRequired(), Length(max=20000)], render_kw={"rows": 8})
    price_cny = StringField(_l("报价（元）"), validators=[DataRequired(), Length(max=30)])
    timeline = TextAreaField(_l("实施周期与里程碑"), validators=[DataRequired(), Length(max=2000)], render_kw={"rows": 3})
    attachments = MultipleFileField(_l("附件（PDF / PNG / JPG / ZIP，每个不超过 10 MB）"))
    submit = SubmitField(_l("提交方案"))


class MessageForm(FlaskForm):
    body = TextAreaField(_l("留言"), validators=[DataRequired(), Length(max=5000)], render_kw={"rows": 3})
    reply_to_id = HiddenField()
    submit = SubmitField(_l("发送"))


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("原因"), validators=[DataRequired(), Length(max=2000)], render_kw={"rows": 2})
    submit = SubmitField(_l("确定"))


class AwardForm(FlaskForm):
    note = TextAreaField(_l("备注（可选）"), validators=[Optional(), Length(max=2000)], render_kw={"rows": 2})
    submit = SubmitField(_l("确定中标"))


class ActionForm(FlaskForm):
    """A button that only carries the CSRF token."""

    submit = SubmitField(_l("确定"))


class BookingForm(FlaskForm):
    start_at = SaneDateTimeLocalField(_l("开始时间"), format=DT_FORMAT, validators=[DataRequired()])
    end_at = SaneDateTimeLocalField(_l("结束时间"), format=DT_FORMAT, validators=[DataRequired()])
    purpose = TextAreaField(_l("使用目的"), validators=[DataRequired(), Length(max=2000)], render_kw={"rows": 2})
    sample_description = TextAreaField(_l("样品说明"), validators=[DataRequired(), Length(max=2000)], render_kw={"rows": 2})
    operator_needed = BooleanField(_l("需要提供方派操作人员"))
    submit = SubmitField(_l("提交预约申请"))


class AvailabilityForm(FlaskForm):
    mon = StringField(_l("周一"))
    tue = StringField(_l("周二"))
    wed = StringField(_l("周三"))
    thu = StringField(_l("周四"))
    fri = StringField(_l("周五"))
    sat = StringField(_l("周六"))
    sun = StringField(_l("周日"))
    min_hours = StringField(_l("最短预约时长（小时）"), validators=[DataRequired()])
    max_hours = StringField(_l("最长预约时长（小时）"), validators=[DataRequired()])
    lead_time_hours = StringField(_l("至少提前预约（小时）"), validators=[DataRequired()])
    free_cancel_hours = StringField(_l("开始前多少小时内不可免费取消"), validators=[DataRequired()])
    max_horizon_days = StringField(_l("最远可提前多少天预约"), validators=[Optional()])  # blank: unchanged
    slot_minutes = StringField(_l("时段长度（分钟）"), validators=[Optional()])
    submit = SubmitField(_l("保存开放时间"))


class BlockForm(FlaskForm):
    start_at = SaneDateTimeLocalField(_l("停用开始"), format=DT_FORMAT, validators=[DataRequired()])
    end_at = SaneDateTimeLocalField(_l("停用结束"), format=DT_FORMAT, validators=[DataRequired()])
    reason = StringField(_l("原因"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("添加停用时段"))


class CheckInForm(FlaskForm):
    actual_hours = StringField(_l("实际使用时长（小时）"), validators=[DataRequired(), Length(max=10)])
    submit = SubmitField(_l("登记使用"))


class ApplicationForm(FlaskForm):
    purpose = TextAreaField(_l("使用目的"), validators=[DataRequired(), Length(max=5000)], render_kw={"rows": 3})
    fields = TextAreaField(_l("需要的数据字段（用逗号、顿号或分号分隔）"), validators=[DataRequired(), Length(max=5000)], render_kw={"rows": 2})
    period_start = SaneDateField(_l("使用开始日期"), validators=[DataRequired()])
    period_end = SaneDateField(_l("使用结束日期"), validators=[DataRequired()])
    mode = SelectField(_l("申请方式"), choices=[])
    submit = SubmitField(_l("提交申请"))


class DecisionForm(FlaskForm):
    outcome = SelectField(
        _l("审批结果"),
        choices=[
            SelectChoice("approve", _l("批准")),
            SelectChoice("approve_with_conditions", _l("附条件批准")),
            SelectChoice("reject", _l("拒绝")),
        ],
    )
    conditions = TextAreaField(_l("附加条件"), validators=[Optional(), Length(max=5000)], render_kw={"rows": 2})
    reason = TextAreaField(_l("拒绝原因"), validators=[Optional(), Length(max=2000)], render_kw={"rows": 2})
    valid_from = SaneDateField(_l("有效期自"), validators=[Optional()])
    valid_until = SaneDateField(_l("有效期至"), validators=[Optional()])
    fee_cny = StringField(_l("授权费用（元，可选；填写后生成合同草稿）"), validators=[Optional(), Length(max=30)])
    submit = SubmitField(_l("提交审批结果"))


class ContractTermsForm(FlaskForm):
    amount_cny = StringField(_l("合同金额（元）"), validators=[DataRequired(), Length(max=30)])
    schedule = TextAreaField(
        _l("付款计划（每行：日期 金额 备注，如 2027-03-01 80000 首付款）"),
        validators=[Optional(), Length(max=5000)], render_kw={"rows": 4},
    )
    submit = SubmitField(_l("保存条款"))


class DocumentForm(FlaskForm):
    document = FileField(_l("双方签署的合同（PDF）"))
    submit = SubmitField(_l("上传"))
