from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional

from market.domain.sme import industry_codes
from market.money import MoneyField

from .labels import BASIS_LABELS, KIND_LABELS, SIZE_LABELS, industry_label
from .uscc import normalise_input


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _choices(pairs):
    return [SelectChoice(value, label) for value, label in pairs]


def _industry_choices():
    return _choices([("", _l("（请选择）"))] + [(c, industry_label(c)) for c in industry_codes()])


class _Figures:
    industry = SelectField(_l("行业（按《中小企业划型标准规定》）"), validators=[Optional()])
    employees = IntegerField(_l("从业人员（人）"), validators=[Optional(), NumberRange(min=0, message=_l("不能为负数。"))])
    revenue_cny = MoneyField(_l("上年营业收入（元）"), validators=[Optional()])
    assets_cny = MoneyField(_l("资产总额（元，建筑业、房地产业、租赁和商务服务业必填）"), validators=[Optional()])


class RegisterForm(FlaskForm):
    name = StringField(_l("机构名称（与营业执照一致）"), filters=[_strip], validators=[DataRequired(), Length(max=200)])
    english_name = StringField(_l("英文名称（可选）"), filters=[_strip], validators=[Optional(), Length(max=200)])
    uscc = StringField(_l("统一社会信用代码（18 位）"), filters=[normalise_input], validators=[DataRequired(), Length(max=40)])
    kind = SelectField(_l("机构类型"), choices=_choices(KIND_LABELS.items()), validators=[DataRequired()])
    address = StringField(_l("注册地址"), filters=[_strip], validators=[Optional(), Length(max=300)])
    in_district = BooleanField(_l("注册在长春新区"))
    industry = _Figures.industry
    employees = _Figures.employees
    revenue_cny = _Figures.revenue_cny
    assets_cny = _Figures.assets_cny
    licence = FileField(_l("营业执照（PDF、PNG 或 JPG，不超过 10 MB）"), validators=[FileRequired(_l("请上传营业执照。"))])
    admin_name = StringField(_l("管理员姓名"), filters=[_strip], validators=[DataRequired(), Length(max=100)])
    admin_email = EmailField(_l("管理员邮箱（登录账号）"), filters=[_strip], validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("密码（至少 10 位，包含字母和数字）"), validators=[DataRequired(), Length(max=200)])
    password2 = PasswordField(_l("确认密码"), validators=[DataRequired(), EqualTo("password", message=_l("两次输入的密码不一致。"))])
    submit = SubmitField(_l("提交注册"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.industry.choices = _industry_choices()


class EditForm(FlaskForm):
    english_name = StringField(_l("英文名称"), filters=[_strip], validators=[Optional(), Length(max=200)])
    address = StringField(_l("注册地址"), filters=[_strip], validators=[Optional(), Length(max=300)])
    industry = _Figures.industry
    employees = _Figures.employees
    revenue_cny = _Figures.revenue_cny
    assets_cny = _Figures.assets_cny
    licence = FileField(_l("重新上传营业执照（可选）"))
    submit = SubmitField(_l("保存"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.industry.choices = _industry_choices()


class ApproveForm(FlaskForm):
    submit = SubmitField(_l("通过认证"))


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("不通过的理由（将告知该机构）"), filters=[_strip],
                           validators=[DataRequired(message=_l("请填写不通过的理由。")), Length(max=1000)])
    submit = SubmitField(_l("不通过"))


class SizeOverrideForm(FlaskForm):
    size = SelectField(_l("规模"), choices=_choices([("", _l("恢复按标准划型"))] + list(SIZE_LABELS.items())), validators=[Optional()])
    reason = TextAreaField(_l("调整理由（必填，记入历史）"), filters=[_strip],
                           validators=[DataRequired(message=_l("请填写调整理由。")), Length(max=1000)])
    submit = SubmitField(_l("调整规模"))


class GroupForm(FlaskForm):
    name = StringField(_l("关联方组名称"), filters=[_strip], validators=[DataRequired(), Length(max=200)])
    basis = SelectField(_l("关联依据"), choices=_choices(BASIS_LABELS.items()), validators=[DataRequired()])
    note = TextAreaField(_l("说明"), filters=[_strip], validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("创建"))


class AddMemberForm(FlaskForm):
    org = StringField(_l("机构的 ref 或统一社会信用代码"), filters=[_strip], validators=[DataRequired(), Length(max=64)])
    submit = SubmitField(_l("加入本组"))


class ImportForm(FlaskForm):
    file = FileField(_l("文件（.jsonl、.csv、.xlsx）"), validators=[FileRequired(_l("请选择文件。"))])
    submit = SubmitField(_l("导入"))
