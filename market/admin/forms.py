from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import Length, Optional

from market.dates import SaneDateField  # dates outside 2000..2100 are refused (issue 8)


class AuditFilterForm(FlaskForm):
    """GET filter form: no CSRF (it changes nothing)."""

    class Meta:
        csrf = False

    actor = StringField(_l("操作人（邮箱）"), validators=[Optional(), Length(max=254)])
    action = StringField(_l("操作"), validators=[Optional(), Length(max=60)], description=_l("如 org.verify，或前缀 org."))
    object_type = StringField(_l("对象类型"), validators=[Optional(), Length(max=40)])
    object_id = StringField(_l("对象编号"), validators=[Optional(), Length(max=64)])
    date_from = SaneDateField(_l("起始日期"), validators=[Optional()])
    date_to = SaneDateField(_l("截止日期"), validators=[Optional()])
    submit = SubmitField(_l("筛选"))
