from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class SaveSearchForm(FlaskForm):
    name = StringField(_l("名称"), validators=[Optional(), Length(max=100)])
    q = HiddenField()
    kind = HiddenField()
    track = HiddenField()
    owner_kind = HiddenField()
    price = HiddenField()
    open_mode = HiddenField()
    submit = SubmitField(_l("保存此搜索"))


class SynonymForm(FlaskForm):
    terms = TextAreaField(
        _l("同义词组"),
        validators=[DataRequired(), Length(max=1000)],
        description=_l("用逗号分隔同义的词，例如：SEM, 扫描电镜, 扫描电子显微镜"),
        render_kw={"rows": 2},
    )
    submit = SubmitField(_l("保存"))
