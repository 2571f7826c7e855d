"""Forms of the reward decision pages (art. 8, 9, 13). Choices are filled by the views."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length


class OpenerForm(FlaskForm):
    amount_cny = StringField(_l("奖励金额（元）"), validators=[DataRequired(), Length(max=20)])
    reason = TextAreaField(_l("决定理由"), validators=[DataRequired(), Length(max=5000)])
    submit = SubmitField(_l("审定一次性奖励"))


class DemoForm(FlaskForm):
    tier = SelectField(_l("审定档次"), validators=[DataRequired()])
    reason = TextAreaField(_l("决定理由"), validators=[DataRequired(), Length(max=5000)])
    submit = SubmitField(_l("审定档次"))


class DataForm(FlaskForm):
    organisation_id = SelectField(_l("项目单位"), coerce=int, validators=[DataRequired()])
    project_title = StringField(_l("项目名称"), validators=[DataRequired(), Length(max=200)])
    amount_cny = StringField(_l("奖励金额（元）"), validators=[DataRequired(), Length(max=20)])
    evaluation = TextAreaField(_l("绩效评价意见"), validators=[DataRequired(), Length(max=5000)])
    submit = SubmitField(_l("审定奖励"))


class RevokeForm(FlaskForm):
    reason = TextAreaField(_l("撤销理由"), validators=[DataRequired(), Length(max=5000)])
    submit = SubmitField(_l("撤销决定"))
