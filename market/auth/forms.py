from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length


class LoginForm(FlaskForm):
    email = EmailField(_l("邮箱"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("记住我"))
    submit = SubmitField(_l("登录"))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("当前密码"), validators=[DataRequired(), Length(max=200)])
    new_password = PasswordField(_l("新密码"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("再次输入新密码"), validators=[DataRequired(), EqualTo("new_password", message=_l("两次输入的密码不一致。"))]
    )
    submit = SubmitField(_l("修改密码"))


class ResetRequestForm(FlaskForm):
    email = EmailField(_l("邮箱"), validators=[DataRequired(), Email(), Length(max=254)])
    submit = SubmitField(_l("发送重置链接"))


class SetPasswordForm(FlaskForm):
    password = PasswordField(_l("新密码"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("再次输入新密码"), validators=[DataRequired(), EqualTo("password", message=_l("两次输入的密码不一致。"))]
    )
    submit = SubmitField(_l("设置密码"))


class AccountForm(FlaskForm):
    name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=100)])
    locale = SelectField(_l("界面语言"), choices=[])
    submit = SubmitField(_l("保存"))


class MemberAddForm(FlaskForm):
    email = EmailField(_l("邮箱"), validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=100)])
    role = SelectField(_l("角色"), choices=[])
    submit = SubmitField(_l("添加成员并发送设置密码链接"))


class MemberRoleForm(FlaskForm):
    role = SelectField(_l("角色"), choices=[])
    submit = SubmitField(_l("修改角色"))


class ActionForm(FlaskForm):
    """A bare POST form (CSRF token only) for buttons: deactivate, revoke, mark read..."""

    next = HiddenField()


class TokenForm(FlaskForm):
    name = StringField(_l("令牌名称"), validators=[DataRequired(), Length(max=100)], description=_l("例如：ERP 对接"))
    submit = SubmitField(_l("创建令牌"))
